//! The seeded workload of the power-loss and I/O-fault tests, and the expected state that
//! judges what a reopened database holds.
//!
//! One caller thread issues `Sync` puts and deletes over a small key set (so keys are
//! overwritten many times), multi-key batches over fresh keys (so a torn batch is visible; one
//! in eight has 256–319 keys, whose WAL fsync the commit runs on a second thread),
//! gets and range reads (checked against the expected state while the process lives), and
//! explicit flushes and compactions; background flushes, compactions and WAL rotations run
//! on their own. One single write in four is committed as `Buffered` on the calling thread when
//! the engine allows (`Db::try_write_now`), and made durable by the `Sync` write that follows.
//! A write that returned an error is "in flight": after a reopen its key may hold the old or
//! the new value, nothing else.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use keystone_core::vfs::sim::SimFs;
use keystone_core::{CompactionOptions, Db, Durability, ErrorCode, Options, WriteBatch};

use super::KS;

/// A small seedable generator (xorshift64*), so a seed replays exactly.
pub struct Rng(pub u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Options under which a few hundred small writes go through every background path: memtable
/// switches, flushes, WAL rotations, compactions into L1 and L2, deletion of obsolete files.
pub fn options(fs: &SimFs) -> Options {
    Options {
        durability: Durability::Sync,
        memtable_budget_bytes: 12 << 10,
        wal_segment_bytes: 4 << 10,
        block_size_bytes: 512,
        target_file_bytes: 4 << 10,
        level_base_bytes: 12 << 10,
        obsolete_file_retention_ms: 0,
        compaction: CompactionOptions { enabled: true, l0_trigger: 2, check_interval_ms: 2, max_concurrent: 2 },
        vfs: Arc::new(fs.clone()),
        ..Options::default()
    }
}

const KEYS: u64 = 48;

/// A key and what a write sets it to (`None`: delete).
type Entry = (Vec<u8>, Option<Vec<u8>>);

fn key(i: u64) -> Vec<u8> {
    format!("k{i:03}").into_bytes()
}

fn value(rng: &mut Rng, k: &[u8], step: usize) -> Vec<u8> {
    let mut v = format!("{}@{step}:", String::from_utf8_lossy(k)).into_bytes();
    v.resize(v.len() + 20 + rng.below(150) as usize, b'a' + (step % 26) as u8);
    v
}

/// What the database must hold.
#[derive(Default, Clone)]
pub struct Expect {
    /// The last acknowledged state of each key (`None`: deleted).
    pub acked: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// Every state each key was acknowledged in, oldest first.
    pub history: BTreeMap<Vec<u8>, Vec<Option<Vec<u8>>>>,
    /// States a key may also be in: writes that returned an error, and `Buffered` writes.
    pub maybe: BTreeMap<Vec<u8>, Vec<Option<Vec<u8>>>>,
    /// Acknowledged `Buffered` writes no fsync has covered yet: visible while the process lives
    /// (over `acked`), but a power cut may take them.
    pub unsynced: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// Multi-key batches over fresh keys: their keys, their value, and whether acknowledged.
    pub batches: Vec<(Vec<Vec<u8>>, Vec<u8>, bool)>,
}

#[derive(Default, Debug, Clone)]
pub struct Outcome {
    pub writes_acked: u64,
    pub writes_failed: u64,
    /// Writes acknowledged after an earlier write failed with `Io`.
    pub acked_after_io_failure: u64,
    /// Errors whose code was neither `Io` nor `Poisoned` (a failure must be typed as one).
    pub untyped_errors: u64,
    /// Reads whose answer disagreed with the acknowledged state while the process lived.
    pub wrong_reads: u64,
    pub reads: u64,
    /// Writes committed on the calling thread (`Db::try_write_now`).
    pub inline_commits: u64,
    /// The first error that was neither `Io` nor `Poisoned`.
    pub first_untyped: Option<&'static str>,
}

fn typed(code: ErrorCode) -> bool {
    matches!(code, ErrorCode::Io | ErrorCode::Poisoned)
}

impl Outcome {
    fn note_untyped(&mut self, e: &keystone_core::Error) {
        if !typed(e.code()) {
            self.untyped_errors += 1;
            self.first_untyped.get_or_insert_with(|| Box::leak(e.to_string().into_boxed_str()));
        }
    }
}

/// Records acknowledged (durable) states of keys.
fn acknowledge(expect: &mut Expect, entries: Vec<Entry>) {
    for (k, v) in entries {
        expect.history.entry(k.clone()).or_default().push(v.clone());
        expect.unsynced.remove(&k);
        expect.acked.insert(k, v);
    }
}

/// Runs `steps` seeded steps. With `stop_at_error` the first failed write ends the run (a
/// crash: nothing after it can reach the disk anyway); otherwise it goes on, recording.
pub fn run(db: &Db, seed: u64, steps: usize, stop_at_error: bool, expect: &mut Expect) -> Outcome {
    let mut rng = Rng::new(seed);
    let mut out = Outcome::default();
    let mut io_failed = false;
    for step in 0..steps {
        let roll = rng.below(100);
        let write: Option<(Vec<Entry>, Option<usize>)> = if roll < 50 {
            let k = key(rng.below(KEYS));
            let v = value(&mut rng, &k, step);
            Some((vec![(k, Some(v))], None))
        } else if roll < 62 {
            Some((vec![(key(rng.below(KEYS)), None)], None))
        } else if roll < 74 {
            // One batch in eight is large enough for its WAL fsync to run on a second thread
            // while the memtable takes it (`apply_while_syncing`).
            let n = if rng.below(8) == 0 { 256 + rng.below(64) as usize } else { 2 + rng.below(4) as usize };
            let v = format!("batch@{step}").into_bytes();
            let keys: Vec<Entry> = (0..n).map(|j| (format!("b{step:05}#{j}").into_bytes(), Some(v.clone()))).collect();
            expect.batches.push((keys.iter().map(|(k, _)| k.clone()).collect(), v, false));
            Some((keys, Some(expect.batches.len() - 1)))
        } else {
            None
        };
        if let Some((entries, batch_index)) = write {
            // One multi-key batch in four commits together with a single put, as one group of
            // two batches with a result each (`Db::write_all`: the binding's write
            // thread commits the calls queued behind it so).
            let partner = (batch_index.is_some() && rng.below(4) == 0).then(|| {
                let k = key(rng.below(KEYS));
                let v = value(&mut rng, &k, step);
                vec![(k, Some(v))]
            });
            let batch_of = |entries: &[Entry]| {
                let mut b = WriteBatch::new();
                for (k, v) in entries {
                    match v {
                        Some(v) => b.put(KS, k.clone(), v.clone()),
                        None => b.delete(KS, k.clone()),
                    }
                }
                b
            };
            let writes: Vec<(Vec<Entry>, Option<usize>, keystone_core::Result<u64>)> = match partner {
                Some(partner) => {
                    let mut results =
                        db.write_all(vec![(batch_of(&entries), None), (batch_of(&partner), None)]).into_iter();
                    let mut next = || results.next().unwrap_or_else(|| panic!("a batch of the group got no result"));
                    let first = next();
                    vec![(entries, batch_index, first), (partner, None, next())]
                }
                None if entries.len() == 1 && rng.below(4) == 0 => {
                    // A `Buffered` write committed on the calling thread (`Db::try_write_now`,
                    // as the binding commits a JavaScript tick that needs no fsync), then a
                    // durable write of another key: its fsync covers the first, which is from
                    // then on as durable as any acknowledged write. Until then a power cut may
                    // take it.
                    match db.try_write_now(batch_of(&entries), Some(Durability::Buffered)) {
                        Some(Ok(_)) => {
                            out.inline_commits += 1;
                            out.acked_after_io_failure += u64::from(io_failed);
                            for (k, v) in &entries {
                                expect.maybe.entry(k.clone()).or_default().push(v.clone());
                                expect.unsynced.insert(k.clone(), v.clone());
                            }
                            let k = key(rng.below(KEYS));
                            let v = value(&mut rng, &k, step);
                            let covering = vec![(k, Some(v))];
                            let result = db.write(batch_of(&covering), None);
                            if result.is_ok() {
                                acknowledge(expect, entries);
                            }
                            vec![(covering, None, result)]
                        }
                        Some(Err(e)) => vec![(entries, batch_index, Err(e))],
                        None => {
                            let result = db.write(batch_of(&entries), None);
                            vec![(entries, batch_index, result)]
                        }
                    }
                }
                None => {
                    let result = if entries.len() == 1 {
                        let (k, v) = entries.first().cloned().unwrap();
                        match v {
                            Some(v) => db.put(KS, k, v, None),
                            None => db.delete(KS, k, None),
                        }
                    } else {
                        db.write(batch_of(&entries), None)
                    };
                    vec![(entries, batch_index, result)]
                }
            };
            let mut failed = false;
            for (entries, batch_index, result) in writes {
                match result {
                    Ok(_) => {
                        out.writes_acked += 1;
                        out.acked_after_io_failure += u64::from(io_failed);
                        acknowledge(expect, entries);
                        if let Some(b) = batch_index.and_then(|i| expect.batches.get_mut(i)) {
                            b.2 = true;
                        }
                    }
                    Err(e) => {
                        out.writes_failed += 1;
                        out.note_untyped(&e);
                        io_failed |= e.code() == ErrorCode::Io;
                        for (k, v) in entries {
                            expect.maybe.entry(k).or_default().push(v);
                        }
                        failed = true;
                    }
                }
            }
            // After every result of the group is recorded: an acknowledged partner counts.
            if failed && stop_at_error {
                return out;
            }
            continue;
        }
        let result = if roll < 86 {
            let k = key(rng.below(KEYS));
            out.reads += 1;
            db.get(KS, &k).map(|got| {
                // While the process lives, a failed write is never visible.
                let want = expect.unsynced.get(&k).or_else(|| expect.acked.get(&k)).cloned().flatten();
                out.wrong_reads += u64::from(got != want);
            })
        } else if roll < 97 {
            let lo = key(rng.below(KEYS));
            out.reads += 1;
            db.scan_range(KS, Bound::Included(&lo[..]), Bound::Excluded(&b"l"[..])).map(|got| {
                let mut visible: BTreeMap<Vec<u8>, Option<Vec<u8>>> =
                    expect.acked.range(lo.clone()..b"l".to_vec()).map(|(k, v)| (k.clone(), v.clone())).collect();
                for (k, v) in expect.unsynced.range(lo.clone()..b"l".to_vec()) {
                    visible.insert(k.clone(), v.clone());
                }
                let want: Vec<(Vec<u8>, Vec<u8>)> = visible.into_iter().filter_map(|(k, v)| Some((k, v?))).collect();
                out.wrong_reads += u64::from(got != want);
            })
        } else if roll < 99 {
            db.flush()
        } else {
            db.compact()
        };
        if let Err(e) = result {
            out.note_untyped(&e);
            if stop_at_error && e.code() != ErrorCode::Io {
                return out;
            }
        }
    }
    out
}

/// What a reopened database holds, judged against `expect`.
#[derive(Default, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Judgement {
    /// Acknowledged writes missing (an older value or nothing where the acknowledged one
    /// should be).
    pub lost: u64,
    /// Values that no write, acknowledged or in flight, ever gave that key.
    pub phantom: u64,
    /// Batches found with some but not all of their keys.
    pub torn: u64,
    pub keys_checked: u64,
}

