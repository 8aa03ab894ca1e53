//! Every tunable of the engine, named once, with its unit and the reason for its default.

use crate::sst::Compression;

/// When a write is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// After the WAL is fsynced (fdatasync). Survives power loss. The default.
    #[default]
    Sync,
    /// After write(2) to the WAL; a background thread fsyncs within `sync_interval_ms`.
    /// Survives a process crash; power loss can lose the last interval.
    Buffered,
    /// After write(2); fsynced only on rotation and close. For tests and bulk loads.
    None,
}

/// Background compaction (the seed's `CompactionConfig`).
#[derive(Debug, Clone)]
pub struct CompactionOptions {
    /// Run compactions in the background. Off, L0 grows until writes stall; `compact()` still works.
    pub enabled: bool,
    /// Compact a keyspace's L0 into L1 once it holds this many files (the seed's `sst_threshold`).
    pub l0_trigger: usize,
    /// How often idle compaction threads look for work, in milliseconds (they are also woken
    /// after every flush).
    pub check_interval_ms: u64,
    /// Compactions that may run at once, each on its own thread.
    pub max_concurrent: usize,
}

impl Default for CompactionOptions {
    fn default() -> Self {
        CompactionOptions { enabled: true, l0_trigger: 4, check_interval_ms: 5_000, max_concurrent: 2 }
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    /// Default durability of writes that do not choose their own.
    pub durability: Durability,
    /// Longest time a `Buffered` write stays unsynced, in milliseconds. Small enough that a
    /// power cut loses little; large enough that the syncer thread costs nothing when idle.
    pub sync_interval_ms: u64,
    /// A WAL segment is closed and a new one started past this size, in bytes.
    pub wal_segment_bytes: u64,
    /// Memory for memtables across all keyspaces, in bytes (entries counted with their slots
    /// in the memtable's runs and allocator overhead, `memtable.rs`). The active memtable is frozen and
    /// flushed at half of it; writers wait while a frozen one is still flushing and the active
    /// one fills the other half. 16 MiB: LevelDB's footprint (two 4 MiB write buffers of raw
    /// bytes), small enough for an Electron app; more means fewer flushes and less compaction
    /// (a 1M-item load: write amplification 3.9 at 16 MiB, 2.3 at 64 MiB).
    pub memtable_budget_bytes: u64,
    /// Uncompressed size of an SST data block, in bytes.
    pub block_size_bytes: usize,
    /// Bloom filter false-positive rate (0.01 ≈ 10 bits per key).
    pub bloom_false_positive_rate: f64,
    /// Per-block compression of SSTs.
    pub compression: Compression,
    /// LRU cache of decompressed SST blocks, in bytes.
    pub block_cache_bytes: u64,
    /// SST files kept open at once (the table cache). macOS' default limit is 256 descriptors
    /// per process, shared with the application.
    pub max_open_files: usize,
    /// A compaction output file is closed past this size, in bytes.
    pub target_file_bytes: u64,
    /// Target size of L1, in bytes; each deeper level is 10× the one above.
    pub level_base_bytes: u64,
    /// Writes wait once a keyspace's L0 holds this many files, until compaction catches up.
    pub l0_stop_trigger: usize,
    /// SST and WAL files made obsolete by compaction or flush are deleted after this many
    /// milliseconds, so a file-copy backup (copy `*.sst`, then `wal_*.log`) that takes less
    /// than this sees every file it needs.
    pub obsolete_file_retention_ms: u64,
    pub compaction: CompactionOptions,
    /// The key schema of the default table when the database is created (`pk`, a string, if
    /// `None`); when it is opened, the schema it must have.
    pub default_table_key: Option<crate::key::KeySchema>,
    /// The filesystem every file goes through: the operating system's, or the reliability
    /// tests' simulated one (see `vfs/`).
    pub vfs: std::sync::Arc<dyn crate::vfs::Vfs>,
}

impl Options {
    /// How far ahead of the last record a WAL segment keeps zeros written (see `wal.rs`):
    /// 256 KiB (one size-changing fsync per 256 KiB of log), or a quarter of what a segment
    /// holds before it is rotated (by size or by a memtable switch) when that is less, so small
    /// configurations do not write mostly zeros.
    pub(crate) fn wal_prealloc_bytes(&self) -> u64 {
        let per_segment = self.wal_segment_bytes.min(self.memtable_switch_bytes() as u64);
        (per_segment / 4).next_multiple_of(4096).clamp(4096, 256 << 10)
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            durability: Durability::Sync,
            sync_interval_ms: 10,
            wal_segment_bytes: 64 << 20,
            memtable_budget_bytes: 16 << 20,
            block_size_bytes: 4096,
            bloom_false_positive_rate: 0.01,
            compression: Compression::Lz4,
            block_cache_bytes: 32 << 20,
            max_open_files: 128,
            target_file_bytes: 8 << 20,
            level_base_bytes: 64 << 20,
            l0_stop_trigger: 20,
            obsolete_file_retention_ms: 60_000,
            compaction: CompactionOptions::default(),
            default_table_key: None,
            vfs: crate::vfs::real(),
        }
    }
}

impl Options {
    /// Size at which the active memtable is frozen for flushing.
    pub(crate) fn memtable_switch_bytes(&self) -> usize {
        usize::try_from(self.memtable_budget_bytes / 2).unwrap_or(usize::MAX).max(1)
    }
}
