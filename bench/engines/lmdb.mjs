// lmdb (lmdb-js): values in its default msgpackr encoding; durable = its default synchronous
// commits (each write transaction is fsynced; lmdb-js batches the writes of one event turn into
// one transaction). Gets are its synchronous get from the memory map.
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const { open } = require('lmdb');

export function make(noSync) {
  return {
    name: noSync ? 'lmdb (noSync)' : 'lmdb',
    syncGet: true,
    async open(dir) {
      return open({ path: join(dir, 'lmdb'), noSync, mapSize: 4 * 1024 ** 3 });
    },
    async loadBatch(db, batch) {
      await db.transaction(() => {
        for (const [k, v] of batch) db.put(k, v);
      });
    },
    get(db, key) {
      return db.get(key);
    },
    async range(db, start, count) {
      let n = 0;
      for (const _ of db.getRange({ start, limit: count })) n++;
      return n;
    },
    async scan(db) {
      let n = 0;
      for (const _ of db.getRange({})) n++;
      return n;
    },
    put(db, key, item) {
      return db.put(key, item);
    },
    del(db, key) {
      return db.remove(key);
    },
    async compact() {},
    close(db) {
      return db.close();
    },
  };
}

export default make(false);
