//! What `stats()` and `health()` report: the seed's monitoring API, adapted.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::db::Inner;
use crate::error::{Error, Result};
use crate::wal;

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
    /// WAL fsyncs since open.
    pub wal_syncs: u64,
    /// Writes committed on the calling thread, without a round trip to another thread.
    pub inline_commits: u64,
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

impl Inner {
    pub(crate) fn stats(&self) -> Result<Stats> {
        let version = Arc::clone(&self.version.read());
        let memtable_size_bytes = {
            let m = self.mem.read();
            m.active.approximate_bytes() + m.immutable.iter().map(|f| f.mem.approximate_bytes()).sum::<usize>()
        };
        let mut wal_size_bytes = 0;
        let mut total_disk_size_bytes = 0;
        let vfs = &self.options.vfs;
        let names = vfs.list(&self.dir).map_err(|e| Error::io(format!("listing {}", self.dir.display()), e))?;
        for name in names {
            let Ok(len) = vfs.file_size(&self.dir.join(&name)) else { continue };
            total_disk_size_bytes += len;
            if wal::parse_segment_name(&name).is_some() {
                wal_size_bytes += len;
            }
        }
        let (block_cache_hits, block_cache_misses) = self.tables.block_cache_counts();
        Ok(Stats {
            block_cache_hits,
            block_cache_misses,
            wal_syncs: self.wal_syncs.load(Ordering::Relaxed),
            inline_commits: self.inline_commits.load(Ordering::Relaxed),
            total_sst_files: version.total_files() as u64,
            sst_files_per_level: version.files_per_level().into_iter().map(|n| n as u64).collect(),
            wal_size_bytes,
            memtable_size_bytes: memtable_size_bytes as u64,
            total_disk_size_bytes,
            total_flush_bytes: self.flush_bytes.load(Ordering::Relaxed),
            compaction: self.counters.snapshot(),
        })
    }

    pub(crate) fn health(&self) -> Health {
        let mut warnings = Vec::new();
        let mut errors = Vec::new();
        if let Some(why) = self.poisoned.lock().clone() {
            errors.push(format!("writes are refused until the database is reopened: {why}"));
        }
        if let Some(why) = self.bg.lock().error.clone() {
            errors.push(format!("background work failed: {why}"));
        }
        let version = Arc::clone(&self.version.read());
        for ks in version.keyspaces() {
            let l0 = version.files(ks, 0).len();
            if l0 >= self.options.l0_stop_trigger / 2 {
                warnings.push(format!(
                    "keyspace {ks} has {l0} L0 files (writes stall at {}): compaction is falling behind",
                    self.options.l0_stop_trigger
                ));
            }
        }
        let frozen = self.mem.read().immutable.len();
        if frozen > 1 {
            warnings.push(format!("{frozen} memtables are waiting to be flushed"));
        }
        match fs4::statvfs(&self.dir) {
            Ok(fs) if fs.total_space() > 0 => {
                let free = fs.available_space() as f64 / fs.total_space() as f64;
                if free < 0.10 {
                    warnings.push(format!("the disk is {:.0}% full", (1.0 - free) * 100.0));
                }
            }
            Ok(_) => {}
            Err(e) => warnings.push(format!("cannot read free disk space: {e}")),
        }
        Health::from_findings(warnings, errors)
    }
}
