//! The engine of one database directory: open and recovery, the write path (group commit into
//! the WAL, then the memtable) and the read path.
//!
//! Concurrency contract: a [`Db`] is a cheap handle; clones share one engine. Every method may be
//! called from any thread. Writes serialize through the commit queue (`commit.rs`); reads take
//! no lock and read at the last fully applied sequence number. Inside one process a registry
//! keyed by canonical path hands every opener the same engine (worker threads share it and its
//! lock); the engine closes when its last handle is dropped.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use crate::batch::{Keyspace, WriteBatch};
use crate::commit::CommitQueue;
use crate::error::{Error, ErrorCode, Result};
use crate::lock::DirLock;
use crate::memtable::{Lookup, Memtable};
use crate::options::{Durability, Options};
use crate::wal::{self, WalWriter};

struct Pending {
    batch: WriteBatch,
    durability: Durability,
}

struct Inner {
    dir: PathBuf,
    options: Options,
    memtable: Memtable,
    /// Owned by the commit leader; the syncer only borrows the file handle.
    wal: Mutex<WalWriter>,
    commit: CommitQueue<Pending>,
    /// Next sequence number to assign. Commit leader only.
    next_seq: AtomicU64,
    /// Every write with a sequence number ≤ this is in the memtable: the read snapshot.
    visible_seq: AtomicU64,
    /// Set when a WAL write or fsync failed; writes are refused until reopen.
    poisoned: Mutex<Option<String>>,
    /// Buffered writes not yet fsynced.
    dirty: AtomicBool,
    stop: Mutex<bool>,
    stop_signal: Condvar,
    /// Released at close while the registry is held, so a reopen never sees a stale lock.
    lock: Mutex<Option<DirLock>>,
}

/// Stops the syncer and syncs the WAL when the last handle goes.
struct Shared {
    inner: Arc<Inner>,
    syncer: Option<JoinHandle<()>>,
}

/// A handle to an open database. Clone it freely; the engine closes with the last handle.
#[derive(Clone)]
pub struct Db {
    shared: Arc<Shared>,
}

fn registry() -> &'static Mutex<HashMap<PathBuf, Weak<Shared>>> {
    static REGISTRY: OnceLock<Mutex<HashMap<PathBuf, Weak<Shared>>>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

/// True if `dir` holds keystonedb files (a WAL segment; later also SSTs).
fn holds_database(dir: &Path) -> Result<bool> {
    Ok(!wal::list_segments(dir)?.is_empty())
}

