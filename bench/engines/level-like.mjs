// What classic-level (LevelDB) and @nxtedition/rocksdb share: the abstract-level API with JSON
// values, durable writes as sync batches, iterators for ranges and scans.

export function levelLike({ name, open, syncGet, durableWrite }) {
  return {
    name,
    syncGet,
    open,
    loadBatch(db, batch) {
      return db.batch(
        batch.map(([key, value]) => ({ type: 'put', key, value })),
        { sync: true },
      );
    },
    get(db, key) {
      return syncGet ? db.getSync(key) : db.get(key);
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
      return durableWrite(db, { type: 'put', key, value: item });
    },
    del(db, key) {
      return durableWrite(db, { type: 'del', key });
    },
    compact(db) {
      return db.compactRange ? db.compactRange('user#', 'user#~') : undefined;
    },
    close(db) {
      return db.close();
    },
  };
}
