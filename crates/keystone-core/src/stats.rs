//! What `stats()` and `health()` report: the seed's monitoring API, adapted.

use std::sync::atomic::{AtomicU64, Ordering};

/// Running totals of compaction work since the database was opened.
#[derive(Default)]
pub struct CompactionCounters {
    pub total_compactions: AtomicU64,
    pub total_ssts_merged: AtomicU64,
    pub total_ssts_created: AtomicU64,
    pub total_bytes_read: AtomicU64,
    pub total_bytes_written: AtomicU64,
    pub total_bytes_reclaimed: AtomicU64,
    pub total_records_deduplicated: AtomicU64,
    pub total_tombstones_removed: AtomicU64,
    pub active_compactions: AtomicU64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompactionStats {
    pub total_compactions: u64,
    pub total_ssts_merged: u64,
    pub total_ssts_created: u64,
    pub total_bytes_read: u64,
    pub total_bytes_written: u64,
    pub total_bytes_reclaimed: u64,
    pub total_records_deduplicated: u64,
    pub total_tombstones_removed: u64,
    pub active_compactions: u64,
}

impl CompactionCounters {
    pub fn snapshot(&self) -> CompactionStats {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        CompactionStats {
            total_compactions: l(&self.total_compactions),
            total_ssts_merged: l(&self.total_ssts_merged),
            total_ssts_created: l(&self.total_ssts_created),
            total_bytes_read: l(&self.total_bytes_read),
            total_bytes_written: l(&self.total_bytes_written),
            total_bytes_reclaimed: l(&self.total_bytes_reclaimed),
            total_records_deduplicated: l(&self.total_records_deduplicated),
            total_tombstones_removed: l(&self.total_tombstones_removed),
            active_compactions: l(&self.active_compactions),
        }
    }
}

/// A snapshot of the database's shape on disk and in memory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub total_sst_files: u64,
    /// Live SST files per level, L0 first, summed over keyspaces.
    pub sst_files_per_level: Vec<u64>,
    pub wal_size_bytes: u64,
    pub memtable_size_bytes: u64,
    /// Every file in the database directory, obsolete files awaiting deletion included.
    pub total_disk_size_bytes: u64,
    /// Bytes written to SSTs by flushes, for write amplification:
    /// (flush bytes + compaction bytes written) / flush bytes.
    pub total_flush_bytes: u64,
    pub block_cache_hits: u64,
    pub block_cache_misses: u64,
    pub compaction: CompactionStats,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthStatus {
    Healthy,
    Degraded,
    Unhealthy,
}

impl HealthStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Healthy => "healthy",
            HealthStatus::Degraded => "degraded",
            HealthStatus::Unhealthy => "unhealthy",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    pub status: HealthStatus,
    pub warnings: Vec<String>,
    pub errors: Vec<String>,
}

impl Health {
    pub fn from_findings(warnings: Vec<String>, errors: Vec<String>) -> Health {
        let status = if !errors.is_empty() {
            HealthStatus::Unhealthy
        } else if !warnings.is_empty() {
            HealthStatus::Degraded
        } else {
            HealthStatus::Healthy
        };
        Health { status, warnings, errors }
    }
}
