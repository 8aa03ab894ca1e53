/**
 * `Session`: one open native handle and what JavaScript keeps around it: the writes queued in
 * the current event-loop tick (sent to the engine as one call at the end of the tick, so they
 * share one commit and one fsync) and the calls still running, so that `close()` can refuse new
 * work and settle old.
 *
 * A tick that queues many writes sends them every `SEND_EARLY_WRITES` writes instead of all at
 * the end: the engine commits the first ones on a pool thread while this thread encodes the
 * rest. The engine applies the calls in the order they were made (each takes its turn on this
 * thread), so writes to one key in one tick still land in the order they were issued.
 */
import { PackedWrites } from './codec';
import { ClosedError, fromNative } from './errors';
import { type NativeDb, native } from './native';
import type { Durability } from './options';

/** Writes queued in one tick past which they are sent without waiting for the tick's end. */
const SEND_EARLY_WRITES = 512;

/** The writes of one durability queued in this tick, and how to settle each one's promise. */
interface Queued {
  writes: PackedWrites;
  resolves: ((result: Written) => void)[];
  rejects: ((err: unknown) => void)[];
}

/** What a queued write's promise resolves to: a fresh empty result (no attributes). */
export type Written = Record<string, never>;

// One executor for every write's promise, so that queueing a write creates no closure of its
// own: it hands the promise's functions over through these two slots.
let takenResolve: (result: Written) => void = () => {};
let takenReject: (err: unknown) => void = () => {};
function takeSettlers(resolve: (result: Written) => void, reject: (err: unknown) => void): void {
  takenResolve = resolve;
  takenReject = reject;
}

export class Session {
  #native: NativeDb | undefined;
  /** Writes issued in this tick, by durability ('' = the database's default). */
  #queued = new Map<string, Queued>();
  #flushScheduled = false;
  /** A packed-writes buffer to reuse: the engine copies what it is given during the call. */
  #spare: PackedWrites | undefined;
  #running = new Set<Promise<unknown>>();

  private constructor(handle: NativeDb) {
    this.#native = handle;
  }

  static async open(f: (n: typeof native) => Promise<NativeDb>): Promise<Session> {
    try {
      return new Session(await f(native));
    } catch (err) {
      throw fromNative(err);
    }
  }

  get isOpen(): boolean {
    return this.#native !== undefined;
  }

  handle(): NativeDb {
    if (this.#native === undefined) throw new ClosedError();
    return this.#native;
  }

  /** Runs a native call, mapping its errors and tracking it until it settles. */
  async run<T>(f: (db: NativeDb) => Promise<T>): Promise<T> {
    const p = (async () => {
      try {
        return await f(this.handle());
      } catch (err) {
        throw fromNative(err);
      }
    })();
    this.#running.add(p);
    try {
      return await p;
    } finally {
      this.#running.delete(p);
    }
  }

  runSync<T>(f: (db: NativeDb) => T): T {
    try {
      return f(this.handle());
    } catch (err) {
      throw fromNative(err);
    }
  }

  /**
   * Queues a plain put of `item` (or delete of the key object `item`), encoded now: bad input
   * throws here and queues nothing. Every write queued in this tick commits as one group. The
   * promise resolves to `{}`: callers return it as is, with no async frame or promise of their
   * own around it (a load holds thousands of these at once).
   */
  queueWrite(table: string, put: boolean, item: unknown, durability: Durability | undefined): Promise<Written> {
    this.handle();
    const key = durability ?? '';
    let queued = this.#queued.get(key);
    if (queued === undefined) {
      queued = { writes: this.#spare ?? new PackedWrites(), resolves: [], rejects: [] };
      this.#spare = undefined;
      this.#queued.set(key, queued);
    }
    queued.writes.add(table, put, item);
    const done = new Promise<Written>(takeSettlers);
    queued.resolves.push(takenResolve);
    queued.rejects.push(takenReject);
    if (queued.writes.count >= SEND_EARLY_WRITES) {
      this.#queued.delete(key);
      this.#send(key, queued);
    } else if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(() => this.#flush());
    }
    return done;
  }

  #flush(): void {
    this.#flushScheduled = false;
    const queued = this.#queued;
    this.#queued = new Map();
    for (const [durability, q] of queued) this.#send(durability, q);
  }

  /** Sends queued writes to the engine and settles their waiters when it answers. */
  #send(durability: string, { writes, resolves, rejects }: Queued): void {
    if (writes.count === 0) return;
    const data = writes.bytes();
    const sent = this.run((db) =>
      db.writeItems(writes.tables, data, false, durability === '' ? undefined : durability),
    );
    // `run` made the call before returning, and the call copied the writes: reuse the buffer.
    writes.reset();
    this.#spare = writes;
    sent.then(
      (errors) => {
        for (let i = 0; i < resolves.length; i++) {
          const e = errors[i];
          if (e === null || e === undefined) resolves[i]?.({});
          else rejects[i]?.(fromNative(new Error(e)));
        }
      },
      (err: unknown) => {
        for (const reject of rejects) reject(err);
      },
    );
  }

  /**
   * Refuses new calls, rejects queued writes that have not reached the engine with
   * `ClosedError`, waits for calls already running to settle, then releases the handle.
   */
  async close(): Promise<void> {
    const native = this.#native;
    if (native === undefined) return;
    this.#native = undefined;
    for (const { rejects } of this.#queued.values()) for (const reject of rejects) reject(new ClosedError());
    this.#queued.clear();
    await Promise.allSettled([...this.#running]);
    native.close();
  }
}
