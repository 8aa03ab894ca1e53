/**
 * Table schemas: the key attributes of a table, built with `TableSchema.builder()`. The builder
 * records the attribute names and types in its type, so a table's key type (and every `get`,
 * `delete`, `update` on it) is checked at compile time.
 *
 * ```ts
 * const orders = TableSchema.builder().partitionKey('customerId', 'S').sortKey('orderedAt', 'N').build();
 * const t = await db.createTable('orders', orders);
 * await t.get({ customerId: 'c1', orderedAt: 1700000000 }); // a wrong key shape does not compile
 * ```
 */
import { ValidationError } from './errors';
import type { NumberValue } from './number';

/** DynamoDB's key attribute types: string, number, binary. */
export type KeyType = 'S' | 'N' | 'B';

/** The JavaScript value of a key attribute of type `T`. */
export type KeyValue<T extends KeyType> = T extends 'S'
  ? string
  : T extends 'N'
    ? number | bigint | NumberValue
    : Uint8Array;

export interface KeyAttribute<N extends string = string, T extends KeyType = KeyType> {
  readonly name: N;
  readonly type: T;
}

export interface TableSchema<
  PN extends string = string,
  PT extends KeyType = KeyType,
  SN extends string = string,
  ST extends KeyType = KeyType,
> {
  readonly partitionKey: KeyAttribute<PN, PT>;
  readonly sortKey?: KeyAttribute<SN, ST>;
}

/** A schema whose type also says it has no sort key. */
export interface PartitionOnlySchema<PN extends string, PT extends KeyType> extends TableSchema<PN, PT> {
  readonly sortKey?: undefined;
}

/** A schema whose type also says it has a sort key. */
export interface CompositeSchema<PN extends string, PT extends KeyType, SN extends string, ST extends KeyType>
  extends TableSchema<PN, PT, SN, ST> {
  readonly sortKey: KeyAttribute<SN, ST>;
}

/** The key object of a table with schema `S`. */
export type KeyOf<S> =
  S extends CompositeSchema<infer PN, infer PT, infer SN, infer ST>
    ? { [K in PN]: KeyValue<PT> } & { [K in SN]: KeyValue<ST> }
    : S extends PartitionOnlySchema<infer PN, infer PT>
      ? { [K in PN]: KeyValue<PT> }
      : Record<string, unknown>;

function checkAttribute(name: unknown, type: unknown, role: string): void {
  if (typeof name !== 'string' || name.length === 0) {
    throw new ValidationError(`the ${role} key needs a non-empty attribute name`);
  }
  if (type !== 'S' && type !== 'N' && type !== 'B') {
    throw new ValidationError(`the ${role} key '${name}' must have type 'S', 'N' or 'B', not ${JSON.stringify(type)}`);
  }
}

class CompositeBuilder<PN extends string, PT extends KeyType, SN extends string, ST extends KeyType> {
  constructor(
    private readonly pk: KeyAttribute<PN, PT>,
    private readonly sk: KeyAttribute<SN, ST>,
  ) {}

  build(): CompositeSchema<PN, PT, SN, ST> {
    return Object.freeze({ partitionKey: this.pk, sortKey: this.sk });
  }
}

class PartitionBuilder<PN extends string, PT extends KeyType> {
  constructor(private readonly pk: KeyAttribute<PN, PT>) {}

  /** The sort key: items of one partition are stored and queried in its order. */
  sortKey<SN extends string, ST extends KeyType>(name: SN, type: ST): CompositeBuilder<PN, PT, SN, ST> {
    checkAttribute(name, type, 'sort');
    if (name === (this.pk.name as string)) {
      throw new ValidationError('the sort key must be a different attribute from the partition key');
    }
    return new CompositeBuilder(this.pk, Object.freeze({ name, type }));
  }

  build(): PartitionOnlySchema<PN, PT> {
    return Object.freeze({ partitionKey: this.pk });
  }
}

class SchemaBuilder {
  /** The partition key: the attribute whose value picks the item's partition. */
  partitionKey<PN extends string, PT extends KeyType>(name: PN, type: PT): PartitionBuilder<PN, PT> {
    checkAttribute(name, type, 'partition');
    return new PartitionBuilder(Object.freeze({ name, type }));
  }
}

export const TableSchema = {
  builder(): SchemaBuilder {
    return new SchemaBuilder();
  },
};

/** The default table's schema: a string partition key named `pk`. */
export const DEFAULT_SCHEMA = TableSchema.builder().partitionKey('pk', 'S').build();
export type DefaultKey = KeyOf<typeof DEFAULT_SCHEMA>;
