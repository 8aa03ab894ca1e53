// @nxtedition/rocksdb: JSON values. Its put() ignores { sync } (checked here), so durable single
// writes are one-entry batch(..., { sync: true }). Gets are promise-based (no sync get).
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { levelLike } from './level-like.mjs';

const require = createRequire(import.meta.url);
const { RocksLevel } = require('@nxtedition/rocksdb');

export default levelLike({
  name: 'rocksdb',
  syncGet: false,
  async open(dir) {
    const db = new RocksLevel(join(dir, 'rocks'), { valueEncoding: 'json' });
    await db.open();
    return db;
  },
  durableWrite(db, op) {
    return db.batch([op], { sync: true });
  },
});
