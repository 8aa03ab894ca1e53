/**
 * `Session`: one open native handle and what JavaScript keeps around it: the writes queued in
 * the current event-loop tick (sent to the engine as one group: one call, one commit, one
 * fsync) and the calls still running, so that `close()` can refuse new work and settle old.
 */
import { ClosedError, fromNative } from './errors';
import { type NativeDb, native } from './native';
import type { Durability } from './options';

interface QueuedWrite {
  table: string;
  put: boolean;
  data: Buffer;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class Session {
  #native: NativeDb | undefined;
  /** Writes issued in this tick, by durability ('' = the database's default). */
  #queued = new Map<string, QueuedWrite[]>();
  #flushScheduled = false;
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

  /** Queues a plain put or delete; every write queued in this tick commits as one group. */
  queueWrite(table: string, put: boolean, data: Buffer, durability: Durability | undefined): Promise<void> {
    this.handle();
    return new Promise<void>((resolve, reject) => {
      const key = durability ?? '';
      let list = this.#queued.get(key);
      if (list === undefined) {
        list = [];
        this.#queued.set(key, list);
      }
      list.push({ table, put, data, resolve, reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        queueMicrotask(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#flushScheduled = false;
    const queued = this.#queued;
    this.#queued = new Map();
    for (const [durability, writes] of queued) {
      const ops = writes.map((w) => ({ table: w.table, put: w.put, data: w.data }));
      const sent = this.run((db) => db.writeItems(ops, false, durability === '' ? undefined : durability));
      sent.then(
        (errors) => {
          writes.forEach((w, i) => {
            const e = errors[i];
            if (e === null || e === undefined) w.resolve();
            else w.reject(fromNative(new Error(e)));
          });
        },
        (err: unknown) => {
          for (const w of writes) w.reject(err);
        },
      );
    }
  }

  /**
   * Refuses new calls, rejects queued writes that have not reached the engine with
   * `ClosedError`, waits for calls already running to settle, then releases the handle.
   */
  async close(): Promise<void> {
    const native = this.#native;
    if (native === undefined) return;
    this.#native = undefined;
    for (const writes of this.#queued.values()) for (const w of writes) w.reject(new ClosedError());
    this.#queued.clear();
    await Promise.allSettled([...this.#running]);
    native.close();
  }
}
