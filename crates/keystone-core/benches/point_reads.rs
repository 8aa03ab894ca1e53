//! Point reads in the engine alone, without Node: `cargo bench -p keystone-core --bench point_reads`.
//!
//! Loads N items (default 200,000; `KSTONE_BENCH_ITEMS` sets another) in batches of 1,000 in
//! random order, as `bench/`'s load does, then reads every key once per round in another random
//! order, through the item layer (`get_item`: the encoded key object is checked and turned into
//! the engine key, as `getSync` does) and through the raw key-value path (`Db::get` with the
//! engine key). It then compacts everything into one level and reads again.
//!
//! The items are `bench/data.mjs`'s: a table with partition key `g` (user / 1000) and sort key
//! `u` (the user number), and 7 more attributes of ~150 B. Comparing these figures with
//! `getSync`'s in `bench/` separates the engine's cost from the boundary's and the decoding's.
//! Timings are as noisy as the machine: compare rounds and runs, not lone figures.

use std::collections::HashMap;
use std::error::Error;
use std::sync::Arc;
use std::time::Instant;

use keystone_core::{encode_item, Db, KeyAttribute, KeySchema, KeyType, Keyspace, Options, Value, WriteOp};

const TABLE: &str = "users";
const ROUNDS: usize = 3;

fn number(n: u64) -> Value {
    Value::N(n.to_string())
}

fn key_object(i: u64) -> Vec<(String, Value)> {
    vec![("g".into(), number(i / 1000)), ("u".into(), number(i))]
}

fn item(i: u64) -> Vec<u8> {
    let city = ["Oslo", "Lyon", "Kyoto", "Lima", "Pune"].get((i % 5) as usize).copied().unwrap_or("Oslo");
    let mut item = key_object(i);
    item.extend([
        ("name".into(), Value::S(format!("User Number {i}"))),
        ("email".into(), Value::S(format!("user{i}@example.com"))),
        ("age".into(), number(18 + i % 60)),
        ("city".into(), Value::S(city.into())),
        ("active".into(), Value::Bool(!i.is_multiple_of(3))),
        ("score".into(), number((i * 7919) % 100_000)),
        ("plan".into(), Value::S(if i.is_multiple_of(4) { "premium" } else { "basic" }.into())),
    ]);
    encode_item(&item)
}

/// 0..n in a deterministic random order (xorshift).
fn shuffled(n: u64, seed: u64) -> Vec<u64> {
    let mut order: Vec<u64> = (0..n).collect();
    let mut s = seed.max(1);
    for i in (1..order.len()).rev() {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        order.swap(i, (s % (i as u64 + 1)) as usize);
    }
    order
}

/// Microseconds per read of every key in `keys`, for each round; fails if a key is missing.
fn rounds(
    keys: &[Vec<u8>],
    mut read: impl FnMut(&[u8]) -> Result<bool, Box<dyn Error>>,
) -> Result<Vec<f64>, Box<dyn Error>> {
    let mut out = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let start = Instant::now();
        for k in keys {
            if !read(k)? {
                return Err("a loaded key was not found".into());
            }
        }
        out.push(start.elapsed().as_secs_f64() * 1e6 / keys.len().max(1) as f64);
    }
    Ok(out)
}

fn report(db: &Db, state: &str, item_keys: &[Vec<u8>], engine_keys: &[Vec<u8>]) -> Result<(), Box<dyn Error>> {
    let names = HashMap::new();
    let items = rounds(item_keys, |k| Ok(db.get_item(TABLE, k, None, &names)?.is_some()))?;
    let raw = rounds(engine_keys, |k| Ok(db.get(keyspace(db)?, k)?.is_some()))?;
    let fmt = |v: &[f64]| v.iter().map(|x| format!("{x:.2}")).collect::<Vec<_>>().join(" ");
    let stats = db.stats()?;
    println!(
        "{state}: SST files per level {:?}, memtable {} KiB",
        stats.sst_files_per_level,
        stats.memtable_size_bytes >> 10
    );
    println!("  get_item (key object in): {} µs per read, by round", fmt(&items));
    println!("  Db::get (engine key in):  {} µs per read, by round", fmt(&raw));
    Ok(())
}

fn keyspace(db: &Db) -> Result<Keyspace, Box<dyn Error>> {
    Ok(db.catalog()?.get(TABLE)?.keyspace)
}

fn main() -> Result<(), Box<dyn Error>> {
    let n: u64 = std::env::var("KSTONE_BENCH_ITEMS").ok().and_then(|v| v.parse().ok()).unwrap_or(200_000);
    let dir = tempfile::tempdir()?;
    let db = Db::create(&dir.path().join("db"), Options::default())?;
    let schema = KeySchema {
        partition: KeyAttribute { name: "g".into(), key_type: KeyType::N },
        sort: Some(KeyAttribute { name: "u".into(), key_type: KeyType::N }),
    };
    let def = db.catalog()?.create(&db, TABLE, schema)?;
    let table: Arc<str> = Arc::from(TABLE);
    let start = Instant::now();
    for chunk in shuffled(n, 42).chunks(1000) {
        let ops = chunk.iter().map(|&i| WriteOp { table: Arc::clone(&table), data: item(i), put: true }).collect();
        if let Some(e) = db.write_items(ops, false, None)?.into_iter().flatten().next() {
            return Err(e.into());
        }
    }
    println!("{n} items loaded in {:.0} ms", start.elapsed().as_secs_f64() * 1e3);
    let order = shuffled(n, 7);
    let item_keys: Vec<Vec<u8>> = order.iter().map(|&i| encode_item(&key_object(i))).collect();
    let engine_keys = order.iter().map(|&i| def.key.engine_key(&key_object(i))).collect::<Result<Vec<_>, _>>()?;
    report(&db, "after the load", &item_keys, &engine_keys)?;
    db.compact()?;
    report(&db, "after compaction", &item_keys, &engine_keys)?;
    Ok(())
}
