//! `readItem`: `getSync`'s path for a read without projection, as a plain function over an
//! external `TableReader` rather than a method of `NativeDb`.
//!
//! Why: in napi-rs v3 a class method costs ~0.25 µs per call before its body runs (unwrapping
//! the receiver and checking its type tag, a private-property lookup in V8), against ~0.04 µs
//! for a plain function; an external's check is a Rust type-id compare (~0.03 µs). Converting
//! the table name and two optional arguments costs another ~0.2 µs. A point read is ~4 µs in
//! all, so the method's overhead was a tenth of it (`bench/README.md`).
//!
//! A `TableReader` names one table of one handle. It shares the handle's database slot, so a
//! closed handle's reader fails with `Closed`, and it holds no database open itself. The table
//! is looked up by name on each read, so a deleted table reads as `ResourceNotFound` and one
//! created again under the name is the one read.

use std::collections::HashMap;
use std::sync::Arc;

use keystone_core::Db;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use parking_lot::Mutex;

use crate::error::{closed, to_napi, validation};

/// A handle's database: `None` once it is closed.
pub type Slot = Arc<Mutex<Option<Db>>>;

/// One table of one handle, for `readItem` (made by `NativeDb.tableReader`).
pub struct TableReader {
    db: Slot,
    table: String,
}

impl TableReader {
    pub fn new(db: Slot, table: String) -> TableReader {
        TableReader { db, table }
    }
}

/// `getSync` without projection: the item under an encoded key copied into `out` (see
/// `copy_out`). The slot's lock is held for the read: only this handle's JavaScript thread
/// takes it, and `close` on that thread cannot run meanwhile.
#[napi(ts_args_type = "reader: ExternalObject<'TableReader'>, key: Uint8Array, out: Buffer")]
pub fn read_item(reader: &External<TableReader>, key: &[u8], out: BufferSlice) -> napi::Result<i64> {
    let slot = reader.db.lock();
    let db = slot.as_ref().ok_or_else(closed)?;
    copy_out(db.get_item(&reader.table, key, None, &HashMap::new()).map_err(to_napi)?, out)
}

/// Copies `item` into `out`, a buffer JavaScript keeps and reuses, so no buffer is created per
/// call. Returns -1 when there is no item, else the item's length; a length past `out.length`
/// means nothing was copied and the caller retries with a buffer that large.
pub fn copy_out(item: Option<Vec<u8>>, mut out: BufferSlice) -> napi::Result<i64> {
    let Some(item) = item else { return Ok(-1) };
    if let Some(dest) = out.get_mut(..item.len()) {
        dest.copy_from_slice(&item);
    }
    i64::try_from(item.len()).map_err(|_| validation("an item is too large to return"))
}
