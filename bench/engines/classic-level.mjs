// classic-level (LevelDB): JSON values; durable = batch({ sync: true }) / put({ sync: true });
// gets use getSync.
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const { ClassicLevel } = require('classic-level');

export default {
  name: 'classic-level',
  syncGet: true,
  async open(dir) {
    const db = new ClassicLevel(join(dir, 'level'), { valueEncoding: 'json' });
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
    return db.getSync(key);
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
    return db.put(key, item, { sync: true });
  },
  del(db, key) {
    return db.del(key, { sync: true });
  },
  compact(db) {
    return db.compactRange('user#', 'user#~');
  },
  close(db) {
    return db.close();
  },
};
