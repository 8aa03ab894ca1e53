//! Request and result objects of the data-model calls, converted between JavaScript and the
//! engine. Expression attribute values and keys cross as encoded items (`Buffer`).

use std::collections::HashMap;

use keystone_core::{
    KeyAttribute, KeySchema, KeyType, Page, QueryRequest, ReadRequest, ScanRequest, Select, TableDef, TxAction, TxKind,
    TxOutcome, WriteOp, WriteOutcome,
};
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;

use crate::error::{to_napi, validation};

#[napi(object)]
pub struct NativeKeyAttribute {
    pub name: String,
    #[napi(js_name = "type", ts_type = "'S' | 'N' | 'B'")]
    pub key_type: String,
}

#[napi(object)]
pub struct NativeKeySchema {
    pub partition_key: NativeKeyAttribute,
    pub sort_key: Option<NativeKeyAttribute>,
}

#[napi(object)]
pub struct NativeTableDescription {
    pub table_name: String,
    pub partition_key: NativeKeyAttribute,
    pub sort_key: Option<NativeKeyAttribute>,
    /// Milliseconds since the Unix epoch.
    pub creation_date_time: f64,
}

/// Unpacks the writes `PackedWrites` (src/codec.ts) packed: per write `table: u32 LE (index into
/// tables) | kind: u8 (1 put, 0 delete) | length: u32 LE | item`. Damage is a validation error.
/// Runs on the pool thread, so the JavaScript thread only copies the buffer.
pub fn unpack_writes(tables: &[String], mut packed: &[u8]) -> keystone_core::Result<Vec<WriteOp>> {
    let bad = |what: &str| keystone_core::Error::validation(format!("packed writes are malformed: {what}"));
    let u32_at = |b: &[u8], at: usize| b.get(at..at + 4).and_then(|s| s.try_into().ok()).map(u32::from_le_bytes);
    // A typical write (9-byte header and item) takes 64 bytes or more; smaller ones grow it.
    let mut ops = Vec::with_capacity(packed.len() / 64);
    let tables: Vec<std::sync::Arc<str>> = tables.iter().map(|t| std::sync::Arc::from(t.as_str())).collect();
    while !packed.is_empty() {
        let (Some(table), Some(&kind), Some(len)) = (u32_at(packed, 0), packed.get(4), u32_at(packed, 5)) else {
            return Err(bad("a write's header is cut short"));
        };
        let table = tables.get(table as usize).ok_or_else(|| bad("a table index is out of range"))?;
        let put = match kind {
            1 => true,
            0 => false,
            _ => return Err(bad("a write's kind is neither put nor delete")),
        };
        let end = 9usize.checked_add(len as usize).filter(|&e| e <= packed.len());
        let (Some(data), Some(rest)) = (end.and_then(|e| packed.get(9..e)), end.and_then(|e| packed.get(e..))) else {
            return Err(bad("an item is cut short"));
        };
        ops.push(WriteOp { table: std::sync::Arc::clone(table), data: data.to_vec(), put });
        packed = rest;
    }
    Ok(ops)
}

#[napi(object)]
pub struct NativeUpdate {
    pub update_expression: String,
    pub condition_expression: Option<String>,
    pub names: Option<HashMap<String, String>>,
    pub values: Option<Buffer>,
    pub return_values: Option<String>,
    pub return_values_on_condition_check_failure: Option<String>,
    pub durability: Option<String>,
}

/// Options of a put or delete.
#[napi(object)]
pub struct NativeWrite {
    pub return_values: Option<String>,
    pub condition_expression: Option<String>,
    pub names: Option<HashMap<String, String>>,
    pub values: Option<Buffer>,
    pub return_values_on_condition_check_failure: Option<String>,
    pub durability: Option<String>,
}

/// How a put, delete or update ended: `attributes` holds what returnValues asked for or, when
/// `conditionFailed`, the current item if returnValuesOnConditionCheckFailure asked for it.
#[napi(object)]
pub struct NativeOutcome {
    pub condition_failed: bool,
    pub attributes: Option<Buffer>,
}

#[napi(object)]
pub struct NativeTxAction {
    pub table: String,
    #[napi(ts_type = "'put' | 'update' | 'delete' | 'conditionCheck'")]
    pub kind: String,
    /// The item (put) or the key (the others), encoded.
    pub data: Buffer,
    pub update_expression: Option<String>,
    pub condition_expression: Option<String>,
    pub names: Option<HashMap<String, String>>,
    pub values: Option<Buffer>,
    pub return_values_on_condition_check_failure: Option<String>,
}

