//! Boundary probes: the same item crossing JS↔Rust two ways, so `bench/boundary.mjs` can
//! measure which is faster (docs/ARCHITECTURE.md records the figures). Not part of the API.
//!
//! - object: napi walks the JS object property by property (`serde_json::Value`), and builds
//!   one the same way on the way back;
//! - buffer: JavaScript encodes the item once (`src/codec.ts`), Rust decodes the bytes, and
//!   on the way back Rust hands over the stored bytes, which JavaScript decodes.

use keystone_core::{decode_item, Value};
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use serde_json::Value as Json;

use crate::error::{to_napi, validation};

fn from_json(v: &Json) -> napi::Result<Value> {
    Ok(match v {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => Value::N(n.to_string()),
        Json::String(s) => Value::S(s.clone()),
        Json::Array(a) => Value::L(a.iter().map(from_json).collect::<napi::Result<_>>()?),
        Json::Object(o) => {
            Value::M(o.iter().map(|(k, v)| Ok((k.clone(), from_json(v)?))).collect::<napi::Result<_>>()?)
        }
    })
}

fn to_json(v: &Value) -> Json {
    match v {
        Value::S(s) => Json::String(s.clone()),
        Value::N(n) => n.parse::<f64>().ok().and_then(serde_json::Number::from_f64).map_or(Json::Null, Json::Number),
        Value::B(b) => Json::Array(b.iter().map(|x| Json::from(*x)).collect()),
        Value::Bool(b) => Json::Bool(*b),
        Value::Null => Json::Null,
        Value::M(m) => Json::Object(m.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
        Value::L(l) => Json::Array(l.iter().map(to_json).collect()),
        Value::Ss(s) => Json::Array(s.iter().map(|x| Json::String(x.clone())).collect()),
        Value::Ns(s) => Json::Array(s.iter().map(|x| Json::String(x.clone())).collect()),
        Value::Bs(s) => {
            Json::Array(s.iter().map(|b| Json::Array(b.iter().map(|x| Json::from(*x)).collect())).collect())
        }
    }
}

/// JS object → item, by property walk. Returns the attribute count.
#[napi]
pub fn probe_item_from_object(item: serde_json::Value) -> napi::Result<u32> {
    match from_json(&item)? {
        Value::M(m) => Ok(m.len() as u32),
        _ => Err(validation("an item must be an object")),
    }
}

/// Encoded item → item. Returns the attribute count.
#[napi]
pub fn probe_item_from_buffer(item: &[u8]) -> napi::Result<u32> {
    Ok(decode_item(item).map_err(to_napi)?.len() as u32)
}

/// Item → JS object, built property by property.
#[napi]
pub fn probe_object_from_item(item: &[u8]) -> napi::Result<serde_json::Value> {
    let item = decode_item(item).map_err(to_napi)?;
    Ok(Json::Object(item.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()))
}

/// Stored item → the same bytes, for JavaScript to decode (what `get` does: the engine never
/// decodes an item it only returns).
#[napi]
pub fn probe_buffer_from_item(item: &[u8]) -> Buffer {
    Buffer::from(item.to_vec())
}
