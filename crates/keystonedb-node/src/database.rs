//! `NativeDb`: one open database as JavaScript holds it. Items cross as one encoded buffer each
//! (`item.rs` in the core crate); async methods run on the libuv thread pool, where the engine's
//! group commit merges concurrent writes, except small calls of plain writes, which run on the
//! handle's write thread (`writer.rs`); `getSync`/`querySync` serve reads on the calling thread.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use keystone_core::{BatchGet, Db, ReturnValues, TxGet, TxOutcome, UpdateRequest, WriteOutcome, WriteRequest};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use parking_lot::Mutex;

use crate::error::{closed, to_napi};
use crate::options::{durability_opt, spin, to_engine, NativeOptions};
use crate::params::{
    self, NativeBatchGet, NativeKeySchema, NativeOutcome, NativePage, NativeQuery, NativeScan, NativeSyncPage,
    NativeTableDescription, NativeTxAction, NativeTxGet, NativeTxOutcome, NativeUpdate, NativeWrite,
};
use crate::reader::{copy_out, Slot, TableReader};
use crate::stats::{self, NativeHealth, NativeStats, NativeVerifyReport};
use crate::writer::{WriteCall, WriteErrors, Writer};

/// `writeItemsNow` commits calls of up to this many packed bytes (a few dozen items) on the
/// JavaScript thread; larger calls go to the write thread, whose commit overlaps this thread's
/// encoding of the writes that follow.
const INLINE_MAX_BYTES: usize = 8 * 1024;

#[napi]
pub struct NativeDb {
    db: Slot,
    writer: Mutex<Writer>,
}

impl NativeDb {
    fn handle(&self) -> napi::Result<Db> {
        self.db.lock().clone().ok_or_else(closed)
    }
}

/// Runs a closure on the libuv thread pool and resolves with its result.
pub struct Job<T: Send + 'static, J: ToNapiValue + TypeName> {
    work: Option<Box<dyn FnOnce() -> keystone_core::Result<T> + Send>>,
    convert: fn(T) -> napi::Result<J>,
}

impl<T: Send + 'static, J: ToNapiValue + TypeName> Task for Job<T, J> {
    type Output = T;
    type JsValue = J;

    fn compute(&mut self) -> napi::Result<T> {
        let work = self.work.take().ok_or_else(|| to_napi(keystone_core::Error::validation("job ran twice")))?;
        work().map_err(to_napi)
    }

    fn resolve(&mut self, _env: Env, out: T) -> napi::Result<J> {
        (self.convert)(out)
    }
}

fn job<T: Send + 'static, J: ToNapiValue + TypeName>(
    work: impl FnOnce() -> keystone_core::Result<T> + Send + 'static,
    convert: fn(T) -> napi::Result<J>,
) -> AsyncTask<Job<T, J>> {
    AsyncTask::new(Job { work: Some(Box::new(work)), convert })
}

type ItemJob = AsyncTask<Job<Option<Vec<u8>>, Option<Buffer>>>;
type PageJob = AsyncTask<Job<keystone_core::Page, NativePage>>;
type BatchGetJob = AsyncTask<Job<Vec<Vec<Vec<u8>>>, Vec<Vec<Buffer>>>>;
type TableJob = AsyncTask<Job<std::sync::Arc<keystone_core::TableDef>, NativeTableDescription>>;
type UnitJob = AsyncTask<Job<(), ()>>;
type OpenJob = AsyncTask<Job<(Db, std::time::Duration), NativeDb>>;
type OutcomeJob = AsyncTask<Job<WriteOutcome, NativeOutcome>>;
type TxJob = AsyncTask<Job<TxOutcome, NativeTxOutcome>>;
type TxGetJob = AsyncTask<Job<Vec<Option<Vec<u8>>>, Vec<Option<Buffer>>>>;

/// A put's or delete's options, converted.
fn write_request(p: NativeWrite) -> napi::Result<WriteRequest> {
    Ok(WriteRequest {
        return_old: return_old(p.return_values.as_deref().unwrap_or("NONE"))?,
        condition: p.condition_expression,
        names: p.names.unwrap_or_default(),
        values: p.values.map(|v| v.to_vec()),
        return_old_on_condition_failure: params::on_failure(p.return_values_on_condition_check_failure.as_deref())?,
        durability: durability_opt(p.durability)?,
    })
}

fn unit(_: ()) -> napi::Result<()> {
    Ok(())
}

