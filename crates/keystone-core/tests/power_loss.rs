//! Simulated power loss at every mutating filesystem call of a workload.
//!
//! The engine runs on `SimFs` (see `src/vfs/sim.rs`), which keeps apart what a process sees
//! and what a disk would hold after a power cut. For each seed, a dry run counts the mutating
//! calls (creates, appends, fsyncs, renames, deletes, truncates, directory fsyncs) the workload
//! makes; then, for every call number N, a fresh run cuts the power at call N, drops every
//! unsynced write and every unsynced create/rename/delete (alternately keeping a torn prefix,
//! or a zero-filled stretch, of unsynced appends), reopens, and judges what it finds:
//! every acknowledged write present, every write in flight old-or-new, every batch whole,
//! `verify()` clean, and the database still taking writes.
//!
//! `cargo test` runs 2 seeds, every crash point. `KSTONE_POWERLOSS_SEEDS=<n>` runs more,
//! `KSTONE_POWERLOSS_SEED=<s>` replays one, `KSTONE_POWERLOSS_POINT=<n>` one crash point.

#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing, reason = "test code: a failure is the point")]

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

use common::workload::{self, Expect, Judgement};
use keystone_core::vfs::sim::{Loss, SimFs, Site};
use keystone_core::{Db, Durability};

const STEPS: usize = 300;