#[napi(object)]
pub struct NativeTxReason {
    pub code: String,
    pub message: Option<String>,
    pub item: Option<Buffer>,
}

#[napi(object)]
pub struct NativeTxOutcome {
    pub canceled: bool,
    pub reasons: Vec<NativeTxReason>,
}

#[napi(object)]
pub struct NativeTxGet {
    pub table: String,
    pub key: Buffer,
    pub projection_expression: Option<String>,
    pub names: Option<HashMap<String, String>>,
}

#[napi(object)]
pub struct NativeQuery {
    pub key_condition_expression: String,
    pub filter_expression: Option<String>,
    pub projection_expression: Option<String>,
    pub names: Option<HashMap<String, String>>,
    pub values: Option<Buffer>,
    pub scan_index_forward: Option<bool>,
    pub limit: Option<u32>,
    pub exclusive_start_key: Option<Buffer>,
    pub select: Option<String>,
}

#[napi(object)]
pub struct NativeScan {
    pub filter_expression: Option<String>,
    pub projection_expression: Option<String>,
    pub names: Option<HashMap<String, String>>,
    pub values: Option<Buffer>,
    pub limit: Option<u32>,
    pub exclusive_start_key: Option<Buffer>,
    pub segment: Option<u32>,
    pub total_segments: Option<u32>,
    pub select: Option<String>,
}

#[napi(object)]
pub struct NativeBatchGet {
    pub table: String,
    pub keys: Vec<Buffer>,
    pub projection_expression: Option<String>,
    pub names: Option<HashMap<String, String>>,
}

#[napi(object)]
pub struct NativePage {
    /// Items as `varint length | encoded item`, back to back.
    pub items: Buffer,
    pub count: u32,
    pub scanned_count: u32,
    pub last_evaluated_key: Option<Buffer>,
}

/// `querySync`'s page. Its items are copied into the buffer the caller passed, which JavaScript
/// keeps and reuses, when they fit: `itemsLength` bytes of it. Only a page larger than that
/// buffer comes back as a buffer of its own, in `items`. A new buffer per page was an external
/// buffer that V8 freed only at a later collection, so the pages' memory went back to the
/// system and was faulted in again: zeroing fresh pages took 12% of a 100-item query.
#[napi(object)]
pub struct NativeSyncPage {
    pub items_length: u32,
    pub items: Option<Buffer>,
    pub count: u32,
    pub scanned_count: u32,
    pub last_evaluated_key: Option<Buffer>,
}

pub fn sync_page(p: Page, out: &mut [u8]) -> napi::Result<NativeSyncPage> {
    let items_length =
        u32::try_from(p.items.len()).map_err(|_| validation("a page of items is too large to return"))?;
    let items = match out.get_mut(..p.items.len()) {
        Some(dest) => {
            dest.copy_from_slice(&p.items);
            None
        }
        None => Some(Buffer::from(p.items)),
    };
    Ok(NativeSyncPage {
        items_length,
        items,
        count: p.count,
        scanned_count: p.scanned_count,
        last_evaluated_key: p.last_evaluated_key.map(Buffer::from),
    })
}

fn attribute(a: NativeKeyAttribute) -> napi::Result<KeyAttribute> {
    Ok(KeyAttribute { name: a.name, key_type: KeyType::parse(&a.key_type).map_err(to_napi)? })
}

pub fn key_schema(s: NativeKeySchema) -> napi::Result<KeySchema> {
    Ok(KeySchema { partition: attribute(s.partition_key)?, sort: s.sort_key.map(attribute).transpose()? })
}

fn js_attribute(a: &KeyAttribute) -> NativeKeyAttribute {
    NativeKeyAttribute { name: a.name.clone(), key_type: a.key_type.as_str().to_string() }
}

pub fn describe(d: &TableDef) -> NativeTableDescription {
    NativeTableDescription {
        table_name: d.name.clone(),
        partition_key: js_attribute(&d.key.partition),
        sort_key: d.key.sort.as_ref().map(js_attribute),
        creation_date_time: d.created_at_ms as f64,
    }
}

