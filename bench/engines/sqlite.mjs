// better-sqlite3: WAL mode, synchronous = FULL (each commit fsynced, the same durability as the
// others), a WITHOUT ROWID table of (key TEXT PRIMARY KEY, value TEXT JSON). Synchronous API.
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const Sqlite = require('better-sqlite3');

export default {
  name: 'better-sqlite3',
  syncGet: true,
  async open(dir) {
    const db = new Sqlite(join(dir, 'sqlite.db'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec('CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID');
    return {
      db,
      put: db.prepare('INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)'),
      get: db.prepare('SELECT v FROM kv WHERE k = ?'),
      del: db.prepare('DELETE FROM kv WHERE k = ?'),
      range: db.prepare('SELECT k, v FROM kv WHERE k >= ? ORDER BY k LIMIT ?'),
      all: db.prepare('SELECT k, v FROM kv'),
    };
  },
  async loadBatch(s, batch) {
    s.db.transaction(() => {
      for (const [k, v] of batch) s.put.run(k, JSON.stringify(v));
    })();
  },
  get(s, key) {
    const row = s.get.get(key);
    return row === undefined ? undefined : JSON.parse(row.v);
  },
  async range(s, start, count) {
    let n = 0;
    for (const row of s.range.iterate(start, count)) {
      JSON.parse(row.v);
      n++;
    }
    return n;
  },
  async scan(s) {
    let n = 0;
    for (const row of s.all.iterate()) {
      JSON.parse(row.v);
      n++;
    }
    return n;
  },
  async put(s, key, item) {
    s.put.run(key, JSON.stringify(item));
  },
  async del(s, key) {
    s.del.run(key);
  },
  async compact(s) {
    s.db.exec('VACUUM');
  },
  close(s) {
    s.db.close();
  },
};
