import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ClosedError,
  Database,
  ResourceInUseError,
  ResourceNotFoundError,
  TableSchema,
  ValidationError,
} from '../dist/index.js';
import { tempDir } from './helpers';

const base = tempDir('kstone-tables-');
let n = 0;
const fresh = () => join(base, `db${n++}`);
const orders = TableSchema.builder().partitionKey('customerId', 'S').sortKey('orderedAt', 'N').build();

describe('tables and schemas', () => {
  it('creates, lists, describes and deletes tables; schemas persist across reopen', async () => {
    const path = fresh();
    const db = await Database.create(path);
    expect(await db.listTables()).toEqual(['default']);
    const t = await db.createTable('orders', orders);
    await t.put({ customerId: 'c1', orderedAt: 3, total: 10 });
    await db.createTable('users', TableSchema.builder().partitionKey('id', 'B').build());
    expect(await db.listTables()).toEqual(['default', 'orders', 'users']);
    const d = await db.describeTable('orders');
    expect(d).toMatchObject({
      tableName: 'orders',
      keySchema: { partitionKey: { name: 'customerId', type: 'S' }, sortKey: { name: 'orderedAt', type: 'N' } },
    });
    expect(d.creationDateTime).toBeInstanceOf(Date);
    expect(Date.now() - d.creationDateTime.getTime()).toBeLessThan(60_000);
    await db.close();

    const again = await Database.open(path);
    expect(await again.listTables()).toEqual(['default', 'orders', 'users']);
    const t2 = again.table<typeof orders>('orders');
    expect(await t2.get({ customerId: 'c1', orderedAt: 3 })).toEqual({ customerId: 'c1', orderedAt: 3, total: 10 });
    expect(t2.describe().keySchema.sortKey).toEqual({ name: 'orderedAt', type: 'N' });
    await again.deleteTable('orders');
    expect(await again.listTables()).toEqual(['default', 'users']);
    await expect(t2.get({ customerId: 'c1', orderedAt: 3 })).rejects.toBeInstanceOf(ResourceNotFoundError);
    // A table of the same name starts empty.
    const t3 = await again.createTable('orders', orders);
    expect(await t3.get({ customerId: 'c1', orderedAt: 3 })).toBeUndefined();
    await again.close();
  });

  it('getSync on a table object follows the table through close, delete and create again', async () => {
    // getSync without projection reads through a reader bound to the table object on first use
    // (reader.rs); it must see what a method call would.
    const db = await Database.create(fresh());
    const t = await db.createTable('orders', orders);
    const t2 = db.table<typeof orders>('orders');
    await t.put({ customerId: 'c1', orderedAt: 1, v: 'first' });
    expect(t.getSync({ customerId: 'c1', orderedAt: 1 })).toEqual({ customerId: 'c1', orderedAt: 1, v: 'first' });
    expect(t2.getSync({ customerId: 'c1', orderedAt: 1 })?.v).toBe('first');
    await db.deleteTable('orders');
    expect(() => t.getSync({ customerId: 'c1', orderedAt: 1 })).toThrow(ResourceNotFoundError);
    await db.createTable('orders', orders);
    expect(t.getSync({ customerId: 'c1', orderedAt: 1 })).toBeUndefined();
    await t2.put({ customerId: 'c1', orderedAt: 1, v: 'second' });
    expect(t.getSync({ customerId: 'c1', orderedAt: 1 })?.v).toBe('second');
    // A bad key still gets the schema's message, and a projection takes the other path.
    expect(() => t.getSync({ customerId: 'c1' } as never)).toThrow(ValidationError);
    expect(t.getSync({ customerId: 'c1', orderedAt: 1 }, { projectionExpression: 'v' })).toEqual({ v: 'second' });
    db.getSync({ pk: 'x' }); // the default table's reader, bound before close
    const closing = db.close();
    // Refused from the moment close() is called, not only once the handle is released.
    expect(() => t.getSync({ customerId: 'c1', orderedAt: 1 })).toThrow(ClosedError);
    expect(() => db.getSync({ pk: 'x' })).toThrow(ClosedError);
    await closing;
    expect(() => t.getSync({ customerId: 'c1', orderedAt: 1 })).toThrow(ClosedError);
  });

  it('reports ResourceInUse, ResourceNotFound and bad names and schemas', async () => {
    const db = await Database.create(fresh());
    await db.createTable('orders', orders);
    await expect(db.createTable('orders', orders)).rejects.toBeInstanceOf(ResourceInUseError);
    await expect(db.describeTable('nope')).rejects.toBeInstanceOf(ResourceNotFoundError);
    await expect(db.deleteTable('nope')).rejects.toMatchObject({ code: 'ResourceNotFound' });
    await expect(db.table('nope').put({ a: 1 })).rejects.toBeInstanceOf(ResourceNotFoundError);
    await expect(db.createTable('x', orders)).rejects.toThrow(/table name 'x' is invalid/);
    await expect(db.createTable('bad name!', orders)).rejects.toBeInstanceOf(ValidationError);
    expect(() => TableSchema.builder().partitionKey('a', 'S').sortKey('a', 'S')).toThrow(/different attribute/);
    // @ts-expect-error: 'X' is not a key type
    expect(() => TableSchema.builder().partitionKey('a', 'X')).toThrow(/'S', 'N' or 'B'/);
    await expect(db.deleteTable('default')).rejects.toThrow(/default table cannot be deleted/);
    await db.close();
  });

  it('gives the default table the schema of Database.create and checks it on open', async () => {
    const path = fresh();
    const db = await Database.create(path, { schema: orders });
    await db.put({ customerId: 'c', orderedAt: 1, x: 1 });
    expect(await db.get({ customerId: 'c', orderedAt: 1 })).toEqual({ customerId: 'c', orderedAt: 1, x: 1 });
    await expect(db.put({ customerId: 'c', x: 1 } as never)).rejects.toThrow(/sort key attribute `orderedAt`/);
    await db.close();
    const wrong = TableSchema.builder().partitionKey('pk', 'S').build();
    await expect(Database.open(path, { schema: wrong })).rejects.toThrow(
      /default table has the key customerId \(S\), orderedAt \(N\)/,
    );
    const again = await Database.open(path, { schema: orders });
    expect(again.getSync({ customerId: 'c', orderedAt: 1 })).toMatchObject({ x: 1 });
    await again.close();
  });
});
