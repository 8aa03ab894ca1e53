//! The operator guide's file-copy backup: copy `*.sst`, then `wal_*.log`, while the database
//! keeps taking writes and compacting. The copy must open and hold every write acknowledged
//! before the copy began.

#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing, reason = "test code: a failure is the point")]

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use common::*;
use keystone_core::Db;

/// What the guide's backup.sh does: `cp "$DB_DIR"/*.sst` then `cp "$DB_DIR"/wal_*.log`, each
/// glob expanded when its `cp` starts, a file that vanished meanwhile skipped.
fn seed_backup(db: &Path, backup: &Path) {
    std::fs::create_dir_all(backup).unwrap();
    for pattern in [".sst", "wal_"] {
        let names = files_with(db, |n| if pattern == "wal_" { n.starts_with("wal_") } else { n.ends_with(".sst") });
        for (i, n) in names.iter().enumerate() {
            match std::fs::copy(db.join(n), backup.join(n)) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => panic!("copying {n}: {e}"),
            }
            // A slow copy widens the race with flushes and compactions. Only the first files
            // are slowed: the writers make files faster than 2 ms each, so slowing every copy
            // would let each round find more files than the last and the test never end.
            if i < 64 {
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        }
    }
}

fn version_of(v: &[u8]) -> u64 {
    let text = String::from_utf8_lossy(v);
    text.split(':').nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_file_copy_taken_during_writes_and_compactions_restores_every_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let mut options = small(true);
    options.obsolete_file_retention_ms = 60_000;
    let db = Db::create(&path, options.clone()).unwrap();
    let acked: Arc<Mutex<HashMap<u64, u64>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..2u64)
        .map(|t| {
            let (db, acked, stop) = (db.clone(), Arc::clone(&acked), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut version = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    version += 1;
                    for i in (t..4000).step_by(2) {
                        db.put(KS, key(i), value(i, version), None).unwrap();
                        acked.lock().unwrap().insert(i, version);
                        if i % 500 == 0 && version.is_multiple_of(2) {
                            db.delete(KS, key(i + 1_000_000), None).unwrap();
                        }
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let mut copies = Vec::new();
    for round in 0..3 {
        let before_copy = acked.lock().unwrap().clone();
        let backup = dir.path().join(format!("backup{round}"));
        seed_backup(&path, &backup);
        copies.push((backup, before_copy));
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    let compactions = db.stats().unwrap().compaction.total_compactions;
    assert!(compactions > 0, "the copies should have raced with compactions");
    for (backup, before_copy) in copies {
        let restored = Db::open(&backup, small(false), false).unwrap();
        assert!(!before_copy.is_empty());
        for (i, version) in &before_copy {
            let got = restored.get(KS, &key(*i)).unwrap();
            let got =
                got.unwrap_or_else(|| panic!("{}: key {i} (acked at version {version}) is missing", backup.display()));
            assert!(version_of(&got) >= *version, "key {i}: restored version {} < acked {version}", version_of(&got));
            assert_eq!(got, value(*i, version_of(&got)));
        }
    }
}
