//! I/O-error and ENOSPC sweep: for each kind of filesystem call (create, append, fsync,
//! rename, delete, truncate, directory fsync, read) and every N, the Nth such call of a
//! workload fails, with ENOSPC or EIO alternately (a failing append first writes half its
//! data, as a short write on a full disk does). The workload goes on after the failure.
//!
//! Each run must show: every error the caller sees is typed (`Io` or `Poisoned`), never a
//! panic on any thread; reads while the process lives agree with the acknowledged writes;
//! after a failed write-side call (anything but a delete or a read) the database is poisoned
//! and no write is acknowledged after the failure reached the WAL; and reopening (after a
//! power loss that drops everything unsynced) finds every acknowledged write, no phantom and
//! no torn batch.
//!
//! `KSTONE_IOFAULT_SEEDS=<n>` runs more seeds (default 1).

#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing, reason = "test code: a failure is the point")]

mod common;

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

use common::workload::{self, Expect};
use keystone_core::vfs::sim::{Loss, Op, SimFs};
use keystone_core::{Db, ErrorCode, WriteBatch};

const STEPS: usize = 300;
const KINDS: [Op; 8] = [Op::Create, Op::Append, Op::Sync, Op::Rename, Op::Remove, Op::Truncate, Op::SyncDir, Op::Read];

#[derive(Default, Debug)]
struct Tally {
    points: u64,
    typed_errors: u64,
    poisoned: u64,
}

