//! `stats()` and `health()` as JavaScript objects. Byte counts are numbers (exact below 2^53).

use keystone_core::{CompactionStats, Health, Stats};
use napi_derive::napi;

#[napi(object)]
pub struct NativeCompactionStats {
    pub total_compactions: f64,
    pub total_ssts_merged: f64,
    pub total_ssts_created: f64,
    pub total_bytes_read: f64,
    pub total_bytes_written: f64,
    pub total_bytes_reclaimed: f64,
    pub total_records_deduplicated: f64,
    pub total_tombstones_removed: f64,
    pub active_compactions: f64,
}

#[napi(object)]
pub struct NativeStats {
    pub total_sst_files: f64,
    pub sst_files_per_level: Vec<f64>,
    pub wal_size_bytes: f64,
    pub memtable_size_bytes: f64,
    pub total_disk_size_bytes: f64,
    pub total_flush_bytes: f64,
    pub block_cache_hits: f64,
    pub block_cache_misses: f64,
    pub wal_syncs: f64,
    pub inline_commits: f64,
    pub compaction: NativeCompactionStats,
}

#[napi(object)]
pub struct NativeHealth {
    #[napi(ts_type = "'healthy' | 'degraded' | 'unhealthy'")]
    pub status: String,
    pub warnings: Vec<String>,
    pub errors: Vec<String>,
}

fn compaction(c: CompactionStats) -> NativeCompactionStats {
    NativeCompactionStats {
        total_compactions: c.total_compactions as f64,
        total_ssts_merged: c.total_ssts_merged as f64,
        total_ssts_created: c.total_ssts_created as f64,
        total_bytes_read: c.total_bytes_read as f64,
        total_bytes_written: c.total_bytes_written as f64,
        total_bytes_reclaimed: c.total_bytes_reclaimed as f64,
        total_records_deduplicated: c.total_records_deduplicated as f64,
        total_tombstones_removed: c.total_tombstones_removed as f64,
        active_compactions: c.active_compactions as f64,
    }
}

pub fn to_js(s: Stats) -> NativeStats {
    NativeStats {
        total_sst_files: s.total_sst_files as f64,
        sst_files_per_level: s.sst_files_per_level.into_iter().map(|n| n as f64).collect(),
        wal_size_bytes: s.wal_size_bytes as f64,
        memtable_size_bytes: s.memtable_size_bytes as f64,
        total_disk_size_bytes: s.total_disk_size_bytes as f64,
        total_flush_bytes: s.total_flush_bytes as f64,
        block_cache_hits: s.block_cache_hits as f64,
        block_cache_misses: s.block_cache_misses as f64,
        wal_syncs: s.wal_syncs as f64,
        inline_commits: s.inline_commits as f64,
        compaction: compaction(s.compaction),
    }
}

pub fn health_to_js(h: Health) -> NativeHealth {
    NativeHealth { status: h.status.as_str().to_string(), warnings: h.warnings, errors: h.errors }
}

#[napi(object)]
pub struct NativeVerifyReport {
    pub sst_files: f64,
    pub sst_entries: f64,
    pub wal_segments: f64,
    pub wal_batches: f64,
    pub problems: Vec<String>,
}

pub fn verify_to_js(r: keystone_core::VerifyReport) -> NativeVerifyReport {
    NativeVerifyReport {
        sst_files: r.sst_files as f64,
        sst_entries: r.sst_entries as f64,
        wal_segments: r.wal_segments as f64,
        wal_batches: r.wal_batches as f64,
        problems: r.problems,
    }
}
