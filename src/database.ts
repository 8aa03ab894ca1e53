/**
 * `Database`: one keystonedb database directory, opened from JavaScript. At this stage it holds
 * the default table, whose key is the string attribute `pk`.
 */
import { decodeItem, encodeItem, type Item } from './codec';
import { ClosedError, fromNative, ValidationError } from './errors';
import { type NativeDb, native } from './native';
import type { DatabaseOptions, OpenOptions, WriteOptions } from './options';

/** The key of an item in the default table. */
export interface DefaultKey {
  pk: string;
}

function nativeOptions(o: DatabaseOptions | undefined) {
  if (o === undefined) return undefined;
  if (typeof o !== 'object' || o === null) throw new ValidationError('options must be an object');
  return { durability: o.durability, syncIntervalMs: o.syncIntervalMs, walSegmentBytes: o.walSegmentBytes };
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
