//! Shared helpers of the engine's integration tests.
#![allow(dead_code, reason = "each test file uses its own subset")]
#![allow(clippy::unwrap_used, reason = "test helpers: a failure is the point")]

pub mod workload;

use std::path::Path;

use keystone_core::{CompactionOptions, Durability, Options};

pub const KS: u32 = 1;

/// Options that make a small workload flush and compact a lot.
pub fn small(compaction: bool) -> Options {
    Options {
        durability: Durability::None,
        memtable_budget_bytes: 64 << 10,
        block_size_bytes: 512,
        target_file_bytes: 32 << 10,
        level_base_bytes: 128 << 10,
        obsolete_file_retention_ms: 0,
        compaction: CompactionOptions { enabled: compaction, l0_trigger: 4, check_interval_ms: 20, max_concurrent: 2 },
        ..Options::default()
    }
}

pub fn key(i: u64) -> Vec<u8> {
    format!("user#{i:08}").into_bytes()
}

/// A value that names its key and version, so a reader can tell a stale or foreign value.
pub fn value(i: u64, version: u64) -> Vec<u8> {
    let mut v = format!("{i}:{version}:").into_bytes();
    v.resize(100 + (i % 50) as usize, b'x');
    v
}

pub fn files_with(dir: &Path, pred: impl Fn(&str) -> bool) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| pred(n))
        .collect();
    out.sort();
    out
}

pub fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir).unwrap().filter_map(|e| e.ok()?.metadata().ok()).map(|m| m.len()).sum()
}
