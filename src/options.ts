/** Options of a database and of single writes. Each tunable is named once, with its unit. */

/**
 * When a write is acknowledged:
 * - `'sync'` (default): after the write-ahead log is fsynced; survives power loss.
 * - `'buffered'`: after write(2); fsynced within `syncIntervalMs`; survives a process crash.
 * - `'none'`: after write(2); fsynced at segment rotation and close. For tests and bulk loads.
 */
export type Durability = 'sync' | 'buffered' | 'none';

export interface DatabaseOptions {
  /** Default durability of writes that do not set their own. Default `'sync'`. */
  durability?: Durability;
  /** Longest time a `'buffered'` write stays unsynced, in milliseconds. Default 10. */
  syncIntervalMs?: number;
  /** Size at which a write-ahead-log segment is sealed and a new one started, in bytes. Default 64 MiB. */
  walSegmentBytes?: number;
}

export interface OpenOptions extends DatabaseOptions {
  /** Create the database if the directory holds none. Default false. */
  create?: boolean;
}

export interface WriteOptions {
  /** Durability of this write; defaults to the database's. */
  durability?: Durability;
}
