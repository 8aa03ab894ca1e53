//! Flushes turn memtables into SSTs and free the WAL; compaction shrinks what overwrites and
//! deletes leave behind; reads stay right through all of it and across reopen.

#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing, reason = "test code: a failure is the point")]

mod common;

use common::*;
use keystone_core::{Db, ErrorCode, HealthStatus};

#[test]
fn memtables_flush_to_ssts_the_wal_shrinks_and_reopen_reads_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let db = Db::create(&path, small(false)).unwrap();
    for i in 0..3000 {
        db.put(KS, key(i), value(i, 0), None).unwrap();
    }
    db.flush().unwrap();
    let stats = db.stats().unwrap();
    assert!(stats.total_sst_files >= 2, "{stats:?}");
    assert_eq!(stats.sst_files_per_level[0], stats.total_sst_files);
    assert!(stats.total_flush_bytes > 0);
    for i in (0..3000).step_by(7) {
        assert_eq!(db.get(KS, &key(i)).unwrap(), Some(value(i, 0)));
    }
    // Flushed segments are gone once the flusher purges them (retention is 0 here).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while files_with(&path, |n| n.starts_with("wal_")).len() > 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(files_with(&path, |n| n.starts_with("wal_")).len() <= 2);
    for i in (0..3000).step_by(3) {
        db.delete(KS, key(i), None).unwrap();
    }
    drop(db);
    let db = Db::open(&path, small(false), false).unwrap();
    for i in 0..3000 {
        let want = if i % 3 == 0 { None } else { Some(value(i, 0)) };
        assert_eq!(db.get(KS, &key(i)).unwrap(), want, "key {i}");
    }
}

#[test]
fn compaction_after_overwrites_and_deletes_shrinks_files_and_disk_and_stats_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let db = Db::create(&path, small(false)).unwrap();
    for version in 0..4 {
        for i in 0..2000 {
            db.put(KS, key(i), value(i, version), None).unwrap();
        }
        db.flush().unwrap();
    }
    for i in 0..1000 {
        db.delete(KS, key(i), None).unwrap();
    }
    db.flush().unwrap();
    let before = db.stats().unwrap();
    db.compact().unwrap();
    let after = db.stats().unwrap();
    assert!(after.total_sst_files < before.total_sst_files, "{before:?} → {after:?}");
    // The SSTs' share of the disk (the WAL, with its preallocated zeros, is not compaction's).
    let ssts = |s: &keystone_core::Stats| s.total_disk_size_bytes - s.wal_size_bytes;
    assert!(ssts(&after) < ssts(&before) / 2, "{before:?} → {after:?}");
    assert_eq!(after.sst_files_per_level[0], 0);
    let c = &after.compaction;
    assert!(c.total_compactions >= 1);
    assert_eq!(c.total_ssts_merged, before.total_sst_files);
    assert_eq!(c.total_ssts_created, after.total_sst_files);
    assert!(c.total_records_deduplicated >= 3 * 2000, "{c:?}");
    assert_eq!(c.total_tombstones_removed, 1000);
    assert!(c.total_bytes_reclaimed > 0 && c.total_bytes_read > c.total_bytes_written);
    assert_eq!(c.active_compactions, 0);
    for i in 0..2000 {
        let want = if i < 1000 { None } else { Some(value(i, 3)) };
        assert_eq!(db.get(KS, &key(i)).unwrap(), want, "key {i}");
    }
    drop(db);
    let db = Db::open(&path, small(false), false).unwrap();
    assert_eq!(db.get(KS, &key(1500)).unwrap(), Some(value(1500, 3)));
    assert_eq!(db.get(KS, &key(500)).unwrap(), None);
}