fn buffer(b: Option<Vec<u8>>) -> napi::Result<Option<Buffer>> {
    Ok(b.map(Buffer::from))
}

fn return_old(s: &str) -> napi::Result<bool> {
    match s {
        "NONE" => Ok(false),
        "ALL_OLD" => Ok(true),
        other => Err(crate::error::validation(format!("returnValues must be NONE or ALL_OLD here, not '{other}'"))),
    }
}

/// Opens (`mode` = "open"), creates ("create") or opens-or-creates ("openOrCreate") a database.
#[napi(ts_return_type = "Promise<NativeDb>")]
pub fn open_database(
    path: String,
    mode: String,
    options: Option<NativeOptions>,
    default_schema: Option<NativeKeySchema>,
) -> napi::Result<OpenJob> {
    crate::init_logging();
    let spin = spin(options.as_ref())?;
    let mut options = to_engine(options)?;
    options.default_table_key = default_schema.map(params::key_schema).transpose()?;
    let path = PathBuf::from(path);
    let open: fn(&std::path::Path, keystone_core::Options) -> keystone_core::Result<Db> = match mode.as_str() {
        "create" => Db::create,
        "open" => |p, o| Db::open(p, o, false),
        "openOrCreate" => |p, o| Db::open(p, o, true),
        other => return Err(crate::error::validation(format!("unknown open mode '{other}'"))),
    };
    Ok(job(
        move || open(&path, options).map(|db| (db, spin)),
        |(db, spin)| Ok(NativeDb { db: Arc::new(Mutex::new(Some(db))), writer: Mutex::new(Writer::new(spin)) }),
    ))
}

