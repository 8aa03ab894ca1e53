//! Options as JavaScript passes them, converted to the engine's. Every field is optional and
//! documented on `DatabaseOptions` in `src/options.ts`; unset fields keep the engine's defaults.

use std::time::Duration;

use keystone_core::{Compression, Durability, Options};
use napi_derive::napi;

use crate::error::validation;

#[napi(object)]
pub struct NativeCompactionOptions {
    pub enabled: Option<bool>,
    pub l0_trigger: Option<u32>,
    pub check_interval_ms: Option<u32>,
    pub max_concurrent: Option<u32>,
}

#[napi(object)]
pub struct NativeOptions {
    pub durability: Option<String>,
    pub sync_interval_ms: Option<u32>,
    pub wal_segment_bytes: Option<f64>,
    pub memtable_budget_bytes: Option<f64>,
    pub block_size_bytes: Option<u32>,
    pub bloom_false_positive_rate: Option<f64>,
    pub compression: Option<String>,
    pub block_cache_bytes: Option<f64>,
    pub max_open_files: Option<u32>,
    pub target_file_bytes: Option<f64>,
    pub level_base_bytes: Option<f64>,
    pub l0_stop_trigger: Option<u32>,
    pub obsolete_file_retention_ms: Option<f64>,
    pub compaction: Option<NativeCompactionOptions>,
    /// Not an engine option: how long the binding's waiting threads spin (`spin`).
    pub spin_micros: Option<u32>,
}

/// Longest spin an application may ask for: past a few fsyncs, sleeping costs nothing measurable.
const MAX_SPIN_MICROS: u32 = 10_000;
/// The spin when the application sets none: a durable put's round trip on a 2-vCPU virtual
/// machine, so the thread that awaits it is still awake when it ends (`writer.rs`).
const DEFAULT_SPIN_MICROS: u64 = 200;

/// How long a thread that waits for this handle's calls keeps polling before it sleeps: the
/// write thread after each call here, JavaScript's thread while a call runs (`src/session.ts`).
/// By default none with one CPU, where a spinning thread takes the CPU from the one it waits for.
pub fn spin(o: Option<&NativeOptions>) -> napi::Result<Duration> {
    match o.and_then(|o| o.spin_micros) {
        Some(us) if us > MAX_SPIN_MICROS => {
            Err(validation(format!("spinMicros must be a whole number from 0 to {MAX_SPIN_MICROS}, not {us}")))
        }
        Some(us) => Ok(Duration::from_micros(u64::from(us))),
        None if std::thread::available_parallelism().map_or(1, |n| n.get()) > 1 => {
            Ok(Duration::from_micros(DEFAULT_SPIN_MICROS))
        }
        None => Ok(Duration::ZERO),
    }
}

pub fn durability(s: &str) -> napi::Result<Durability> {
    match s {
        "sync" => Ok(Durability::Sync),
        "buffered" => Ok(Durability::Buffered),
        "none" => Ok(Durability::None),
        other => Err(validation(format!("durability must be 'sync', 'buffered' or 'none', not '{other}'"))),
    }
}

pub fn durability_opt(s: Option<String>) -> napi::Result<Option<Durability>> {
    s.as_deref().map(durability).transpose()
}

/// A whole number of bytes (or milliseconds) within `min..=max`.
fn whole(name: &str, v: f64, min: f64, max: f64) -> napi::Result<u64> {
    if v.fract() != 0.0 || !(min..=max).contains(&v) {
        return Err(validation(format!("{name} must be a whole number from {min} to {max}, not {v}")));
    }
    Ok(v as u64)
}

fn at_least(name: &str, v: u32, min: u32) -> napi::Result<u32> {
    if v < min {
        return Err(validation(format!("{name} must be at least {min}, not {v}")));
    }
    Ok(v)
}

pub fn to_engine(o: Option<NativeOptions>) -> napi::Result<Options> {
    let mut out = Options::default();
    let Some(o) = o else { return Ok(out) };
    const TB: f64 = 1e12;
    if let Some(d) = o.durability {
        out.durability = durability(&d)?;
    }
    if let Some(ms) = o.sync_interval_ms {
        out.sync_interval_ms = u64::from(at_least("syncIntervalMs", ms, 1)?);
    }
    if let Some(b) = o.wal_segment_bytes {
        out.wal_segment_bytes = whole("walSegmentBytes", b, 4096.0, TB)?;
    }
    if let Some(b) = o.memtable_budget_bytes {
        out.memtable_budget_bytes = whole("memtableBudgetBytes", b, 64.0 * 1024.0, TB)?;
    }
    if let Some(b) = o.block_size_bytes {
        out.block_size_bytes = at_least("blockSizeBytes", b, 256)? as usize;
    }
    if let Some(r) = o.bloom_false_positive_rate {
        if !(r > 0.0 && r < 1.0) {
            return Err(validation(format!("bloomFalsePositiveRate must be between 0 and 1 (exclusive), not {r}")));
        }
        out.bloom_false_positive_rate = r;
    }
    if let Some(c) = o.compression {
        out.compression = match c.as_str() {
            "none" => Compression::None,
            "lz4" => Compression::Lz4,
            "zstd" => Compression::Zstd,
            other => return Err(validation(format!("compression must be 'none', 'lz4' or 'zstd', not '{other}'"))),
        };
    }
    if let Some(b) = o.block_cache_bytes {
        out.block_cache_bytes = whole("blockCacheBytes", b, 0.0, TB)?;
    }
    if let Some(n) = o.max_open_files {
        out.max_open_files = at_least("maxOpenFiles", n, 1)? as usize;
    }
    if let Some(b) = o.target_file_bytes {
        out.target_file_bytes = whole("targetFileBytes", b, 4096.0, TB)?;
    }
    if let Some(b) = o.level_base_bytes {
        out.level_base_bytes = whole("levelBaseBytes", b, 4096.0, TB)?;
    }
    if let Some(n) = o.l0_stop_trigger {
        out.l0_stop_trigger = at_least("l0StopTrigger", n, 2)? as usize;
    }
    if let Some(ms) = o.obsolete_file_retention_ms {
        out.obsolete_file_retention_ms = whole("obsoleteFileRetentionMs", ms, 0.0, 1e10)?;
    }
    if let Some(c) = o.compaction {
        if let Some(e) = c.enabled {
            out.compaction.enabled = e;
        }
        if let Some(n) = c.l0_trigger {
            out.compaction.l0_trigger = at_least("compaction.l0Trigger", n, 1)? as usize;
        }
        if let Some(ms) = c.check_interval_ms {
            out.compaction.check_interval_ms = u64::from(at_least("compaction.checkIntervalMs", ms, 1)?);
        }
        if let Some(n) = c.max_concurrent {
            out.compaction.max_concurrent = at_least("compaction.maxConcurrent", n, 1)? as usize;
        }
    }
    if out.l0_stop_trigger <= out.compaction.l0_trigger {
        return Err(validation(format!(
            "l0StopTrigger ({}) must be greater than compaction.l0Trigger ({})",
            out.l0_stop_trigger, out.compaction.l0_trigger
        )));
    }
    Ok(out)
}
