//! Every tunable of the engine, named once, with its unit and the reason for its default.

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

#[derive(Debug, Clone)]
pub struct Options {
    /// Default durability of writes that do not choose their own.
    pub durability: Durability,
    /// Longest time a `Buffered` write stays unsynced, in milliseconds. Small enough that a
    /// power cut loses little; large enough that the syncer thread costs nothing when idle.
    pub sync_interval_ms: u64,
    /// A WAL segment is closed and a new one started past this size, in bytes.
    pub wal_segment_bytes: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options { durability: Durability::Sync, sync_interval_ms: 10, wal_segment_bytes: 64 << 20 }
    }
}