impl Db {
    /// Creates a new database in `dir`, which must not exist or be empty.
    pub fn create(dir: &Path, options: Options) -> Result<Db> {
        match fs::read_dir(dir) {
            Ok(mut entries) => {
                if entries.next().is_some() {
                    let what = if holds_database(dir)? { "a database" } else { "files" };
                    return Err(Error::new(
                        ErrorCode::AlreadyExists,
                        format!(
                            "{} already exists and holds {what}; use open() for an existing database",
                            dir.display()
                        ),
                    ));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                fs::create_dir_all(dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
                if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                    wal::sync_dir(parent)?;
                }
            }
            Err(e) => return Err(Error::io(format!("reading {}", dir.display()), e)),
        }
        Self::open_registered(dir, options, true)
    }

    /// Opens the database in `dir`; with `create_if_missing`, creates it if there is none.
    pub fn open(dir: &Path, options: Options, create_if_missing: bool) -> Result<Db> {
        let exists = dir.is_dir() && holds_database(dir)?;
        if !exists {
            if create_if_missing {
                return Self::create(dir, options);
            }
            return Err(Error::new(
                ErrorCode::NotFound,
                format!("no database at {}; create it first or pass {{ create: true }}", dir.display()),
            ));
        }
        Self::open_registered(dir, options, false)
    }

    fn open_registered(dir: &Path, options: Options, fresh: bool) -> Result<Db> {
        let canonical = fs::canonicalize(dir).map_err(|e| Error::io(format!("resolving {}", dir.display()), e))?;
        let mut reg = registry().lock();
        if let Some(shared) = reg.get(&canonical).and_then(Weak::upgrade) {
            return Ok(Db { shared });
        }
        let inner = Arc::new(Inner::open(&canonical, options, fresh)?);
        let syncer = spawn_syncer(&inner)?;
        let shared = Arc::new(Shared { inner, syncer: Some(syncer) });
        reg.insert(canonical, Arc::downgrade(&shared));
        Ok(Db { shared })
    }

    fn inner(&self) -> &Inner {
        &self.shared.inner
    }

    pub fn path(&self) -> &Path {
        &self.inner().dir
    }

    /// Commits `batch` atomically. Returns the sequence number of its last entry.
    pub fn write(&self, batch: WriteBatch, durability: Option<Durability>) -> Result<u64> {
        let inner = self.inner();
        if batch.is_empty() {
            return Ok(inner.visible_seq.load(Ordering::Acquire));
        }
        let durability = durability.unwrap_or(inner.options.durability);
        inner.commit.commit(Pending { batch, durability }, |group| inner.commit_group(group))
    }

    pub fn put(&self, keyspace: Keyspace, key: Vec<u8>, value: Vec<u8>, durability: Option<Durability>) -> Result<u64> {
        let mut b = WriteBatch::new();
        b.put(keyspace, key, value);
        self.write(b, durability)
    }

    pub fn delete(&self, keyspace: Keyspace, key: Vec<u8>, durability: Option<Durability>) -> Result<u64> {
        let mut b = WriteBatch::new();
        b.delete(keyspace, key);
        self.write(b, durability)
    }

    /// The current value of `key`, if any.
    pub fn get(&self, keyspace: Keyspace, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let inner = self.inner();
        let snapshot = inner.visible_seq.load(Ordering::Acquire);
        Ok(match inner.memtable.get(keyspace, key, snapshot) {
            Lookup::Found(v) => Some(v),
            Lookup::Deleted | Lookup::Absent => None,
        })
    }

    /// Whether writes are refused because an fsync failed, and why.
    pub fn poisoned(&self) -> Option<String> {
        self.inner().poisoned.lock().clone()
    }

    /// Bytes held by the memtable (approximate).
    pub fn memtable_bytes(&self) -> usize {
        self.inner().memtable.approximate_bytes()
    }
}

impl Inner {
    fn open(dir: &Path, options: Options, fresh: bool) -> Result<Inner> {
        let lock = DirLock::acquire(dir)?;
        let memtable = Memtable::new();
        let mut last_seq = 0u64;
        let segments = wal::list_segments(dir)?;
        let newest = segments.last().copied();
        let mut replayed = 0usize;
        for &n in &segments {
            let path = dir.join(wal::segment_name(n));
            let replay = wal::read_segment(&path)?;
            for (seq, batch) in &replay.batches {
                memtable.apply(*seq, batch);
                replayed += 1;
                last_seq = last_seq.max(seq + batch.len() as u64 - 1);
            }
            if let Some(at) = replay.torn_at {
                if Some(n) != newest {
                    return Err(Error::corruption(format!(
                        "{} is damaged at byte {at} but is not the newest WAL segment; \
                         the writes after that point cannot be recovered automatically",
                        path.display()
                    )));
                }
                tracing::warn!(segment = %path.display(), at, "dropping the torn tail of the WAL");
                wal::truncate_segment(&path, at)?;
            }
        }
        let writer = WalWriter::create(dir, newest.map_or(1, |n| n + 1))?;
        if !fresh {
            tracing::info!(dir = %dir.display(), batches = replayed, last_seq, "recovered database");
        }
        Ok(Inner {
            dir: dir.to_path_buf(),
            options,
            memtable,
            wal: Mutex::new(writer),
            commit: CommitQueue::default(),
            next_seq: AtomicU64::new(last_seq + 1),
            visible_seq: AtomicU64::new(last_seq),
            poisoned: Mutex::new(None),
            dirty: AtomicBool::new(false),
            stop: Mutex::new(false),
            stop_signal: Condvar::new(),
            lock: Mutex::new(Some(lock)),
        })
    }

