/**
 * `Database`: one keystonedb database directory, opened from JavaScript. At this stage it holds
 * the default table, whose key is the string attribute `pk`.
 */
import { decodeItem, encodeItem, type Item } from './codec';
import { ClosedError, fromNative, ValidationError } from './errors';
import { type NativeDb, native } from './native';
import type { DatabaseOptions, Health, OpenOptions, Stats, WriteOptions } from './options';

/** The key of an item in the default table. */
export interface DefaultKey {
  pk: string;
}

const ENGINE_OPTIONS = new Set([
  'durability',
  'syncIntervalMs',
  'walSegmentBytes',
  'memtableBudgetBytes',
  'blockSizeBytes',
  'bloomFalsePositiveRate',
  'compression',
  'blockCacheBytes',
  'maxOpenFiles',
  'targetFileBytes',
  'levelBaseBytes',
  'l0StopTrigger',
  'obsoleteFileRetentionMs',
  'compaction',
]);
const COMPACTION_OPTIONS = new Set(['enabled', 'l0Trigger', 'checkIntervalMs', 'maxConcurrent']);

function checkKeys(o: object, known: Set<string>, where: string): void {
  for (const k of Object.keys(o)) {
    if (!known.has(k)) throw new ValidationError(`unknown option '${where}${k}'`);
  }
}

/** The engine's options, with misspelt names caught here rather than silently ignored. */
function nativeOptions(o: OpenOptions | undefined): DatabaseOptions | undefined {
  if (o === undefined) return undefined;
  if (typeof o !== 'object' || o === null) throw new ValidationError('options must be an object');
  const { create: _create, ...engine } = o;
  checkKeys(engine, ENGINE_OPTIONS, '');
  if (engine.compaction !== undefined) {
    if (typeof engine.compaction !== 'object' || engine.compaction === null) {
      throw new ValidationError('compaction options must be an object');
    }
    checkKeys(engine.compaction, COMPACTION_OPTIONS, 'compaction.');
  }
  return engine;
}

function checkPath(path: unknown): string {
  if (typeof path !== 'string' || path.length === 0) {
    throw new ValidationError('the database path must be a non-empty string');
  }
  return path;
}

async function call<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    throw fromNative(err);
  }
}

function callSync<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    throw fromNative(err);
  }
}

export class Database {
  #native: NativeDb | undefined;
  readonly path: string;

  private constructor(path: string, handle: NativeDb) {
    this.path = path;
    this.#native = handle;
  }

  /** Creates a database in `path`, which must not exist or be an empty directory. */
  static async create(path: string, options?: DatabaseOptions): Promise<Database> {
    const p = checkPath(path);
    return call(async () => new Database(p, await native.openDatabase(p, 'create', nativeOptions(options))));
  }

  /** Opens the database in `path`; with `{ create: true }`, creates it if there is none. */
  static async open(path: string, options?: OpenOptions): Promise<Database> {
    const p = checkPath(path);
    const mode = options?.create === true ? 'openOrCreate' : 'open';
    return call(async () => new Database(p, await native.openDatabase(p, mode, nativeOptions(options))));
  }

  #handle(): NativeDb {
    if (this.#native === undefined) throw new ClosedError();
    return this.#native;
  }

  /** Stores `item`, replacing any item with the same key. Resolves once it is durable. */
  async put(item: Item & DefaultKey, options?: WriteOptions): Promise<void> {
    return call(() => this.#handle().put(encodeItem(item), options?.durability));
  }

  /** The item with `key`, or `undefined`. */
  async get(key: DefaultKey): Promise<Item | undefined> {
    return call(async () => {
      const out = await this.#handle().get(encodeItem(key));
      return out === null ? undefined : decodeItem(out);
    });
  }

  /** `get` without a thread hop: the answer is computed on the calling thread. */
  getSync(key: DefaultKey): Item | undefined {
    return callSync(() => {
      const out = this.#handle().getSync(encodeItem(key));
      return out === null ? undefined : decodeItem(out);
    });
  }

  /** Deletes the item with `key`; deleting a missing item is not an error. */
  async delete(key: DefaultKey, options?: WriteOptions): Promise<void> {
    return call(() => this.#handle().delete(encodeItem(key), options?.durability));
  }

  /** Writes every memtable to SST files now (the engine also does this by itself when one is full). */
  async flush(): Promise<void> {
    return call(() => this.#handle().flush());
  }

  /** Flushes, then compacts everything into one sorted run per table, dropping overwritten and deleted data. */
  async compact(): Promise<void> {
    return call(() => this.#handle().compact());
  }

  /** Files, sizes and compaction totals (see `Stats`). */
  stats(): Stats {
    return callSync(() => this.#handle().stats());
  }

  /** `'healthy'`, `'degraded'` (compaction behind, disk nearly full) or `'unhealthy'` (writes refused), with reasons. */
  health(): Health {
    return callSync(() => this.#handle().health());
  }

  /** Closes this handle; later calls reject with `ClosedError`. Closing twice is harmless. */
  async close(): Promise<void> {
    const handle = this.#native;
    this.#native = undefined;
    handle?.close();
  }

  /** False once `close()` was called. */
  get isOpen(): boolean {
    return this.#native !== undefined;
  }
}