fn one(seed: u64, op: Op, nth: u64, failures: &mut Vec<String>, tally: &mut Tally) {
    let fs = SimFs::new();
    let path = PathBuf::from(format!("/sim/iofault/{seed}/{op:?}/{nth}"));
    let options = workload::options(&fs);
    let db = Db::create(&path, options.clone()).unwrap();
    let error = if nth.is_multiple_of(2) { ErrorKind::StorageFull } else { ErrorKind::Other };
    fs.fail_at(op, nth, error);
    let mut expect = Expect::default();
    let out = workload::run(&db, seed, STEPS, false, &mut expect);
    let site = fs.failed_site();
    // A flush or compaction thread poisons just after its call fails: give it a moment.
    let write_side = !matches!(op, Op::Read | Op::Remove);
    let mut poisoned = db.poisoned().is_some();
    for _ in 0..200 {
        if poisoned || site.is_none() || !write_side {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
        poisoned = db.poisoned().is_some();
    }
    let fail = |why: String| format!("seed {seed} {op:?} #{nth} at {site:?}: {why}");
    tally.points += 1;
    tally.typed_errors += out.writes_failed;
    tally.poisoned += u64::from(poisoned);
    if out.untyped_errors > 0 {
        failures.push(fail(format!(
            "{} errors were neither Io nor Poisoned, the first: {:?}",
            out.untyped_errors, out.first_untyped
        )));
    }
    if out.wrong_reads > 0 {
        failures.push(fail(format!("{} reads disagreed with the acknowledged writes", out.wrong_reads)));
    }
    if out.acked_after_io_failure > 0 {
        failures.push(fail(format!("{} writes acknowledged after a write failed", out.acked_after_io_failure)));
    }
    if site.is_some() && write_side && !poisoned {
        failures.push(fail("a failed write-side call did not poison the database".into()));
    }
    drop(db);
    fs.disarm();
    fs.power_loss(Loss::Drop);
    if let Err(e) = reopen_and_judge(&path, options, &expect) {
        failures.push(fail(e));
    }
}

/// Opens the database again and judges it; `Err` says what was wrong.
fn reopen_and_judge(path: &std::path::Path, options: keystone_core::Options, expect: &Expect) -> Result<(), String> {
    let db = Db::open(path, options, false).map_err(|e| format!("reopen failed: {e}"))?;
    match workload::judge(&db, expect)? {
        j if j.lost + j.phantom + j.torn == 0 => Ok(()),
        j => Err(format!("after reopen: {j:?}")),
    }
}

#[test]
fn every_failed_call_gives_a_typed_error_poisons_when_it_must_and_loses_nothing() {
    let panics = workload::count_panics();
    let seeds = std::env::var("KSTONE_IOFAULT_SEEDS").ok().and_then(|v| v.parse().ok()).unwrap_or(1u64);
    let mut failures = Vec::new();
    let mut per_kind: BTreeMap<String, Tally> = BTreeMap::new();
    for seed in 1..=seeds {
        // How many calls of each kind the workload makes.
        let fs = SimFs::new();
        let db = Db::create(&PathBuf::from(format!("/sim/iofault-dry/{seed}")), workload::options(&fs)).unwrap();
        let before: Vec<u64> = KINDS.iter().map(|&k| fs.calls(k)).collect();
        workload::run(&db, seed, STEPS, false, &mut Expect::default());
        let counts: Vec<u64> = KINDS.iter().zip(&before).map(|(&k, b)| fs.calls(k) - b).collect();
        drop(db);
        for (&op, &n) in KINDS.iter().zip(&counts) {
            let tally = per_kind.entry(format!("{op:?}")).or_default();
            // Reads are many; every third one is enough to reach each read path.
            let stride = if op == Op::Read { 3 } else { 1 };
            for nth in (1..=n + 1).step_by(stride) {
                one(seed, op, nth, &mut failures, tally);
            }
        }
    }
    let points: u64 = per_kind.values().map(|t| t.points).sum();
    println!("I/O faults: {points} failure points");
    for (kind, t) in &per_kind {
        println!(
            "  {kind:<9} {:>5} points, {:>6} typed write errors, {:>5} runs poisoned",
            t.points, t.typed_errors, t.poisoned
        );
    }
    assert!(failures.is_empty(), "{} of {points} points failed:\n{}", failures.len(), failures.join("\n"));
    assert_eq!(panics.load(Ordering::SeqCst), 0, "a thread panicked");
    assert!(per_kind.values().all(|t| t.points > 1), "every kind of call was swept: {per_kind:?}");
}

/// Recovery's own I/O fails: a database whose WAL ends in a torn record (so recovery must
/// truncate it), with leftovers to delete, is reopened with the Nth call of each kind failing.
/// The open fails with a typed `Io` error or succeeds; either way a second open, without the
/// fault, finds every acknowledged write.
#[test]
fn a_failure_during_recovery_is_an_error_and_the_next_open_recovers() {
    let panics = workload::count_panics();
    let mut failures = Vec::new();
    let mut points = 0u64;
    let mut failed_opens = 0u64;
    let mut truncates = 0u64;
    for seed in 1..=4u64 {
        for &op in &KINDS {
            for nth in 1.. {
                let fs = SimFs::new();
                let path = PathBuf::from(format!("/sim/iofault-recovery/{seed}/{op:?}/{nth}"));
                let options = workload::options(&fs);
                let db = Db::create(&path, options.clone()).unwrap();
                let mut expect = Expect::default();
                fs.crash_at(400 + seed * 37);
                workload::run(&db, seed, STEPS, true, &mut expect);
                drop(db);
                fs.power_loss(Loss::TornPrefix(seed));
                let truncates_before = fs.calls(Op::Truncate);
                fs.fail_at(op, nth, ErrorKind::StorageFull);
                let first = Db::open(&path, options.clone(), false);
                let reached = fs.failed_site().is_some();
                truncates += fs.calls(Op::Truncate) - truncates_before;
                let fail = |why: String| format!("seed {seed} {op:?} #{nth} during recovery: {why}");
                match &first {
                    Err(e) if !matches!(e.code(), ErrorCode::Io | ErrorCode::Poisoned) => {
                        failures.push(fail(format!("untyped error {e}")));
                    }
                    Err(_) => failed_opens += 1,
                    Ok(_) => {}
                }
                drop(first);
                fs.disarm();
                points += u64::from(reached);
                if let Err(e) = reopen_and_judge(&path, options, &expect) {
                    failures.push(fail(e));
                }
                if !reached || nth > 200 {
                    break;
                }
            }
        }
    }
    println!("faults during recovery: {points} failure points, {failed_opens} opens failed with Io, {truncates} torn tails truncated");
    assert!(failures.is_empty(), "{} of {points} points failed:\n{}", failures.len(), failures.join("\n"));
    assert_eq!(panics.load(Ordering::SeqCst), 0, "a thread panicked");
    assert!(truncates > 0, "no recovery truncated a torn WAL tail");
}

/// Keys of a group large enough that its WAL fsync runs on a second thread while the memtable
/// takes it (`apply_while_syncing`), and a fresh database on a simulated disk.
fn large_group(name: &str) -> (SimFs, PathBuf, keystone_core::Options, Db, Vec<Vec<u8>>, WriteBatch) {
    let fs = SimFs::new();
    let path = PathBuf::from(format!("/sim/iofault-{name}"));
    let options = workload::options(&fs);
    let db = Db::create(&path, options.clone()).unwrap();
    let keys: Vec<Vec<u8>> = (0..300).map(|j| format!("large#{j:03}").into_bytes()).collect();
    let mut batch = WriteBatch::new();
    for k in &keys {
        batch.put(common::KS, k.clone(), [b"v:".as_slice(), k].concat());
    }
    (fs, path, options, db, keys, batch)
}

/// A large group whose fsync fails: the write fails, none of its keys is ever readable, the
/// database is poisoned, and after a power loss the batch is whole or absent.
#[test]
fn a_large_group_whose_fsync_fails_is_never_visible() {
    let (fs, path, options, db, keys, batch) = large_group("large-group");
    db.put(common::KS, b"before".to_vec(), b"1".to_vec(), None).unwrap();
    fs.fail_at(Op::Sync, 1, ErrorKind::Other);
    let err = db.write(batch, None).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Io, "{err}");
    assert!(db.poisoned().is_some());
    for k in &keys {
        assert_eq!(db.get(common::KS, k).unwrap(), None, "{}", String::from_utf8_lossy(k));
    }
    assert_eq!(db.get(common::KS, b"before").unwrap(), Some(b"1".to_vec()));
    drop(db);
    fs.disarm();
    fs.power_loss(Loss::Drop);
    let db = Db::open(&path, options, false).unwrap();
    let present = keys.iter().filter(|k| db.get(common::KS, k).unwrap().is_some()).count();
    assert!(present == 0 || present == keys.len(), "{present} of {} keys of one batch", keys.len());
    assert_eq!(db.get(common::KS, b"before").unwrap(), Some(b"1".to_vec()));
}

/// The same group with a working disk: it lands whole, reads see it at once, and it survives
/// a power loss.
#[test]
fn a_large_group_commits_whole() {
    let (fs, path, options, db, keys, batch) = large_group("large-group-ok");
    db.write(batch, None).unwrap();
    for k in &keys {
        assert_eq!(db.get(common::KS, k).unwrap(), Some([b"v:".as_slice(), k].concat()));
    }
    drop(db);
    fs.power_loss(Loss::Drop);
    let db = Db::open(&path, options, false).unwrap();
    for k in &keys {
        assert_eq!(db.get(common::KS, k).unwrap(), Some([b"v:".as_slice(), k].concat()));
    }
}