fn env(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn dir(test: &str, seed: u64, point: u64) -> PathBuf {
    PathBuf::from(format!("/sim/{test}/{seed}/{point}"))
}

/// Mutating calls the workload of `seed` makes once the database is created.
fn count_points(seed: u64) -> u64 {
    let fs = SimFs::new();
    let db = Db::create(&dir("dry", seed, 0), workload::options(&fs)).unwrap();
    let before = fs.mutating_calls();
    let out = workload::run(&db, seed, STEPS, true, &mut Expect::default());
    assert_eq!(out.writes_failed, 0, "the dry run must not fail");
    assert!(out.inline_commits > 0, "the workload commits on the calling thread too");
    let n = fs.mutating_calls() - before;
    drop(db);
    n
}

struct PointResult {
    site: Option<Site>,
    judgement: Judgement,
    acked: u64,
    /// Writes first committed on the calling thread (`Db::try_write_now`).
    inline: u64,
}

fn loss_for(point: u64, seed: u64) -> Loss {
    match point % 3 {
        0 => Loss::Drop,
        1 => Loss::TornPrefix(seed ^ point),
        _ => Loss::Zeroed(seed ^ point),
    }
}

/// One run cut at mutating call `point`; `Err` describes a failure to recover.
fn crash_at(seed: u64, point: u64, durability: Durability) -> Result<PointResult, String> {
    crash_twice(seed, point, None, durability)
}

/// `crash_at`, and with `recovery_point` the power goes again at that mutating call of the
/// first reopen (recovery truncates torn WAL tails, deletes leftovers, rebuilds or rewrites
/// the MANIFEST and starts a WAL segment: all of it must itself survive a crash).
fn crash_twice(
    seed: u64,
    point: u64,
    recovery_point: Option<u64>,
    durability: Durability,
) -> Result<PointResult, String> {
    let fs = SimFs::new();
    let path = dir(&format!("{durability:?}"), seed, point);
    let mut options = workload::options(&fs);
    options.durability = durability;
    let db = Db::create(&path, options.clone()).map_err(|e| format!("create: {e}"))?;
    fs.crash_at(point);
    let mut expect = Expect::default();
    let out = workload::run(&db, seed, STEPS, true, &mut expect);
    drop(db);
    let site = fs.crash_site();
    fs.power_loss(loss_for(point, seed));
    if let Some(r) = recovery_point {
        fs.crash_at(r);
        // It may fail (the power went) or finish before call r; either way the power goes.
        drop(Db::open(&path, options.clone(), false));
        fs.power_loss(loss_for(point + r, seed));
    }
    let db = Db::open(&path, options, false).map_err(|e| format!("reopen failed: {e}"))?;
    let judgement = workload::judge(&db, &expect)?;
    let report = db.verify().map_err(|e| format!("verify: {e}"))?;
    if !report.problems.is_empty() {
        return Err(format!("verify found damage: {:?}", report.problems));
    }
    // Still a working database: it takes a write and keeps it across another reopen.
    db.put(common::KS, b"after".to_vec(), b"crash".to_vec(), None).map_err(|e| format!("write after reopen: {e}"))?;
    drop(db);
    let db = Db::open(&path, workload::options(&fs), false).map_err(|e| format!("second reopen: {e}"))?;
    if db.get(common::KS, b"after").map_err(|e| e.to_string())?.as_deref() != Some(&b"crash"[..]) {
        return Err("the write after recovery was lost".into());
    }
    Ok(PointResult { site, judgement, acked: out.writes_acked, inline: out.inline_commits })
}

#[test]
fn every_crash_point_keeps_every_acknowledged_write_and_no_batch_is_torn() {
    let panics = workload::count_panics();
    let seeds: Vec<u64> = match env("KSTONE_POWERLOSS_SEED") {
        Some(s) => vec![s],
        None => (1..=env("KSTONE_POWERLOSS_SEEDS").unwrap_or(2)).collect(),
    };
    let mut points = 0u64;
    let mut acked = 0u64;
    let mut inline = 0u64;
    let mut total = Judgement::default();
    let mut sites: BTreeMap<(String, String, String), u64> = BTreeMap::new();
    let mut failures = Vec::new();
    for &seed in &seeds {
        let n = count_points(seed);
        assert!(n > 200, "seed {seed}: the workload made only {n} mutating calls");
        let range: Vec<u64> = match env("KSTONE_POWERLOSS_POINT") {
            Some(p) => vec![p],
            None => (1..=n).collect(),
        };
        for point in range {
            points += 1;
            match crash_at(seed, point, Durability::Sync) {
                Ok(r) => {
                    acked += r.acked;
                    inline += r.inline;
                    let j = r.judgement;
                    total.lost += j.lost;
                    total.phantom += j.phantom;
                    total.torn += j.torn;
                    total.keys_checked += j.keys_checked;
                    if j.lost + j.phantom + j.torn > 0 {
                        failures.push(format!("seed {seed} point {point} at {:?}: {j:?}", r.site));
                    }
                    let label = r.site.map_or(("-".into(), "-".into(), "after the workload".into()), |s| {
                        (s.thread, s.file.to_string(), format!("{:?}", s.op))
                    });
                    *sites.entry(label).or_default() += 1;
                }
                Err(e) => failures.push(format!("seed {seed} point {point}: {e}")),
            }
        }
    }
    println!(
        "power loss: {} seeds, {points} crash points, {acked} writes acknowledged before the cuts \
         ({inline} of them first committed on the calling thread)",
        seeds.len()
    );
    println!("  {total:?}");
    for ((thread, file, op), count) in &sites {
        println!("  {count:>6}  {thread:<18} {file:<9} {op}");
    }
    assert!(failures.is_empty(), "{} of {points} crash points failed:\n{}", failures.len(), failures.join("\n"));
    assert_eq!(panics.load(Ordering::SeqCst), 0, "a thread panicked");
    // The sweep reached the background paths, not only the caller's WAL appends.
    for (thread, file) in [("kstone-flush", "sst"), ("kstone-compact", "sst"), ("caller", "manifest")] {
        assert!(
            sites.keys().any(|(t, f, _)| t.starts_with(thread) && f == file),
            "no crash point in {thread}/{file}: {sites:?}"
        );
    }
    assert!(sites.keys().any(|(_, f, op)| f == "wal" && op == "Create"), "no crash point in WAL rotation");
}

#[test]
fn a_crash_during_recovery_is_recovered_from_too() {
    let panics = workload::count_panics();
    let seed = env("KSTONE_POWERLOSS_SEED").unwrap_or(3);
    let n = count_points(seed);
    let mut tried = 0;
    let mut failures = Vec::new();
    for point in (1..=n).step_by(9) {
        for r in 1..=8 {
            tried += 1;
            match crash_twice(seed, point, Some(r), Durability::Sync) {
                Ok(p) if p.judgement.lost + p.judgement.phantom + p.judgement.torn > 0 => {
                    failures.push(format!("point {point}, recovery call {r}: {:?}", p.judgement));
                }
                Ok(_) => {}
                Err(e) => failures.push(format!("point {point}, recovery call {r}: {e}")),
            }
        }
    }
    println!("crash during recovery: {tried} (crash point, recovery crash point) pairs");
    assert!(failures.is_empty(), "{} of {tried} failed:\n{}", failures.len(), failures.join("\n"));
    assert_eq!(panics.load(Ordering::SeqCst), 0, "a thread panicked");
}

/// The judge can fail: without fsync before acknowledgement, power loss loses acknowledged
/// writes, and the same harness reports them.
#[test]
fn the_judge_reports_writes_lost_without_fsync() {
    let seed = 7;
    let n = count_points(seed);
    let mut lost = 0;
    for point in (n / 2..n).step_by(7) {
        let r = crash_at(seed, point, Durability::None).unwrap();
        lost += r.judgement.lost;
    }
    assert!(lost > 0, "Durability::None under power loss should lose acknowledged writes");
}
