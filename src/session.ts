/**
 * `Session`: one open native handle and what JavaScript keeps around it: the writes queued in
 * the current event-loop tick (sent to the engine as one call at the end of the tick, so they
 * share one commit and one fsync) and the calls still running, so that `close()` can refuse new
 * work and settle old.
 *
 * A tick that queues many writes sends them every `SEND_EARLY_WRITES` writes instead of all at
 * the end: the engine commits the first ones on the write thread while this thread encodes the
 * rest. One native thread commits the calls in the order they were made, so writes to one key
 * in one tick still land in the order they were issued.
 *
 * Writes that need no fsync ('buffered', 'none'), issued while nothing of this handle is in
 * flight, commit on this thread when the engine can do that without waiting (`writeItemsNow`):
 * their only I/O is one write(2), and the two thread hand-offs they skip would cost more.
 *
 * While a call is in flight this thread spins: it keeps the event loop turning (with
 * `setImmediate`, so timers and I/O still run) for up to `spinMicros` after the latest call
 * started, instead of sleeping until the call's answer wakes it. On a virtual machine waking a
 * sleeping thread costs tens of µs, as much as a commit without fsync, and a caller that awaits
 * each write pays it on every one. The native write thread spins for the same time after each
 * write (`crates/keystonedb-node/src/writer.rs`), so both ends of a round trip are awake.
 */
import { PackedWrites } from './codec';
import { ClosedError, fromNative } from './errors';
import { type NativeDb, native, type TableReader } from './native';
import type { Durability } from './options';

/** Taken at load, so that fake timers installed later (a test's) do not stop the spin. */
const immediate = setImmediate;

/**
 * The end-of-tick flush runs as a reaction to this settled promise: a microtask, as with
 * `queueMicrotask`, in the same order. Node's `queueMicrotask` wraps each callback in an
 * `AsyncResource` and runs it through `runInAsyncScope`: a dozen functions of its own per tick,
 * which V8 must also compile before a process's first few thousand writes run at full speed.
 * Measured through the bench's worker (2,000 `'buffered'` puts awaited one at a time, after
 * 2,000 untimed ones): medians 113k → 140k puts/s over 6 alternating runs; warm, a put costs
 * the same either way.
 */
const settled = Promise.resolve();

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
  /** The handle's `spinMicros`, in milliseconds; 0 = never spin. */
  readonly #spinMs: number;
  /** Whether writes that choose no durability fsync (the database's default durability). */
  readonly #syncByDefault: boolean;
  /** When the spin stops if calls are still in flight (`performance.now()`). */
  #spinUntil = 0;
  #spinning = false;

  private constructor(handle: NativeDb) {
    this.#native = handle;
    this.#spinMs = handle.spinMicros / 1000;
    this.#syncByDefault = handle.syncByDefault;
  }

  #spin = (): void => {
    if (this.#running.size > 0 && performance.now() < this.#spinUntil) immediate(this.#spin);
    else this.#spinning = false;
  };

  /** Keeps the event loop turning for `spinMicros` from now while calls are in flight. */
  #keepAwake(): void {
    if (this.#spinMs === 0) return;
    this.#spinUntil = performance.now() + this.#spinMs;
    if (!this.#spinning) {
      this.#spinning = true;
      immediate(this.#spin);
    }
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
    this.#keepAwake();
    try {
      return await p;
    } finally {
      this.#running.delete(p);
    }
  }

  /** A reader of `table` for `readBoundItem`: a point read without a method call's cost (`reader.rs`). */
  tableReader(table: string): TableReader {
    return this.runSync((db) => db.tableReader(table));
  }

  /** Binds the key and item buffers `readBoundItem` uses to `reader` (`reader.rs`). */
  bindReadBuffers(reader: TableReader, key: Buffer, out: Buffer): void {
    this.runSync(() => native.bindReadBuffers(reader, key, out));
  }

  /**
   * `getSync` without projection, the key's bytes at the start of the bound key buffer: the
   * item's length in the bound item buffer, or -1 (see `NativeDb.getSync`).
   */
  readBoundItem(reader: TableReader, keyLength: number): number {
    // Closing refuses new calls at once, before the handle is released (see `close`).
    if (this.#native === undefined) throw new ClosedError();
    try {
      return native.readBoundItem(reader, keyLength);
    } catch (err) {
      throw fromNative(err);
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
      settled.then(this.#flushTick);
    }
    return done;
  }

  /** `#flush` bound once, so that scheduling it allocates no closure. */
  readonly #flushTick = (): void => this.#flush();

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
    const chosen = durability === '' ? undefined : durability;
    const settle = (errors: (string | null)[]): void => {
      for (let i = 0; i < resolves.length; i++) {
        const e = errors[i];
        if (e === null || e === undefined) resolves[i]?.({});
        else rejects[i]?.(fromNative(new Error(e)));
      }
    };
    const failAll = (err: unknown): void => {
      for (const reject of rejects) reject(err);
    };
    // Writes that need no fsync, with nothing of this handle in flight, may commit right here
    // (see `writeItemsNow`); the engine answers null when they must go the usual way.
    let now: (string | null)[] | null = null;
    let sent: Promise<(string | null)[]> | undefined;
    try {
      if (this.#running.size === 0 && (chosen === undefined ? !this.#syncByDefault : chosen !== 'sync')) {
        now = this.handle().writeItemsNow(writes.tables, data, chosen);
      }
      if (now === null) sent = this.run((db) => db.writeItems(writes.tables, data, false, chosen));
    } catch (err) {
      failAll(fromNative(err));
    }
    // Either call copied the writes before returning: reuse the buffer.
    writes.reset();
    this.#spare = writes;
    if (now !== null) settle(now);
    sent?.then(settle, failAll);
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