fn read(
    filter: Option<String>,
    projection: Option<String>,
    names: Option<HashMap<String, String>>,
    values: Option<Buffer>,
    limit: Option<u32>,
    start: Option<Buffer>,
    select: Option<String>,
) -> napi::Result<ReadRequest> {
    if limit == Some(0) {
        return Err(validation("limit must be at least 1"));
    }
    Ok(ReadRequest {
        filter,
        projection,
        names: names.unwrap_or_default(),
        values: values.map(|v| v.to_vec()),
        limit: limit.map(|l| l as usize),
        exclusive_start_key: start.map(|s| s.to_vec()),
        select: Select::parse(select.as_deref()).map_err(to_napi)?,
    })
}

pub fn query(q: NativeQuery) -> napi::Result<QueryRequest> {
    Ok(QueryRequest {
        key_condition: q.key_condition_expression,
        forward: q.scan_index_forward.unwrap_or(true),
        read: read(
            q.filter_expression,
            q.projection_expression,
            q.names,
            q.values,
            q.limit,
            q.exclusive_start_key,
            q.select,
        )?,
    })
}

pub fn scan(s: NativeScan) -> napi::Result<ScanRequest> {
    let segment = match (s.segment, s.total_segments) {
        (None, None) => None,
        (Some(seg), Some(total)) => Some((seg, total)),
        _ => return Err(validation("segment and totalSegments go together: give both or neither")),
    };
    Ok(ScanRequest {
        segment,
        read: read(
            s.filter_expression,
            s.projection_expression,
            s.names,
            s.values,
            s.limit,
            s.exclusive_start_key,
            s.select,
        )?,
    })
}

pub fn page(p: Page) -> napi::Result<NativePage> {
    Ok(NativePage {
        items: Buffer::from(p.items),
        count: p.count,
        scanned_count: p.scanned_count,
        last_evaluated_key: p.last_evaluated_key.map(Buffer::from),
    })
}

/// `returnValuesOnConditionCheckFailure`: NONE (default) or ALL_OLD.
pub fn on_failure(s: Option<&str>) -> napi::Result<bool> {
    match s {
        None | Some("NONE") => Ok(false),
        Some("ALL_OLD") => Ok(true),
        Some(other) => {
            Err(validation(format!("returnValuesOnConditionCheckFailure must be NONE or ALL_OLD, not '{other}'")))
        }
    }
}

pub fn outcome(o: WriteOutcome) -> napi::Result<NativeOutcome> {
    Ok(match o {
        WriteOutcome::Done(a) => NativeOutcome { condition_failed: false, attributes: a.map(Buffer::from) },
        WriteOutcome::ConditionFailed(a) => NativeOutcome { condition_failed: true, attributes: a.map(Buffer::from) },
    })
}

pub fn tx_action(a: NativeTxAction) -> napi::Result<TxAction> {
    let data = a.data.to_vec();
    let kind = match (a.kind.as_str(), a.update_expression) {
        ("put", None) => TxKind::Put(data),
        ("update", Some(e)) => TxKind::Update(data, e),
        ("update", None) => return Err(validation("an update action needs an updateExpression")),
        ("delete", None) => TxKind::Delete(data),
        ("conditionCheck", None) => TxKind::ConditionCheck(data),
        (k, Some(_)) if k != "update" => return Err(validation(format!("a {k} action takes no updateExpression"))),
        (other, _) => return Err(validation(format!("unknown transaction action '{other}'"))),
    };
    Ok(TxAction {
        table: a.table,
        kind,
        condition: a.condition_expression,
        names: a.names.unwrap_or_default(),
        values: a.values.map(|v| v.to_vec()),
        return_old_on_condition_failure: on_failure(a.return_values_on_condition_check_failure.as_deref())?,
    })
}

pub fn tx_outcome(o: TxOutcome) -> napi::Result<NativeTxOutcome> {
    Ok(match o {
        TxOutcome::Committed => NativeTxOutcome { canceled: false, reasons: Vec::new() },
        TxOutcome::Canceled(reasons) => NativeTxOutcome {
            canceled: true,
            reasons: reasons
                .into_iter()
                .map(|r| NativeTxReason {
                    code: r.code.to_string(),
                    message: r.message,
                    item: r.item.map(Buffer::from),
                })
                .collect(),
        },
    })
}
