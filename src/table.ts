/**
 * `Table`: item operations on one table, in DynamoDB's shapes. `K` is the table's key type,
 * inferred from its schema (see schema.ts), so a wrong key shape is a compile error.
 */
import { decodeItem, decodeItems, encodeItem, type Item } from './codec';
import { describe as describeNative } from './describe';
import { ConditionalCheckFailedError, ValidationError } from './errors';
import type {
  DeleteOptions,
  ExpressionAttributes,
  GetOptions,
  Page,
  PutOptions,
  QueryParams,
  ScanParams,
  TableDescription,
  UpdateOptions,
  WriteResult,
} from './params';
import type { Session } from './session';

type AnyKey = Record<string, unknown>;

/** Expression attribute values cross as one encoded item whose attribute names are the placeholders. */
function encodeValues(e: ExpressionAttributes): Buffer | undefined {
  return e.expressionAttributeValues === undefined ? undefined : encodeItem(e.expressionAttributeValues);
}

/** Plain puts and deletes take the per-tick group; the rest need a call of their own. */
function needsNative(o: PutOptions | DeleteOptions | undefined): boolean {
  return (
    o !== undefined &&
    ((o.returnValues !== undefined && o.returnValues !== 'NONE') || o.conditionExpression !== undefined)
  );
}

function writeParams(o: PutOptions | DeleteOptions) {
  return {
    returnValues: o.returnValues,
    conditionExpression: o.conditionExpression,
    names: o.expressionAttributeNames,
    values: encodeValues(o),
    returnValuesOnConditionCheckFailure: o.returnValuesOnConditionCheckFailure,
    durability: o.durability,
  };
}

/** The result of a put, delete or update; a failed condition throws. */
function outcome(o: { conditionFailed: boolean; attributes?: Buffer | null }, wrap: boolean | undefined): WriteResult {
  const attributes = o.attributes === undefined || o.attributes === null ? undefined : decodeItem(o.attributes, wrap);
  if (o.conditionFailed) throw new ConditionalCheckFailedError(undefined, attributes);
  return attributes === undefined ? {} : { attributes };
}

function checkLimit(limit: unknown): number | undefined {
  if (limit === undefined) return undefined;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1) {
    throw new ValidationError(`limit must be a positive integer, not ${String(limit)}`);
  }
  return limit;
}

function toPage(
  p: { items: Buffer; count: number; scannedCount: number; lastEvaluatedKey?: Buffer | null },
  wrap: boolean,
): Page {
  const page: Page = { items: decodeItems(p.items, wrap), count: p.count, scannedCount: p.scannedCount };
  if (p.lastEvaluatedKey !== undefined && p.lastEvaluatedKey !== null) {
    page.lastEvaluatedKey = decodeItem(p.lastEvaluatedKey, wrap);
  }
  return page;
}

function queryParams(p: QueryParams) {
  if (typeof p !== 'object' || p === null || typeof p.keyConditionExpression !== 'string') {
    throw new ValidationError('query needs keyConditionExpression');
  }
  return {
    keyConditionExpression: p.keyConditionExpression,
    filterExpression: p.filterExpression,
    projectionExpression: p.projectionExpression,
    names: p.expressionAttributeNames,
    values: encodeValues(p),
    scanIndexForward: p.scanIndexForward,
    limit: checkLimit(p.limit),
    exclusiveStartKey: p.exclusiveStartKey === undefined ? undefined : encodeItem(p.exclusiveStartKey),
    select: p.select,
  };
}

function scanParams(p: ScanParams) {
  if (typeof p !== 'object' || p === null) throw new ValidationError('scan parameters must be an object');
  return {
    filterExpression: p.filterExpression,
    projectionExpression: p.projectionExpression,
    names: p.expressionAttributeNames,
    values: encodeValues(p),
    limit: checkLimit(p.limit),
    exclusiveStartKey: p.exclusiveStartKey === undefined ? undefined : encodeItem(p.exclusiveStartKey),
    segment: p.segment,
    totalSegments: p.totalSegments,
    select: p.select,
  };
}

export class Table<K extends AnyKey = AnyKey> {
  readonly #session: Session;
  readonly name: string;

  /** @internal Use `db.table(name)` or `db.createTable(name, schema)`. */
  constructor(session: Session, name: string) {
    this.#session = session;
    this.name = name;
  }