    fn poison(&self, err: &Error) {
        let mut p = self.poisoned.lock();
        if p.is_none() {
            tracing::error!(error = %err, "WAL failure; refusing writes until the database is reopened");
            *p = Some(err.to_string());
        }
    }

    fn poisoned_error(&self) -> Option<Error> {
        self.poisoned.lock().as_ref().map(|why| {
            Error::new(
                ErrorCode::Poisoned,
                format!("writes are refused since an earlier WAL failure ({why}); close and reopen the database"),
            )
        })
    }

    /// Runs on the commit leader only: one WAL write, at most one fsync, then the memtable.
    fn commit_group(&self, group: Vec<Pending>) -> Vec<Result<u64>> {
        let fail_all = |e: &Error, n: usize| (0..n).map(|_| Err(Error::new(e.code(), e.message()))).collect();
        if let Some(e) = self.poisoned_error() {
            return fail_all(&e, group.len());
        }
        let mut wal = self.wal.lock();
        let mut seq = self.next_seq.load(Ordering::Relaxed);
        let mut records = Vec::with_capacity(group.iter().map(|p| p.batch.payload_bytes() + 64).sum());
        let mut last_seqs = Vec::with_capacity(group.len());
        let mut must_sync = false;
        for p in &group {
            wal::encode_record(&p.batch, seq, &mut records);
            seq += p.batch.len() as u64;
            last_seqs.push(seq - 1);
            must_sync |= p.durability == Durability::Sync;
        }
        let written = wal.append(&records).and_then(|()| if must_sync { wal.sync() } else { Ok(()) });
        if let Err(e) = written {
            self.poison(&e);
            return fail_all(&e, group.len());
        }
        if !must_sync {
            self.dirty.store(true, Ordering::Release);
        }
        let mut base = self.next_seq.load(Ordering::Relaxed);
        for p in &group {
            self.memtable.apply(base, &p.batch);
            base += p.batch.len() as u64;
        }
        self.next_seq.store(seq, Ordering::Relaxed);
        self.visible_seq.store(seq - 1, Ordering::Release);
        if wal.size() >= self.options.wal_segment_bytes {
            if let Err(e) = wal.rotate() {
                // The group is durable in the sealed segment (rotate fsyncs first), but a log we
                // cannot extend must not take more writes.
                self.poison(&e);
            }
        }
        last_seqs.into_iter().map(Ok).collect()
    }

    /// Fsyncs buffered writes. Called by the syncer and at close.
    fn sync_buffered(&self) {
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return;
        }
        let (number, file) = self.wal.lock().sync_handle();
        if let Err(e) = file.sync_data() {
            self.poison(&Error::io(format!("fsync of {}", wal::segment_name(number)), e));
        }
    }
}

