/** Options of a database and of single writes. Each tunable is named once, with its unit. */

/**
 * When a write is acknowledged:
 * - `'sync'` (default): after the write-ahead log is fsynced; survives power loss.
 * - `'buffered'`: after write(2); fsynced within `syncIntervalMs`; survives a process crash.
 * - `'none'`: after write(2); fsynced at segment rotation and close. For tests and bulk loads.
 */
export type Durability = 'sync' | 'buffered' | 'none';

/** Background compaction (the original guide's `CompactionConfig`). */
export interface CompactionOptions {
  /** Compact in the background. Default true. Off, `compact()` still works. */
  enabled?: boolean;
  /** Compact a table's level 0 once it holds this many SST files (the guide's `sst_threshold`). Default 4. */
  l0Trigger?: number;
  /** How often idle compaction threads look for work, in milliseconds; they are also woken after each flush. Default 5000. */
  checkIntervalMs?: number;
  /** Compactions that may run at once, each on its own thread. Default 2. */
  maxConcurrent?: number;
}

export interface DatabaseOptions {
  /** Default durability of writes that do not set their own. Default `'sync'`. */
  durability?: Durability;
  /** Longest time a `'buffered'` write stays unsynced, in milliseconds. Default 10. */
  syncIntervalMs?: number;
  /** Size at which a write-ahead-log segment is sealed and a new one started, in bytes. Default 64 MiB. */
  walSegmentBytes?: number;
  /**
   * Memory for memtables, in bytes (what their entries really take, allocator overhead
   * included). The active memtable is flushed to an SST at half of it; writes wait if it fills
   * again before that flush is done. Default 16 MiB; raise it for write-heavy work (fewer
   * flushes, less compaction), lower it to save memory.
   */
  memtableBudgetBytes?: number;
  /** Uncompressed size of an SST data block, in bytes. Default 4096. */
  blockSizeBytes?: number;
  /** Bloom filter false-positive rate per SST (0.01 ≈ 10 bits per key). Default 0.01. */
  bloomFalsePositiveRate?: number;
  /** Compression of SST blocks. Default `'lz4'`. */
  compression?: 'none' | 'lz4' | 'zstd';
  /** Cache of decompressed SST blocks, in bytes. Default 32 MiB. */
  blockCacheBytes?: number;
  /** SST files kept open at once. Default 128 (macOS allows 256 descriptors per process by default). */
  maxOpenFiles?: number;
  /** Size at which a compaction output file is closed, in bytes. Default 8 MiB. */
  targetFileBytes?: number;
  /** Target size of level 1, in bytes; each deeper level is 10× larger. Default 64 MiB. */
  levelBaseBytes?: number;
  /** Writes wait while a table's level 0 holds this many files, until compaction catches up. Default 20. */
  l0StopTrigger?: number;
  /**
   * How long SST and WAL files made obsolete by compaction or flush are kept before deletion, in
   * milliseconds. A file-copy backup (copy `*.sst`, then `wal_*.log`) taken while the database
   * runs is complete if it finishes within this time. Default 60000.
   */
  obsoleteFileRetentionMs?: number;
  compaction?: CompactionOptions;
  /**
   * How long, in microseconds, the threads that wait for this database's calls keep polling
   * before they sleep: this JavaScript thread while a call is in flight (the event loop keeps
   * turning, so timers and I/O still run), and the write thread after each write. Waking a
   * sleeping thread costs tens of µs on a virtual machine; spinning saves it at the cost of CPU
   * time. Default 200 with two or more CPUs, 0 with one; 0 never spins (less CPU, for example
   * on battery), at most 10000.
   */
  spinMicros?: number;
}

export interface OpenOptions extends DatabaseOptions {
  /** Create the database if the directory holds none. Default false. */
  create?: boolean;
}

/** `db.stats()`: the database's shape on disk and in memory. Byte counts are bytes. */
export interface Stats {
  totalSstFiles: number;
  /** Live SST files per level, level 0 first. */
  sstFilesPerLevel: number[];
  walSizeBytes: number;
  memtableSizeBytes: number;
  /** Every file in the directory, obsolete files awaiting deletion included. */
  totalDiskSizeBytes: number;
  /** Bytes written to SSTs by flushes; write amplification is (this + compaction.totalBytesWritten) / this. */
  totalFlushBytes: number;
  blockCacheHits: number;
  blockCacheMisses: number;
  /** WAL fsyncs since open: with group commit, concurrent writes share them. */
  walSyncs: number;
  /**
   * Commits made on the JavaScript thread: writes that need no fsync, issued while nothing else
   * of the handle was in flight, skip the round trip to a native thread.
   */
  inlineCommits: number;
  compaction: {
    totalCompactions: number;
    totalSstsMerged: number;
    totalSstsCreated: number;
    totalBytesRead: number;
    totalBytesWritten: number;
    totalBytesReclaimed: number;
    totalRecordsDeduplicated: number;
    totalTombstonesRemoved: number;
    activeCompactions: number;
  };
}

/** `db.health()`: degraded when compaction falls behind or the disk is nearly full; unhealthy when writes are refused. */
export interface Health {
  status: 'healthy' | 'degraded' | 'unhealthy';
  warnings: string[];
  errors: string[];
}

/** `db.verify()`: what was read and checked, and what is damaged. */
export interface VerifyReport {
  sstFiles: number;
  sstEntries: number;
  walSegments: number;
  walBatches: number;
  /** One line per damaged file; empty when every checksum matched. */
  problems: string[];
}
