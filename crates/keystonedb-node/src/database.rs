//! `NativeDb`: one open database as JavaScript holds it. Items cross as one encoded buffer each
//! (`item.rs` in the core crate); async methods run on the libuv thread pool, where the engine's
//! group commit merges concurrent writes; `getSync` serves reads on the calling thread.

use std::path::PathBuf;

use keystone_core::{decode_item, Db, Durability, KeySchema, DEFAULT_TABLE_KEYSPACE};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use parking_lot::Mutex;

use crate::error::{closed, to_napi};
use crate::options::{durability_opt, to_engine, NativeOptions};
use crate::stats::{self, NativeHealth, NativeStats};

#[napi]
pub struct NativeDb {
    db: Mutex<Option<Db>>,
}

impl NativeDb {
    fn handle(&self) -> napi::Result<Db> {
        self.db.lock().clone().ok_or_else(closed)
    }
}

/// The engine key of the default table for an encoded item or key object.
fn default_table_key(encoded: &[u8]) -> napi::Result<Vec<u8>> {
    let item = decode_item(encoded).map_err(to_napi)?;
    KeySchema::default_table().engine_key(&item).map_err(to_napi)
}

pub enum OpenMode {
    Create,
    Open,
    OpenOrCreate,
}

pub struct OpenTask {
    path: PathBuf,
    options: keystone_core::Options,
    mode: OpenMode,
}

impl Task for OpenTask {
    type Output = Db;
    type JsValue = NativeDb;

    fn compute(&mut self) -> napi::Result<Db> {
        let options = self.options.clone();
        match self.mode {
            OpenMode::Create => Db::create(&self.path, options),
            OpenMode::Open => Db::open(&self.path, options, false),
            OpenMode::OpenOrCreate => Db::open(&self.path, options, true),
        }
        .map_err(to_napi)
    }

    fn resolve(&mut self, _env: Env, db: Db) -> napi::Result<NativeDb> {
        Ok(NativeDb { db: Mutex::new(Some(db)) })
    }
}

/// Opens (`mode` = "open"), creates ("create") or opens-or-creates ("openOrCreate") a database.
#[napi(ts_return_type = "Promise<NativeDb>")]
pub fn open_database(path: String, mode: String, options: Option<NativeOptions>) -> napi::Result<AsyncTask<OpenTask>> {
    crate::init_logging();
    let mode = match mode.as_str() {
        "create" => OpenMode::Create,
        "open" => OpenMode::Open,
        "openOrCreate" => OpenMode::OpenOrCreate,
        other => return Err(crate::error::validation(format!("unknown open mode '{other}'"))),
    };
    Ok(AsyncTask::new(OpenTask { path: PathBuf::from(path), options: to_engine(options)?, mode }))
}

pub struct PutTask {
    db: Db,
    item: Vec<u8>,
    durability: Option<Durability>,
}

impl Task for PutTask {
    type Output = ();
    type JsValue = ();

    fn compute(&mut self) -> napi::Result<()> {
        let key = default_table_key(&self.item)?;
        let value = std::mem::take(&mut self.item);
        self.db.put(DEFAULT_TABLE_KEYSPACE, key, value, self.durability).map(drop).map_err(to_napi)
    }

    fn resolve(&mut self, _env: Env, _: ()) -> napi::Result<()> {
        Ok(())
    }
}

pub struct DeleteTask {
    db: Db,
    key: Vec<u8>,
    durability: Option<Durability>,
}

impl Task for DeleteTask {
    type Output = ();
    type JsValue = ();

    fn compute(&mut self) -> napi::Result<()> {
        let key = default_table_key(&self.key)?;
        self.db.delete(DEFAULT_TABLE_KEYSPACE, key, self.durability).map(drop).map_err(to_napi)
    }

    fn resolve(&mut self, _env: Env, _: ()) -> napi::Result<()> {
        Ok(())
    }
}

/// Flush (`compact` = false) or full compaction (true), off the event loop.
pub struct MaintenanceTask {
    db: Db,
    compact: bool,
}

impl Task for MaintenanceTask {
    type Output = ();
    type JsValue = ();

    fn compute(&mut self) -> napi::Result<()> {
        if self.compact { self.db.compact() } else { self.db.flush() }.map_err(to_napi)
    }

    fn resolve(&mut self, _env: Env, _: ()) -> napi::Result<()> {
        Ok(())
    }
}

pub struct GetTask {
    db: Db,
    key: Vec<u8>,
}

impl Task for GetTask {
    type Output = Option<Vec<u8>>;
    type JsValue = Option<Buffer>;

    fn compute(&mut self) -> napi::Result<Option<Vec<u8>>> {
        let key = default_table_key(&self.key)?;
        self.db.get(DEFAULT_TABLE_KEYSPACE, &key).map_err(to_napi)
    }

    fn resolve(&mut self, _env: Env, out: Option<Vec<u8>>) -> napi::Result<Option<Buffer>> {
        Ok(out.map(Buffer::from))
    }
}

#[napi]
impl NativeDb {
    /// Stores an encoded item in the default table.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn put(&self, item: &[u8], durability: Option<String>) -> napi::Result<AsyncTask<PutTask>> {
        Ok(AsyncTask::new(PutTask { db: self.handle()?, item: item.to_vec(), durability: durability_opt(durability)? }))
    }

    /// The encoded item under an encoded key, or null.
    #[napi(ts_return_type = "Promise<Buffer | null>")]
    pub fn get(&self, key: &[u8]) -> napi::Result<AsyncTask<GetTask>> {
        Ok(AsyncTask::new(GetTask { db: self.handle()?, key: key.to_vec() }))
    }

    /// `get` on the calling thread: no thread hop, for data served from memory.
    #[napi]
    pub fn get_sync(&self, key: &[u8]) -> napi::Result<Option<Buffer>> {
        let db = self.handle()?;
        let key = default_table_key(key)?;
        Ok(db.get(DEFAULT_TABLE_KEYSPACE, &key).map_err(to_napi)?.map(Buffer::from))
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn delete(&self, key: &[u8], durability: Option<String>) -> napi::Result<AsyncTask<DeleteTask>> {
        Ok(AsyncTask::new(DeleteTask {
            db: self.handle()?,
            key: key.to_vec(),
            durability: durability_opt(durability)?,
        }))
    }

    /// Writes every memtable to SSTs now.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn flush(&self) -> napi::Result<AsyncTask<MaintenanceTask>> {
        Ok(AsyncTask::new(MaintenanceTask { db: self.handle()?, compact: false }))
    }

    /// Flushes, then compacts every keyspace into one sorted run.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn compact(&self) -> napi::Result<AsyncTask<MaintenanceTask>> {
        Ok(AsyncTask::new(MaintenanceTask { db: self.handle()?, compact: true }))
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
    }

    #[napi(getter)]
    pub fn is_open(&self) -> bool {
        self.db.lock().is_some()
    }
}
