//! Options as JavaScript passes them, converted to the engine's.

use keystone_core::{Durability, Options};
use napi_derive::napi;

use crate::error::validation;

/// Engine options. Field names and meanings are documented on `DatabaseOptions` in
/// `src/options.ts`; unset fields keep the engine's defaults.
#[napi(object)]
pub struct NativeOptions {
    pub durability: Option<String>,
    pub sync_interval_ms: Option<u32>,
    pub wal_segment_bytes: Option<f64>,
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

pub fn to_engine(o: Option<NativeOptions>) -> napi::Result<Options> {
    let mut out = Options::default();
    let Some(o) = o else { return Ok(out) };
    if let Some(d) = o.durability {
        out.durability = durability(&d)?;
    }
    if let Some(ms) = o.sync_interval_ms {
        if ms == 0 {
            return Err(validation("syncIntervalMs must be at least 1"));
        }
        out.sync_interval_ms = u64::from(ms);
    }
    if let Some(b) = o.wal_segment_bytes {
        if !(4096.0..=1e12).contains(&b) {
            return Err(validation("walSegmentBytes must be a number of bytes between 4096 and 1e12"));
        }
        out.wal_segment_bytes = b as u64;
    }
    Ok(out)
}
