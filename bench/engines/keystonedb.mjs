// keystonedb: a table with pk = a group of 1000 consecutive users and sk = the user number,
// so a range of 100 consecutive keys is a Query of one partition. Durable = 'sync' (WAL fsync
// before acknowledgement); writes issued in one tick commit as one group. Reads use the sync
// API, as lmdb's and SQLite's do: getSync, and querySync for ranges.
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const { Database, TableSchema } = require('../../dist/index.js');
const schema = TableSchema.builder().partitionKey('g', 'N').sortKey('u', 'N').build();
const idOf = (key) => Number(key.slice(5));
const keyFor = (i) => ({ g: Math.floor(i / 1000), u: i });
// The stored item is the key attributes plus the data's attributes. Built with Object.assign:
// an object spread ({ ...key, ...item }) costs ~5.7 µs per item in this V8, more than the put.

export default {
  name: 'keystonedb',
  syncGet: true,
  async open(dir) {
    const path = join(dir, 'db');
    // Obsolete files are deleted at once here (the default keeps them 60 s for file-copy backups),
    // so disk size after compaction is comparable.
    return Database.open(path, { create: true, schema, obsoleteFileRetentionMs: 0 });
  },
  async loadBatch(db, batch) {
    await Promise.all(
      batch.map(([key, item]) => db.put(Object.assign(keyFor(idOf(key)), item), { durability: 'sync' })),
    );
  },
  get(db, key) {
    return db.getSync(keyFor(idOf(key)));
  },
  range(db, start, count) {
    const i = idOf(start);
    const page = db.querySync({
      keyConditionExpression: 'g = :g AND u >= :u',
      expressionAttributeValues: { ':g': Math.floor(i / 1000), ':u': i },
      limit: count,
    });
    let n = page.items.length;
    if (n < count && page.lastEvaluatedKey === undefined) {
      const next = db.querySync({
        keyConditionExpression: 'g = :g',
        expressionAttributeValues: { ':g': Math.floor(i / 1000) + 1 },
        limit: count - n,
      });
      n += next.items.length;
    }
    return n;
  },
  async scan(db) {
    let n = 0;
    let start;
    do {
      const page = await db.scan({ exclusiveStartKey: start });
      n += page.items.length;
      start = page.lastEvaluatedKey;
    } while (start !== undefined);
    return n;
  },
  put(db, key, item) {
    return db.put(Object.assign(keyFor(idOf(key)), item), { durability: 'sync' });
  },
  /** A put acknowledged after write(2), fsynced within 10 ms: what dynalite's put guarantees and more. */
  putBuffered(db, key, item) {
    return db.put(Object.assign(keyFor(idOf(key)), item), { durability: 'buffered' });
  },
  del(db, key) {
    return db.delete(keyFor(idOf(key)), { durability: 'sync' });
  },
  compact(db) {
    return db.compact();
  },
  close(db) {
    return db.close();
  },
};
