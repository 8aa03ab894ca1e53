// classic-level (LevelDB): JSON values; durable = { sync: true } on put/del/batch; gets use
// getSync.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { levelLike } from './level-like.mjs';

const require = createRequire(import.meta.url);
const { ClassicLevel } = require('classic-level');

export default levelLike({
  name: 'classic-level',
  syncGet: true,
  async open(dir) {
    const db = new ClassicLevel(join(dir, 'level'), { valueEncoding: 'json' });
    await db.open();
    return db;
  },
  durableWrite(db, op) {
    return op.type === 'put' ? db.put(op.key, op.value, { sync: true }) : db.del(op.key, { sync: true });
  },
});