pub fn judge(db: &Db, expect: &Expect) -> Result<Judgement, String> {
    let mut j = Judgement::default();
    let mut keys: Vec<&Vec<u8>> = expect.acked.keys().chain(expect.maybe.keys()).collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        if k.starts_with(b"b") {
            continue;
        }
        j.keys_checked += 1;
        let got = db.get(KS, k).map_err(|e| format!("get after reopen: {e}"))?;
        let acked = expect.acked.get(k).cloned().flatten();
        if got == acked || expect.maybe.get(k).is_some_and(|m| m.contains(&got)) {
            continue;
        }
        // A state this key had before its last acknowledged write: that write was lost.
        if got.is_none() || expect.history.get(k).is_some_and(|h| h.contains(&got)) {
            j.lost += 1;
        } else {
            j.phantom += 1;
        }
    }
    for (keys, value, acked) in &expect.batches {
        let mut present = 0;
        for k in keys {
            j.keys_checked += 1;
            match db.get(KS, k).map_err(|e| format!("get after reopen: {e}"))? {
                Some(v) if v == *value => present += 1,
                Some(_) => j.phantom += 1,
                None => {}
            }
        }
        if present != 0 && present != keys.len() {
            j.torn += 1;
        } else if present == 0 && *acked {
            j.lost += 1;
        }
    }
    Ok(j)
}

/// Counts panics on any thread (background threads included) from the moment it is called.
pub fn count_panics() -> &'static AtomicUsize {
    static PANICS: AtomicUsize = AtomicUsize::new(0);
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, Ordering::SeqCst);
            previous(info);
        }));
    });
    &PANICS
}
