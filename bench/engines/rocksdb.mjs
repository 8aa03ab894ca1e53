// @nxtedition/rocksdb: JSON values. Its put() ignores { sync } (checked here), so durable single
// writes are one-entry batch(..., { sync: true }). Gets are promise-based (no sync get).
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const { RocksLevel } = require('@nxtedition/rocksdb');

export default {
  name: 'rocksdb',
  syncGet: false,
  async open(dir) {
    const db = new RocksLevel(join(dir, 'rocks'), { valueEncoding: 'json' });
    await db.open();
    return db;
  },
  loadBatch(db, batch) {
    return db.batch(
      batch.map(([key, value]) => ({ type: 'put', key, value })),
      { sync: true },
    );
  },
  get(db, key) {
    return db.get(key);
  },
  async range(db, start, count) {
    let n = 0;
    for await (const _ of db.iterator({ gte: start, limit: count })) n++;
    return n;
  },
  async scan(db) {
    let n = 0;
    for await (const _ of db.iterator()) n++;
    return n;
  },
  put(db, key, item) {
    return db.batch([{ type: 'put', key, value: item }], { sync: true });
  },
  del(db, key) {
    return db.batch([{ type: 'del', key }], { sync: true });
  },
  compact(db) {
    return db.compactRange ? db.compactRange('user#', 'user#~') : undefined;
  },
  close(db) {
    return db.close();
  },
};