#[test]
fn background_compaction_keeps_l0_small_under_a_steady_write_load() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let db = Db::create(&path, small(true)).unwrap();
    for round in 0..20u64 {
        for i in 0..500 {
            db.put(KS, key(i * 7 % 3000), value(i, round), None).unwrap();
        }
        db.flush().unwrap();
    }
    // Compaction keeps each keyspace's L0 below the trigger (4). The stats sum L0 over
    // keyspaces, and the catalog's keyspace holds one L0 file of its own (from the first
    // flush, never compacted: one file is below the trigger), so settled means at most 3 + 1.
    let settled = |s: &keystone_core::Stats| s.sst_files_per_level[0] <= 4;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut stats = db.stats().unwrap();
    while !settled(&stats) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
        stats = db.stats().unwrap();
    }
    assert!(stats.compaction.total_compactions > 0, "{stats:?}");
    assert!(settled(&stats), "{stats:?} {:?}", db.health());
    assert!(stats.sst_files_per_level.iter().skip(1).sum::<u64>() > 0);
    assert_eq!(db.health().status, HealthStatus::Healthy, "{:?}", db.health());
    for i in 0..500 {
        assert_eq!(db.get(KS, &key(i * 7 % 3000)).unwrap(), Some(value(i, 19)));
    }
}

#[test]
fn a_database_whose_manifest_is_gone_reopens_from_its_sst_and_wal_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let db = Db::create(&path, small(false)).unwrap();
    for i in 0..2000 {
        db.put(KS, key(i), value(i, 1), None).unwrap();
    }
    db.compact().unwrap();
    for i in 0..500 {
        db.put(KS, key(i), value(i, 2), None).unwrap();
    }
    db.flush().unwrap();
    for i in 0..100 {
        db.delete(KS, key(i), None).unwrap();
    }
    drop(db);
    std::fs::remove_file(path.join("MANIFEST")).unwrap();
    let db = Db::open(&path, small(false), false).unwrap();
    for i in 0..2000 {
        let want = match i {
            0..100 => None,
            100..500 => Some(value(i, 2)),
            _ => Some(value(i, 1)),
        };
        assert_eq!(db.get(KS, &key(i)).unwrap(), want, "key {i}");
    }
    assert!(path.join("MANIFEST").exists());
}

#[test]
fn a_flipped_byte_in_an_sst_gives_corruption_never_a_wrong_value() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let db = Db::create(&path, small(false)).unwrap();
    for i in 0..1000 {
        db.put(KS, key(i), value(i, 0), None).unwrap();
    }
    db.compact().unwrap();
    drop(db);
    let sst = files_with(&path, |n| n.ends_with(".sst"));
    assert!(!sst.is_empty());
    let sst = path.join(&sst[sst.len() / 2]);
    let original = std::fs::read(&sst).unwrap();
    let mut corruptions = 0;
    for pos in (0..original.len()).step_by(original.len() / 40) {
        let mut damaged = original.clone();
        damaged[pos] ^= 0x5a;
        std::fs::write(&sst, &damaged).unwrap();
        match Db::open(&path, small(false), false) {
            Err(e) => {
                assert_eq!(e.code(), ErrorCode::Corruption, "open after a flip at {pos}: {e}");
                corruptions += 1;
            }
            Ok(db) => {
                for i in 0..1000 {
                    match db.get(KS, &key(i)) {
                        Ok(got) => assert_eq!(got, Some(value(i, 0)), "wrong answer after a flip at {pos}"),
                        Err(e) => {
                            assert_eq!(e.code(), ErrorCode::Corruption, "{e}");
                            corruptions += 1;
                        }
                    }
                }
            }
        }
    }
    assert!(corruptions > 0, "no flip was detected");
    std::fs::write(&sst, &original).unwrap();
    let db = Db::open(&path, small(false), false).unwrap();
    assert_eq!(db.get(KS, &key(999)).unwrap(), Some(value(999, 0)));
}

#[test]
fn writes_never_wait_forever_when_compaction_is_off() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let mut options = small(false);
    options.l0_stop_trigger = 4;
    let db = Db::create(&path, options).unwrap();
    for i in 0..20_000 {
        db.put(KS, key(i), value(i, 0), None).unwrap();
    }
    assert!(db.stats().unwrap().sst_files_per_level[0] > 4);
    assert_eq!(db.get(KS, &key(12_345)).unwrap(), Some(value(12_345, 0)));
    // An L0 past half the stop trigger is what health() calls compaction falling behind.
    let health = db.health();
    assert_eq!(health.status, HealthStatus::Degraded, "{health:?}");
    assert!(health.warnings.iter().any(|w| w.contains("L0 files")), "{health:?}");
}