  /**
   * Stores `item`, replacing any item with the same key; with `conditionExpression`, only if it
   * holds (else `ConditionalCheckFailedError`). Plain puts issued in one tick commit together.
   */
  async put(item: Item & K, options?: PutOptions): Promise<WriteResult> {
    const data = encodeItem(item);
    if (!needsNative(options)) {
      await this.#session.queueWrite(this.name, true, data, options?.durability);
      return {};
    }
    const out = await this.#session.run((db) => db.put(this.name, data, writeParams(options ?? {})));
    return outcome(out, options?.wrapNumbers);
  }

  /** The item with `key`, or `undefined`. */
  async get(key: K, options?: GetOptions): Promise<Item | undefined> {
    const data = encodeItem(key);
    const out = await this.#session.run((db) =>
      db.get(this.name, data, options?.projectionExpression, options?.expressionAttributeNames),
    );
    return out === null ? undefined : decodeItem(out, options?.wrapNumbers);
  }

  /** `get` on the calling thread: faster for data in memory, and it blocks while reading disk. */
  getSync(key: K, options?: GetOptions): Item | undefined {
    const data = encodeItem(key);
    const out = this.#session.runSync((db) =>
      db.getSync(this.name, data, options?.projectionExpression, options?.expressionAttributeNames),
    );
    return out === null ? undefined : decodeItem(out, options?.wrapNumbers);
  }

  /** Deletes the item with `key` (a missing item is not an error); optionally only if a condition holds. */
  async delete(key: K, options?: DeleteOptions): Promise<WriteResult> {
    const data = encodeItem(key);
    if (!needsNative(options)) {
      await this.#session.queueWrite(this.name, false, data, options?.durability);
      return {};
    }
    const out = await this.#session.run((db) => db.delete(this.name, data, writeParams(options ?? {})));
    return outcome(out, options?.wrapNumbers);
  }

  /** Applies an update expression to the item with `key` (creating it if missing), atomically. */
  async update(key: K, options: UpdateOptions): Promise<WriteResult> {
    if (typeof options !== 'object' || options === null || typeof options.updateExpression !== 'string') {
      throw new ValidationError('update needs updateExpression');
    }
    const data = encodeItem(key);
    const params = {
      updateExpression: options.updateExpression,
      conditionExpression: options.conditionExpression,
      names: options.expressionAttributeNames,
      values: encodeValues(options),
      returnValues: options.returnValues,
      returnValuesOnConditionCheckFailure: options.returnValuesOnConditionCheckFailure,
      durability: options.durability,
    };
    const out = await this.#session.run((db) => db.update(this.name, data, params));
    return outcome(out, options.wrapNumbers);
  }

  /** One page of the items of one partition, in sort-key order. */
  async query(params: QueryParams): Promise<Page> {
    const p = queryParams(params);
    return toPage(await this.#session.run((db) => db.query(this.name, p)), params.wrapNumbers === true);
  }

  /** `query` on the calling thread. */
  querySync(params: QueryParams): Page {
    const p = queryParams(params);
    return toPage(
      this.#session.runSync((db) => db.querySync(this.name, p)),
      params.wrapNumbers === true,
    );
  }

  /** Every item a query matches, page after page. */
  async *queryIterator(params: QueryParams): AsyncGenerator<Item, void, undefined> {
    let start = params.exclusiveStartKey;
    do {
      const page = await this.query({ ...params, exclusiveStartKey: start });
      yield* page.items;
      start = page.lastEvaluatedKey;
    } while (start !== undefined);
  }

  /** One page of the table (or of one segment of it), in no particular order. */
  async scan(params: ScanParams = {}): Promise<Page> {
    const p = scanParams(params);
    return toPage(await this.#session.run((db) => db.scan(this.name, p)), params.wrapNumbers === true);
  }

  /** Every item a scan matches, page after page. */
  async *scanIterator(params: ScanParams = {}): AsyncGenerator<Item, void, undefined> {
    let start = params.exclusiveStartKey;
    do {
      const page = await this.scan({ ...params, exclusiveStartKey: start });
      yield* page.items;
      start = page.lastEvaluatedKey;
    } while (start !== undefined);
  }

  /** The table's name, key schema and creation time. */
  describe(): TableDescription {
    return describeNative(this.#session.runSync((db) => db.describeTable(this.name)));
  }
}