fn spawn_syncer(inner: &Arc<Inner>) -> Result<JoinHandle<()>> {
    let inner = Arc::clone(inner);
    std::thread::Builder::new()
        .name("kstone-wal-sync".into())
        .spawn(move || {
            let interval = Duration::from_millis(inner.options.sync_interval_ms.max(1));
            loop {
                {
                    let mut stop = inner.stop.lock();
                    if !*stop {
                        inner.stop_signal.wait_for(&mut stop, interval);
                    }
                    if *stop {
                        return;
                    }
                }
                inner.sync_buffered();
            }
        })
        .map_err(|e| Error::io("starting the WAL sync thread", e))
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Hold the registry while closing so a concurrent open waits for the lock to be free.
        let mut reg = registry().lock();
        *self.inner.stop.lock() = true;
        self.inner.stop_signal.notify_all();
        if let Some(t) = self.syncer.take() {
            let _ = t.join();
        }
        self.inner.sync_buffered();
        drop(self.inner.lock.lock().take());
        reg.retain(|_, w| w.strong_count() > 0);
        tracing::debug!(dir = %self.inner.dir.display(), "closed database");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KS: Keyspace = 1;

    fn opts(durability: Durability) -> Options {
        Options { durability, ..Options::default() }
    }

    #[test]
    fn writes_survive_close_and_reopen_in_every_durability_mode() {
        for d in [Durability::Sync, Durability::Buffered, Durability::None] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("db");
            let db = Db::create(&path, opts(d)).unwrap();
            for i in 0..100u32 {
                db.put(KS, format!("k{i}").into_bytes(), format!("v{i}").into_bytes(), None).unwrap();
            }
            db.delete(KS, b"k7".to_vec(), None).unwrap();
            drop(db);
            let db = Db::open(&path, opts(d), false).unwrap();
            assert_eq!(db.get(KS, b"k1").unwrap(), Some(b"v1".to_vec()), "{d:?}");
            assert_eq!(db.get(KS, b"k99").unwrap(), Some(b"v99".to_vec()));
            assert_eq!(db.get(KS, b"k7").unwrap(), None);
        }
    }

    #[test]
    fn create_refuses_an_existing_database_and_open_refuses_a_missing_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let missing = Db::open(&path, Options::default(), false).err().map(|e| e.code());
        assert_eq!(missing, Some(ErrorCode::NotFound));
        drop(Db::create(&path, Options::default()).unwrap());
        let again = Db::create(&path, Options::default()).err().map(|e| e.code());
        assert_eq!(again, Some(ErrorCode::AlreadyExists));
        assert!(Db::open(&path, Options::default(), false).is_ok());
        let other = dir.path().join("other");
        assert!(Db::open(&other, Options::default(), true).is_ok());
    }

    #[test]
    fn openers_in_one_process_share_one_engine_and_the_lock_keeps_others_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let a = Db::create(&path, Options::default()).unwrap();
        let b = Db::open(&path, Options::default(), false).unwrap();
        a.put(KS, b"x".to_vec(), b"1".to_vec(), None).unwrap();
        assert_eq!(b.get(KS, b"x").unwrap(), Some(b"1".to_vec()));
        // flock locks belong to an open file description, so a second acquire in this process
        // behaves exactly as another process would.
        let canonical = fs::canonicalize(&path).unwrap();
        assert_eq!(DirLock::acquire(&canonical).err().map(|e| e.code()), Some(ErrorCode::Locked));
        drop(a);
        drop(b);
        assert!(DirLock::acquire(&canonical).is_ok());
    }

    #[test]
    fn concurrent_writers_all_land_and_are_readable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let db = Db::create(&path, Options::default()).unwrap();
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let db = db.clone();
                std::thread::spawn(move || {
                    for i in 0..50 {
                        db.put(KS, format!("{t}/{i}").into_bytes(), vec![t as u8], None).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        drop(db);
        let db = Db::open(&path, Options::default(), false).unwrap();
        for t in 0..8 {
            for i in 0..50 {
                assert_eq!(db.get(KS, format!("{t}/{i}").as_bytes()).unwrap(), Some(vec![t as u8]));
            }
        }
    }

    #[test]
    fn a_torn_wal_tail_is_dropped_and_the_database_keeps_working() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let db = Db::create(&path, Options::default()).unwrap();
        db.put(KS, b"a".to_vec(), b"1".to_vec(), None).unwrap();
        db.put(KS, b"b".to_vec(), b"2".to_vec(), None).unwrap();
        drop(db);
        let seg = path.join(wal::segment_name(1));
        let len = fs::metadata(&seg).unwrap().len();
        fs::OpenOptions::new().write(true).open(&seg).unwrap().set_len(len - 3).unwrap();
        let db = Db::open(&path, Options::default(), false).unwrap();
        assert_eq!(db.get(KS, b"a").unwrap(), Some(b"1".to_vec()));
        assert_eq!(db.get(KS, b"b").unwrap(), None);
        db.put(KS, b"c".to_vec(), b"3".to_vec(), None).unwrap();
        drop(db);
        let db = Db::open(&path, Options::default(), false).unwrap();
        assert_eq!(db.get(KS, b"c").unwrap(), Some(b"3".to_vec()));
        assert_eq!(db.get(KS, b"a").unwrap(), Some(b"1".to_vec()));
    }
}