#[napi]
impl NativeDb {
    /// Puts and deletes, packed into one buffer by `PackedWrites` (src/codec.ts) with `tables`
    /// naming their tables. `atomic`: all or none (batchWrite). Otherwise each op succeeds or
    /// fails on its own (the writes of one tick); resolves with each op's error message or null.
    /// Every call runs on the handle's write thread (`writer.rs`).
    #[napi(ts_return_type = "Promise<Array<string | null>>")]
    pub fn write_items<'env>(
        &self,
        env: &'env Env,
        tables: Vec<String>,
        ops: &[u8],
        atomic: bool,
        durability: Option<String>,
    ) -> napi::Result<Object<'env>> {
        let db = self.handle()?;
        let durability = durability_opt(durability)?;
        let packed = ops.to_vec();
        let call = WriteCall { db, tables, packed, atomic, durability };
        self.writer.lock().submit(env, call)
    }

    /// `writeItems` of plain, not durable writes on this thread, when nothing of this handle is
    /// in flight and the engine can commit them without waiting (`Db::try_write_items_now`):
    /// each op's error message or null. `null` when the call must go the usual way instead;
    /// nothing was written then. A put awaited one at a time skips two thread hand-offs, each of
    /// which costs more than the commit on a virtual machine (see `writer.rs`).
    #[napi(ts_return_type = "Array<string | null> | null")]
    pub fn write_items_now(
        &self,
        tables: Vec<String>,
        ops: &[u8],
        durability: Option<String>,
    ) -> napi::Result<Option<WriteErrors>> {
        // A call still queued on the write thread must land first: writes apply in issue order.
        if ops.len() > INLINE_MAX_BYTES || !self.writer.lock().is_idle() {
            return Ok(None);
        }
        let db = self.handle()?;
        let durability = durability_opt(durability)?;
        let ops = params::unpack_writes(&tables, ops).map_err(to_napi)?;
        match db.try_write_items_now(ops, false, durability) {
            None => Ok(None),
            Some(Ok(errors)) => Ok(Some(errors.into_iter().map(|e| e.map(|e| e.to_string())).collect())),
            Some(Err(e)) => Err(to_napi(e)),
        }
    }

    /// Stores an encoded item: optionally only if a condition holds, optionally returning the
    /// replaced item.
    #[napi(ts_return_type = "Promise<NativeOutcome>")]
    pub fn put(&self, table: String, item: &[u8], params: NativeWrite) -> napi::Result<OutcomeJob> {
        let (db, item, req) = (self.handle()?, item.to_vec(), write_request(params)?);
        Ok(job(move || db.put_item(&table, &item, &req), params::outcome))
    }

    /// Deletes under an encoded key: optionally only if a condition holds, optionally returning
    /// the deleted item.
    #[napi(ts_return_type = "Promise<NativeOutcome>")]
    pub fn delete(&self, table: String, key: &[u8], params: NativeWrite) -> napi::Result<OutcomeJob> {
        let (db, key, req) = (self.handle()?, key.to_vec(), write_request(params)?);
        Ok(job(move || db.delete_item(&table, &key, &req), params::outcome))
    }

    /// Applies or cancels a write transaction.
    #[napi(ts_return_type = "Promise<NativeTxOutcome>")]
    pub fn transact_write(
        &self,
        actions: Vec<NativeTxAction>,
        client_request_token: Option<String>,
        durability: Option<String>,
    ) -> napi::Result<TxJob> {
        let db = self.handle()?;
        let actions = actions.into_iter().map(params::tx_action).collect::<napi::Result<Vec<_>>>()?;
        let durability = durability_opt(durability)?;
        Ok(job(move || db.transact_write(actions, client_request_token.as_deref(), durability), params::tx_outcome))
    }

    /// Reads items across tables at one snapshot; null where an item is missing.
    #[napi(ts_return_type = "Promise<Array<Buffer | null>>")]
    pub fn transact_get(&self, gets: Vec<NativeTxGet>) -> napi::Result<TxGetJob> {
        let db = self.handle()?;
        let gets: Vec<TxGet> = gets
            .into_iter()
            .map(|g| TxGet {
                table: g.table,
                key: g.key.to_vec(),
                projection: g.projection_expression,
                names: g.names.unwrap_or_default(),
            })
            .collect();
        Ok(job(move || db.transact_get(&gets), |items| Ok(items.into_iter().map(|i| i.map(Buffer::from)).collect())))
    }

    /// The encoded item under an encoded key, or null.
    #[napi(ts_return_type = "Promise<Buffer | null>")]
    pub fn get(
        &self,
        table: String,
        key: &[u8],
        projection: Option<String>,
        names: Option<HashMap<String, String>>,
    ) -> napi::Result<ItemJob> {
        let (db, key) = (self.handle()?, key.to_vec());
        Ok(job(move || db.get_item(&table, &key, projection.as_deref(), &names.unwrap_or_default()), buffer))
    }

    /// `get` on the calling thread: no thread hop, for data served from memory. The item is
    /// copied into `out` (`reader::copy_out`; an external buffer would cost a finalizer and a
    /// sweep). A read without projection takes `readBoundItem` instead (`reader.rs`).
    #[napi]
    pub fn get_sync(
        &self,
        table: String,
        key: &[u8],
        mut out: BufferSlice,
        projection: Option<String>,
        names: Option<HashMap<String, String>>,
    ) -> napi::Result<i64> {
        let db = self.handle()?;
        copy_out(
            db.get_item(&table, key, projection.as_deref(), &names.unwrap_or_default()).map_err(to_napi)?,
            &mut out,
        )
    }

    /// A reader of `table` for `readBoundItem`; it fails with `Closed` once this handle is closed.
    #[napi(ts_return_type = "ExternalObject<'TableReader'>")]
    pub fn table_reader(&self, table: String) -> napi::Result<External<TableReader>> {
        self.handle()?;
        Ok(External::new(TableReader::new(Arc::clone(&self.db), table)))
    }

    /// Applies an update expression; resolves with what `returnValues` asked for, or null.
    #[napi(ts_return_type = "Promise<NativeOutcome>")]
    pub fn update(&self, table: String, key: &[u8], params: NativeUpdate) -> napi::Result<OutcomeJob> {
        let (db, key) = (self.handle()?, key.to_vec());
        let req = UpdateRequest {
            expression: params.update_expression,
            condition: params.condition_expression,
            names: params.names.unwrap_or_default(),
            values: params.values.map(|v| v.to_vec()),
            return_values: ReturnValues::parse(params.return_values.as_deref().unwrap_or("NONE")).map_err(to_napi)?,
            return_old_on_condition_failure: params::on_failure(
                params.return_values_on_condition_check_failure.as_deref(),
            )?,
            durability: durability_opt(params.durability)?,
        };
        Ok(job(move || db.update_item(&table, &key, &req), params::outcome))
    }

    #[napi(ts_return_type = "Promise<NativePage>")]
    pub fn query(&self, table: String, params: NativeQuery) -> napi::Result<PageJob> {
        let db = self.handle()?;
        let q = params::query(params)?;
        Ok(job(move || db.query(&table, &q), params::page))
    }

    /// `query` on the calling thread, its items copied into `out` when they fit (`NativeSyncPage`).
    #[napi]
    pub fn query_sync(&self, table: String, params: NativeQuery, mut out: BufferSlice) -> napi::Result<NativeSyncPage> {
        let db = self.handle()?;
        params::sync_page(db.query(&table, &params::query(params)?).map_err(to_napi)?, &mut out)
    }

    #[napi(ts_return_type = "Promise<NativePage>")]
    pub fn scan(&self, table: String, params: NativeScan) -> napi::Result<PageJob> {
        let db = self.handle()?;
        let s = params::scan(params)?;
        Ok(job(move || db.scan(&table, &s), params::page))
    }

    /// Each request's found items, in request order, read at one snapshot.
    #[napi(ts_return_type = "Promise<Array<Array<Buffer>>>")]
    pub fn batch_get(&self, requests: Vec<NativeBatchGet>) -> napi::Result<BatchGetJob> {
        let db = self.handle()?;
        let requests: Vec<BatchGet> = requests
            .into_iter()
            .map(|r| BatchGet {
                table: r.table,
                keys: r.keys.into_iter().map(|k| k.to_vec()).collect(),
                projection: r.projection_expression,
                names: r.names.unwrap_or_default(),
            })
            .collect();
        Ok(job(
            move || db.batch_get(&requests),
            |out| Ok(out.into_iter().map(|items| items.into_iter().map(Buffer::from).collect()).collect()),
        ))
    }

    #[napi(ts_return_type = "Promise<NativeTableDescription>")]
    pub fn create_table(&self, name: String, schema: NativeKeySchema) -> napi::Result<TableJob> {
        let db = self.handle()?;
        let key = params::key_schema(schema)?;
        Ok(job(move || db.catalog()?.create(&db, &name, key), |d| Ok(params::describe(&d))))
    }

    #[napi]
    pub fn describe_table(&self, name: String) -> napi::Result<NativeTableDescription> {
        let db = self.handle()?;
        let def = db.catalog().and_then(|c| c.get(&name)).map_err(to_napi)?;
        Ok(params::describe(&def))
    }

    #[napi]
    pub fn list_tables(&self) -> napi::Result<Vec<String>> {
        Ok(self.handle()?.catalog().map_err(to_napi)?.names())
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn delete_table(&self, name: String) -> napi::Result<UnitJob> {
        let db = self.handle()?;
        Ok(job(move || db.catalog()?.delete(&db, &name).map(drop), unit))
    }

    /// Writes every memtable to SSTs now.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn flush(&self) -> napi::Result<UnitJob> {
        let db = self.handle()?;
        Ok(job(move || db.flush(), unit))
    }

    /// Flushes, then compacts every keyspace into one sorted run.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn compact(&self) -> napi::Result<UnitJob> {
        let db = self.handle()?;
        Ok(job(move || db.compact(), unit))
    }

    /// Reads every SST, WAL segment and the MANIFEST, checking every checksum.
    #[napi(ts_return_type = "Promise<NativeVerifyReport>")]
    pub fn verify(&self) -> napi::Result<AsyncTask<Job<keystone_core::VerifyReport, NativeVerifyReport>>> {
        let db = self.handle()?;
        Ok(job(move || db.verify(), |r| Ok(stats::verify_to_js(r))))
    }

    #[napi]
    pub fn stats(&self) -> napi::Result<NativeStats> {
        Ok(stats::to_js(self.handle()?.stats().map_err(to_napi)?))
    }

    #[napi]
    pub fn health(&self) -> napi::Result<NativeHealth> {
        Ok(stats::health_to_js(self.handle()?.health()))
    }

    /// Releases this handle. The engine closes (WAL synced, lock released) once every handle in
    /// the process, and every call still running, has let go of it.
    #[napi]
    pub fn close(&self) {
        self.db.lock().take();
        // The write thread settles the calls already queued, then ends.
        self.writer.lock().stop();
    }

    /// How long, in µs, a thread waiting for this handle's calls spins before it sleeps
    /// (`spinMicros`, or the default for this machine): JavaScript spins as long as the write thread.
    #[napi(getter)]
    pub fn spin_micros(&self) -> u32 {
        u32::try_from(self.writer.lock().spin().as_micros()).unwrap_or(u32::MAX)
    }

    /// Whether writes that choose no durability fsync before they are acknowledged.
    #[napi(getter)]
    pub fn sync_by_default(&self) -> napi::Result<bool> {
        Ok(self.handle()?.default_durability() == keystone_core::Durability::Sync)
    }

    #[napi(getter)]
    pub fn is_open(&self) -> bool {
        self.db.lock().is_some()
    }
}
