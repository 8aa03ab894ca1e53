//! `readBoundItem`: `getSync`'s path for a read without projection, as a plain function over an
//! external `TableReader` rather than a method of `NativeDb`, with no buffer argument.
//!
//! Why a plain function: in napi-rs v3 a class method costs ~0.25 µs per call before its body
//! runs (unwrapping the receiver and checking its type tag, a private-property lookup in V8),
//! against ~0.04 µs for a plain function; an external's check is a Rust type-id compare
//! (~0.03 µs). Converting the table name and two optional arguments costs another ~0.2 µs. A
//! point read is ~4 µs in all, so the method's overhead was a tenth of it (`bench/README.md`).
//!
//! Why no buffer argument: each buffer argument costs a lookup of its pointer and a borrow that
//! napi-rs registers in a process-wide table and releases after the call. JavaScript instead
//! binds its two reused buffers to the reader once (`bindReadBuffers`: the key's encoding, and
//! the item's copy), and again only when it replaces one; a read then passes the key's length.
//! The reader holds a reference to each bound buffer, so neither is collected while bound. As
//! lmdb-js does with its shared key and value buffers (`getBinaryFast`). Measured: gets/s
//! +4–9% with 1,000 items, +2–5% with 200,000, against two buffer arguments per read (the two
//! alternating in one process, 20 rounds of 100,000 each, 2 runs).
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

/// One table of one handle, for `readBoundItem` (made by `NativeDb.tableReader`).
pub struct TableReader {
    db: Slot,
    table: String,
    /// The buffers `readBoundItem` reads its key from and copies its item into.
    bound: Mutex<Option<Bound>>,
}

/// JavaScript's reused key and item buffers, held (each a reference, so neither is collected)
/// from `bindReadBuffers` until the next bind or until the reader is collected.
struct Bound {
    key: Buffer,
    out: Buffer,
}

impl TableReader {
    pub fn new(db: Slot, table: String) -> TableReader {
        TableReader { db, table, bound: Mutex::new(None) }
    }
}

/// Binds the buffers `readBoundItem` uses: the encoded key is read from the start of `key`, the
/// item copied into `out`. JavaScript binds again whenever it replaces either buffer.
#[napi(ts_args_type = "reader: ExternalObject<'TableReader'>, key: Buffer, out: Buffer")]
pub fn bind_read_buffers(reader: &External<TableReader>, key: Buffer, out: Buffer) {
    *reader.bound.lock() = Some(Bound { key, out });
}

/// `getSync` without projection: the item under the encoded key in the first `key_length` bytes
/// of the bound key buffer, copied into the bound item buffer (see `copy_out`). The slot's lock
/// is held for the read: only this handle's JavaScript thread takes it, and `close` on that
/// thread cannot run meanwhile.
#[napi(ts_args_type = "reader: ExternalObject<'TableReader'>, keyLength: number")]
pub fn read_bound_item(reader: &External<TableReader>, key_length: u32) -> napi::Result<i64> {
    let mut bound = reader.bound.lock();
    let Some(Bound { key, out }) = bound.as_mut() else {
        return Err(validation("readBoundItem needs bindReadBuffers first"));
    };
    let Some(key) = usize::try_from(key_length).ok().and_then(|n| key.get(..n)) else {
        return Err(validation("the key length is past the end of the bound key buffer"));
    };
    let slot = reader.db.lock();
    let db = slot.as_ref().ok_or_else(closed)?;
    copy_out(db.get_item(&reader.table, key, None, &HashMap::new()).map_err(to_napi)?, out)
}

/// Copies `item` into `out`, a buffer JavaScript keeps and reuses, so no buffer is created per
/// call. Returns -1 when there is no item, else the item's length; a length past `out.length`
/// means nothing was copied and the caller retries with a buffer that large.
pub fn copy_out(item: Option<Vec<u8>>, out: &mut [u8]) -> napi::Result<i64> {
    let Some(item) = item else { return Ok(-1) };
    if let Some(dest) = out.get_mut(..item.len()) {
        dest.copy_from_slice(&item);
    }
    i64::try_from(item.len()).map_err(|_| validation("an item is too large to return"))
}
