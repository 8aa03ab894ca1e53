//! Model-based random testing: seeded random sequences of puts, deletes, batches, checked
//! read-modify-writes, flushes, compactions and reopens, checked after every step against a
//! `BTreeMap` model, under several configurations. A failing run names its seed and
//! configuration; `KSTONE_MODEL_SEEDS=<n>` runs more seeds, `KSTONE_MODEL_SEED=<s>` replays one.

#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing, reason = "test code: a failure is the point")]

mod common;

use std::collections::BTreeMap;
use std::ops::Bound;

use keystone_core::{CompactionOptions, Compression, Db, Durability, ErrorCode, Options, ReadCheck, WriteBatch};

/// A small, seedable generator (xorshift64*), so a seed replays exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn configs() -> Vec<(&'static str, Options)> {
    let base = Options {
        durability: Durability::None,
        obsolete_file_retention_ms: 0,
        compaction: CompactionOptions { enabled: true, l0_trigger: 2, check_interval_ms: 5, max_concurrent: 2 },
        ..Options::default()
    };
    vec![
        (
            "tiny blocks, tiny memtable, lz4",
            Options { block_size_bytes: 256, memtable_budget_bytes: 16 << 10, ..base.clone() },
        ),
        (
            "tiny memtable, no compression, nearly useless bloom",
            Options {
                memtable_budget_bytes: 16 << 10,
                compression: Compression::None,
                bloom_false_positive_rate: 0.9,
                ..base.clone()
            },
        ),
        (
            "zstd, small files, small levels",
            Options {
                compression: Compression::Zstd,
                memtable_budget_bytes: 32 << 10,
                target_file_bytes: 4096,
                level_base_bytes: 16 << 10,
                ..base.clone()
            },
        ),
        (
            "defaults, background compaction off",
            Options { compaction: CompactionOptions { enabled: false, ..base.compaction.clone() }, ..base },
        ),
    ]
}

fn key(rng: &mut Rng) -> Vec<u8> {
    // A small key space, so overwrites and deletes hit live keys often; some keys share prefixes.
    let k = rng.below(300);
    if k.is_multiple_of(7) {
        format!("k{k}").into_bytes()
    } else {
        format!("k{k:04}").into_bytes()
    }
}

fn value(rng: &mut Rng, step: usize) -> Vec<u8> {
    let len = rng.below(200) as usize;
    let mut v = format!("{step}:").into_bytes();
    v.resize(len.max(v.len()), b'a' + (step % 26) as u8);
    v
}

fn check_all(db: &Db, model: &BTreeMap<Vec<u8>, Vec<u8>>, ks: u32, ctx: &str) {
    for (k, v) in model {
        assert_eq!(db.get(ks, k).unwrap().as_ref(), Some(v), "{ctx}: get {}", String::from_utf8_lossy(k));
    }
}

fn run(seed: u64, name: &str, options: &Options, steps: usize) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let mut db = Db::create(&path, options.clone()).unwrap();
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    const KS: u32 = 7;
    for step in 0..steps {
        let ctx = format!("seed {seed}, config '{name}', step {step}");
        match rng.below(100) {
            0..=44 => {
                let (k, v) = (key(&mut rng), value(&mut rng, step));
                db.put(KS, k.clone(), v.clone(), None).unwrap();
                model.insert(k, v);
            }
            45..=59 => {
                let k = key(&mut rng);
                db.delete(KS, k.clone(), None).unwrap();
                model.remove(&k);
            }
            60..=69 => {
                let mut b = WriteBatch::new();
                for _ in 0..rng.below(20) {
                    let k = key(&mut rng);
                    if rng.below(3) == 0 {
                        b.delete(KS, k.clone());
                        model.remove(&k);
                    } else {
                        let v = value(&mut rng, step);
                        b.put(KS, k.clone(), v.clone());
                        model.insert(k, v);
                    }
                }
                db.write(b, None).unwrap();
            }
            70..=74 => {
                // A read-modify-write that must fail when its read is stale.
                let k = key(&mut rng);
                let seen = db.newest(KS, &k).unwrap().map(|n| n.seq);
                let stale = rng.below(2) == 0;
                if stale {
                    db.put(KS, k.clone(), b"intervening".to_vec(), None).unwrap();
                    model.insert(k.clone(), b"intervening".to_vec());
                }
                let mut b = WriteBatch::new();
                let v = value(&mut rng, step);
                b.put(KS, k.clone(), v.clone());
                let r = db.write_checked(b, vec![ReadCheck { keyspace: KS, key: k.clone(), seq: seen }], None);
                if stale {
                    assert_eq!(r.err().map(|e| e.code()), Some(ErrorCode::TransactionConflict), "{ctx}");
                } else {
                    r.unwrap();
                    model.insert(k, v);
                }
            }
            75..=84 => {
                let k = key(&mut rng);
                assert_eq!(
                    db.get(KS, &k).unwrap(),
                    model.get(&k).cloned(),
                    "{ctx}: get {}",
                    String::from_utf8_lossy(&k)
                );
            }
            85..=89 => {
                // A range read, checked against the model's range.
                let (a, b) = (key(&mut rng), key(&mut rng));
                let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
                let got: Vec<_> = db.scan_range(KS, Bound::Included(&lo), Bound::Excluded(&hi)).unwrap();
                let want: Vec<_> = model.range(lo..hi).map(|(k, v)| (k.clone(), v.clone())).collect();
                assert_eq!(got, want, "{ctx}: range");
            }
            90..=93 => db.flush().unwrap(),
            94..=95 => db.compact().unwrap(),
            _ => {
                drop(db);
                db = Db::open(&path, options.clone(), false).unwrap();
                check_all(&db, &model, KS, &format!("{ctx} after reopen"));
            }
        }
    }
    check_all(&db, &model, KS, &format!("seed {seed}, config '{name}', end"));
    drop(db);
    let db = Db::open(&path, options.clone(), false).unwrap();
    check_all(&db, &model, KS, &format!("seed {seed}, config '{name}', final reopen"));
}

#[test]
fn random_operations_match_a_simple_model_under_every_configuration() {
    let seeds: Vec<u64> = match std::env::var("KSTONE_MODEL_SEED") {
        Ok(s) => vec![s.parse().unwrap()],
        Err(_) => (1..=std::env::var("KSTONE_MODEL_SEEDS").map_or(3, |n| n.parse().unwrap())).collect(),
    };
    let steps = std::env::var("KSTONE_MODEL_STEPS").map_or(1500, |n| n.parse().unwrap());
    for (name, options) in configs() {
        for &seed in &seeds {
            run(seed, name, &options, steps);
        }
    }
    println!("model: {} configurations × {} seeds × {steps} operations, 0 divergences", configs().len(), seeds.len());
}
