//! The engine of one database directory: open and recovery, the write path (group commit into
//! the WAL, then the memtable), the read path, and the background threads (WAL syncer,
//! flusher, compactors).
//!
//! Concurrency contract: a [`Db`] is a cheap handle; clones share one engine. Every method may be
//! called from any thread. Writes serialize through the commit queue (`commit.rs`); the commit
//! leader alone appends to the WAL, inserts into the active memtable and freezes it when full.
//! Reads take no lock across I/O: they read the memtables under a short read lock, then an
//! `Arc` of the current version. Flushes and compactions install new versions through the
//! manifest (`install`), which swaps the `Arc`; files a version drops are deleted only once no
//! reader holds that version or an older one and `obsolete_file_retention_ms` has passed. Lock
//! order, where several are held: `bg` → `mem` → `version`; `wal` → `mem`; `manifest` →
//! `obsolete` → `version`.
//! Inside one process a registry keyed by canonical path hands every opener the same engine
//! (worker threads share it and its lock); the engine closes when its last handle is dropped.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, RwLock};

use crate::batch::{Keyspace, WriteBatch};
use crate::commit::CommitQueue;
use crate::error::{Error, ErrorCode, Result};
use crate::manifest::{Manifest, VersionEdit};
use crate::memtable::Memtable;
use crate::options::{Durability, Options};
use crate::sst::BlockCache;
use crate::stats::{CompactionCounters, Health, Stats};
use crate::tables::TableCache;
use crate::version::Version;
use crate::wal::{self, WalWriter};

struct Pending {
    batch: WriteBatch,
    durability: Durability,
    checks: Vec<ReadCheck>,
}

/// A read that a write depends on: the write commits only if the key's newest version (a
/// deletion included) still has sequence number `seq` (`None`: the key had no version). The
/// commit leader checks it under the WAL lock, so a read-modify-write is atomic without
/// holding any lock while it computes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadCheck {
    pub keyspace: Keyspace,
    pub key: Vec<u8>,
    pub seq: Option<u64>,
}

/// A memtable that no longer takes writes, waiting to be flushed.
#[derive(Clone)]
pub(crate) struct Frozen {
    pub mem: Arc<Memtable>,
    /// Every write in `mem` is in WAL segments numbered up to this one.
    pub last_wal_segment: u64,
}

pub(crate) struct MemState {
    pub active: Arc<Memtable>,
    /// Oldest first.
    pub immutable: Vec<Frozen>,
}

/// State shared by the background threads, under `Inner::bg`.
#[derive(Default)]
pub(crate) struct Background {
    /// Files that a running compaction reads; no other compaction may pick them.
    pub busy: HashSet<u64>,
    /// A full compaction (`compact()`) is running or waiting: pickers stand aside.
    pub manual: bool,
    /// A flush or compaction failed; shown by `health()`.
    pub error: Option<String>,
}

/// Files that install number `install` dropped, deleted once the retention time has passed and
/// no reader holds a version from before that install (see [`Retired`]).
struct Obsolete {
    paths: Vec<PathBuf>,
    install: u64,
    since: Instant,
}

/// Every version an install replaced that a reader may still hold, and the obsolete files.
///
/// A file dropped by install `i` is in the version `i` replaced and may be in any older one: a
/// reader that took its version before an earlier install still lists it. So it is deleted only
/// once every version replaced at installs up to `i` is gone, not only the one `i` replaced
/// (that rule let a read holding an older version find a file deleted under it, when a second
/// compaction dropped a file the first had kept: the power-loss sweep caught it in `verify`).
#[derive(Default)]
struct Retired {
    installs: u64,
    versions: Vec<(u64, Weak<Version>)>,
    pending: Vec<Obsolete>,
}

pub(crate) struct Inner {
    pub dir: PathBuf,
    pub options: Options,
    pub mem: RwLock<MemState>,
    pub version: RwLock<Arc<Version>>,
    pub manifest: Mutex<Manifest>,
    /// Owned by the commit leader; the syncer only borrows the file handle.
    pub wal: Mutex<WalWriter>,
    commit: CommitQueue<Pending>,
    /// Next sequence number to assign. Commit leader only.
    next_seq: AtomicU64,
    /// Every write with a sequence number ≤ this is in a memtable: the read snapshot.
    pub visible_seq: AtomicU64,
    pub next_file_number: AtomicU64,
    /// Set when a WAL write, fsync or flush failed; writes are refused until reopen.
    pub poisoned: Mutex<Option<String>>,
    /// Buffered writes not yet fsynced.
    pub dirty: AtomicBool,
    pub bg: Mutex<Background>,
    /// Wakes the flusher and the compactors.
    pub bg_signal: Condvar,
    /// Wakes writers waiting for room and `compact()` waiting for its turn (mutex: `bg`).
    pub progress: Condvar,
    pub stopping: AtomicBool,
    pub tables: TableCache,
    pub counters: CompactionCounters,
    /// Bytes of SSTs written by flushes.
    pub flush_bytes: AtomicU64,
    /// fsyncs of the WAL so far: with group commit, fewer than the writes they made durable.
    pub wal_syncs: AtomicU64,
    /// Writes committed on their caller's thread (`Db::try_write_now`).
    pub inline_commits: AtomicU64,
    obsolete: Mutex<Retired>,
    /// Client request tokens of recent transactions: token → (request hash, when).
    pub tx_tokens: Mutex<HashMap<String, (u64, Instant)>>,
    /// Serializes flushes (the flusher thread and `flush()`).
    pub flush_lock: Mutex<()>,
    /// Released at close while the registry is held, so a reopen never sees a stale lock.
    lock: Mutex<Option<Box<dyn Send + Sync>>>,
}

/// Stops the background threads and syncs the WAL when the last handle goes.
struct Shared {
    inner: Arc<Inner>,
    threads: Vec<JoinHandle<()>>,
    catalog: OnceLock<crate::catalog::Catalog>,
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

impl Db {
    /// Creates a new database in `dir`, which must not exist or be empty.
    pub fn create(dir: &Path, options: Options) -> Result<Db> {
        let vfs = &*options.vfs;
        match vfs.list(dir) {
            Ok(entries) => {
                // A lone LOCK file is what a crash early in a previous create leaves behind.
                let mut others = entries.iter().filter(|e| *e != crate::lock::LOCK_FILE);
                if others.next().is_some() {
                    let what = if crate::recovery::holds_database(vfs, dir)? { "a database" } else { "files" };
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
                vfs.create_dir_all(dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
                if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                    wal::sync_dir(vfs, parent)?;
                }
            }
            Err(e) => return Err(Error::io(format!("reading {}", dir.display()), e)),
        }
        Self::open_registered(dir, options)
    }

    /// Opens the database in `dir`; with `create_if_missing`, creates it if there is none.
    pub fn open(dir: &Path, options: Options, create_if_missing: bool) -> Result<Db> {
        let exists = options.vfs.is_dir(dir) && crate::recovery::holds_database(&*options.vfs, dir)?;
        if !exists {
            if create_if_missing {
                return Self::create(dir, options);
            }
            return Err(Error::new(
                ErrorCode::NotFound,
                format!("no database at {}; create it first or pass {{ create: true }}", dir.display()),
            ));
        }
        Self::open_registered(dir, options)
    }

    fn open_registered(dir: &Path, options: Options) -> Result<Db> {
        let canonical =
            options.vfs.canonicalize(dir).map_err(|e| Error::io(format!("resolving {}", dir.display()), e))?;
        let mut reg = registry().lock();
        if let Some(shared) = reg.get(&canonical).and_then(Weak::upgrade) {
            let db = Db { shared };
            if let Some(wanted) = &options.default_table_key {
                let existing = db.catalog()?.get(crate::catalog::DEFAULT_TABLE)?;
                if existing.key != *wanted {
                    return Err(Error::validation(format!(
                        "the database's default table has the key {}, not {}",
                        existing.key.describe(),
                        wanted.describe()
                    )));
                }
            }
            return Ok(db);
        }
        let inner = Arc::new(Inner::open(&canonical, options)?);
        let threads = match crate::background::spawn_background(&inner) {
            Ok(t) => t,
            Err(e) => {
                inner.stop_background(Vec::new());
                return Err(e);
            }
        };
        let default_key = inner.options.default_table_key.clone();
        let shared = Arc::new(Shared { inner, threads, catalog: OnceLock::new() });
        let db = Db { shared };
        let catalog = match crate::catalog::Catalog::load(&db, default_key.as_ref()) {
            Ok(c) => c,
            Err(e) => {
                // Closing takes the registry lock: let go of it first.
                drop(reg);
                drop(db);
                return Err(e);
            }
        };
        let _ = db.shared.catalog.set(catalog);
        reg.insert(canonical, Arc::downgrade(&db.shared));
        Ok(db)
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.shared.inner
    }

    pub fn path(&self) -> &Path {
        &self.inner().dir
    }

    /// Commits `batch` atomically. Returns the sequence number of its last entry.
    pub fn write(&self, batch: WriteBatch, durability: Option<Durability>) -> Result<u64> {
        self.write_all(vec![(batch, durability)]).into_iter().next().unwrap_or_else(|| Err(no_result()))
    }

    /// Commits several batches of one caller in one group (one WAL write, at most one fsync),
    /// each atomically and with its own result, in the order given: what as many threads calling
    /// [`Db::write`] at once would get, from one thread. A batch too large for the WAL fails
    /// alone; the others still commit. Calls of one thread apply in the order it makes them (a
    /// caller that needs its writes in order makes them from one thread, as the binding's write
    /// thread does).
    pub fn write_all(&self, batches: Vec<(WriteBatch, Option<Durability>)>) -> Vec<Result<u64>> {
        let inner = self.inner();
        let visible = inner.visible_seq.load(Ordering::Acquire);
        let mut results: Vec<Option<Result<u64>>> = Vec::with_capacity(batches.len());
        let mut pending = Vec::with_capacity(batches.len());
        for (batch, durability) in batches {
            if batch.is_empty() {
                results.push(Some(Ok(visible)));
            } else if let Err(e) = wal::check_fits(&batch) {
                results.push(Some(Err(e)));
            } else {
                let durability = durability.unwrap_or(inner.options.durability);
                pending.push(Pending { batch, durability, checks: Vec::new() });
                results.push(None);
            }
        }
        let committed = if pending.is_empty() {
            Vec::new()
        } else if let Err(e) = inner.wait_for_room() {
            pending.iter().map(|_| Err(Error::new(e.code(), e.message()))).collect()
        } else {
            inner.commit.commit_all(pending, |group| inner.commit_group(group))
        };
        let mut committed = committed.into_iter();
        results.into_iter().map(|r| r.or_else(|| committed.next()).unwrap_or_else(|| Err(no_result()))).collect()
    }

    /// Commits `batch` on the calling thread if that needs no waiting and no blocking I/O but its
    /// one write(2): a write that is not durable (`Buffered` or `None`: acknowledged after the
    /// write), with no group running or waiting, and room for it in the memtable and the WAL
    /// segment, so that no stall, switch or rotation falls to it. `None` when it would have had
    /// to wait: nothing was written, and the caller takes the blocking path
    /// ([`Db::write_all`]) instead. The caller keeps its own order: nothing it issued earlier may
    /// still be on its way to the commit queue.
    pub fn try_write_now(&self, batch: WriteBatch, durability: Option<Durability>) -> Option<Result<u64>> {
        let inner = self.inner();
        let durability = durability.unwrap_or(inner.options.durability);
        if durability == Durability::Sync {
            return None;
        }
        if batch.is_empty() {
            return Some(Ok(inner.visible_seq.load(Ordering::Acquire)));
        }
        if let Err(e) = wal::check_fits(&batch) {
            return Some(Err(e));
        }
        let bytes = wal::RECORD_HEADER_LEN + batch.encoded_len_bound();
        let mem_bytes = crate::memtable::growth_bound(&batch);
        let pending = Pending { batch, durability, checks: Vec::new() };
        // Room is checked once this thread leads: no other group can take it before the commit.
        let committed = inner.commit.try_commit_alone(
            pending,
            || inner.fits_now(bytes, mem_bytes),
            |group| inner.commit_group(group),
        );
        if committed.is_some() {
            inner.inline_commits.fetch_add(1, Ordering::Relaxed);
        }
        committed
    }

    /// Commits `batch` only if every read in `checks` is still current; otherwise fails with
    /// `TransactionConflict` and writes nothing (the caller reads again and retries).
    pub fn write_checked(
        &self,
        batch: WriteBatch,
        checks: Vec<ReadCheck>,
        durability: Option<Durability>,
    ) -> Result<u64> {
        let inner = self.inner();
        wal::check_fits(&batch)?;
        inner.wait_for_room()?;
        let durability = durability.unwrap_or(inner.options.durability);
        inner.commit.commit(Pending { batch, durability, checks }, |group| inner.commit_group(group))
    }

    /// The durability of writes that choose none.
    pub fn default_durability(&self) -> Durability {
        self.inner().options.durability
    }

    /// The sequence number every read issued now sees.
    pub fn snapshot(&self) -> u64 {
        self.inner().visible_seq.load(Ordering::Acquire)
    }

    /// The value of `key` at `snapshot`.
    pub fn get_at(&self, keyspace: Keyspace, key: &[u8], snapshot: u64) -> Result<Option<Vec<u8>>> {
        Ok(self.inner().newest(keyspace, key, snapshot)?.and_then(|n| n.value))
    }

    /// The table catalog (loaded when the database was opened).
    pub fn catalog(&self) -> Result<&crate::catalog::Catalog> {
        self.shared.catalog.get().ok_or_else(|| Error::new(ErrorCode::Closed, "the database is not fully open"))
    }

    /// The newest version of `key` (a deletion included) with its sequence number.
    pub fn newest(&self, keyspace: Keyspace, key: &[u8]) -> Result<Option<crate::memtable::Newest>> {
        let inner = self.inner();
        inner.newest(keyspace, key, inner.visible_seq.load(Ordering::Acquire))
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

    /// Every live (key, value) of `keyspace` between the bounds, in key order, at one snapshot.
    pub fn scan_range(
        &self,
        keyspace: Keyspace,
        start: std::ops::Bound<&[u8]>,
        end: std::ops::Bound<&[u8]>,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.inner().range(keyspace, start, end)?.collect()
    }

    /// The current value of `key`, if any.
    pub fn get(&self, keyspace: Keyspace, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.inner().get(keyspace, key)
    }

    /// Whether writes are refused because an fsync failed, and why.
    pub fn poisoned(&self) -> Option<String> {
        self.inner().poisoned.lock().clone()
    }

    /// Flushes every memtable to SSTs now (normally the flusher does this when one is full).
    pub fn flush(&self) -> Result<()> {
        self.inner().flush_all()?;
        self.inner().purge_obsolete();
        Ok(())
    }

    /// Compacts every keyspace into one sorted run, dropping shadowed versions and tombstones.
    pub fn compact(&self) -> Result<()> {
        self.inner().flush_all()?;
        self.inner().compact_all()?;
        self.inner().purge_obsolete();
        Ok(())
    }

    pub fn stats(&self) -> Result<Stats> {
        self.inner().stats()
    }

    pub fn health(&self) -> Health {
        self.inner().health()
    }
}

/// The error for a write the commit path returned no result for (a bug if it ever happens).
pub(crate) fn no_result() -> Error {
    Error::new(ErrorCode::Io, "internal error: the commit group returned no result for this write")
}

impl Inner {
    fn open(dir: &Path, options: Options) -> Result<Inner> {
        let vfs = Arc::clone(&options.vfs);
        let lock = vfs.lock(dir)?;
        let recovered = crate::recovery::recover(&vfs, dir, options.memtable_switch_bytes())?;
        let first = recovered.newest_segment.map_or(1, |n| n + 1);
        let writer = WalWriter::create(&vfs, dir, first, options.wal_prealloc_bytes())?;
        let version = recovered.manifest.current().clone();
        tracing::info!(
            dir = %dir.display(),
            batches = recovered.replayed_batches,
            ssts = version.total_files(),
            last_seq = recovered.last_seq,
            "opened database"
        );
        let block_cache = Arc::new(BlockCache::new(usize::try_from(options.block_cache_bytes).unwrap_or(usize::MAX)));
        let tables = TableCache::new(&vfs, dir, options.max_open_files, block_cache);
        Ok(Inner {
            dir: dir.to_path_buf(),
            mem: RwLock::new(MemState { active: Arc::new(recovered.memtable), immutable: Vec::new() }),
            next_file_number: AtomicU64::new(version.next_file_number.max(1)),
            version: RwLock::new(Arc::new(version)),
            manifest: Mutex::new(recovered.manifest),
            wal: Mutex::new(writer),
            commit: CommitQueue::default(),
            next_seq: AtomicU64::new(recovered.last_seq + 1),
            visible_seq: AtomicU64::new(recovered.last_seq),
            poisoned: Mutex::new(None),
            dirty: AtomicBool::new(false),
            bg: Mutex::new(Background::default()),
            bg_signal: Condvar::new(),
            progress: Condvar::new(),
            stopping: AtomicBool::new(false),
            tables,
            counters: CompactionCounters::default(),
            flush_bytes: AtomicU64::new(0),
            wal_syncs: AtomicU64::new(0),
            inline_commits: AtomicU64::new(0),
            obsolete: Mutex::new(Retired::default()),
            flush_lock: Mutex::new(()),
            tx_tokens: Mutex::new(HashMap::new()),
            lock: Mutex::new(Some(lock)),
            options,
        })
    }

    pub(crate) fn poison(&self, err: &Error) {
        let mut p = self.poisoned.lock();
        if p.is_none() {
            tracing::error!(error = %err, "refusing writes until the database is reopened");
            *p = Some(err.to_string());
        }
    }

    pub(crate) fn poisoned_error(&self) -> Option<Error> {
        self.poisoned.lock().as_ref().map(|why| {
            Error::new(
                ErrorCode::Poisoned,
                format!("writes are refused since an earlier failure ({why}); close and reopen the database"),
            )
        })
    }

    /// Waits while the memtables are full and a flush is behind, or L0 is past its stop trigger.
    fn wait_for_room(&self) -> Result<()> {
        let mut bg = self.bg.lock();
        loop {
            if let Some(e) = self.poisoned_error() {
                return Err(e);
            }
            if self.stopping.load(Ordering::Acquire) {
                return Err(Error::new(ErrorCode::Closed, "the database is closing"));
            }
            if !self.stalled(bg.error.is_some()) {
                return Ok(());
            }
            self.bg_signal.notify_all();
            self.progress.wait_for(&mut bg, Duration::from_millis(50));
        }
    }

    /// Whether writes must wait for room: the memtable is full while another still waits for its
    /// flush, or level 0 is full ([`Inner::l0_full`]).
    fn stalled(&self, bg_failed: bool) -> bool {
        let mem_full = {
            let m = self.mem.read();
            !m.immutable.is_empty() && m.active.approximate_bytes() >= self.options.memtable_switch_bytes()
        };
        mem_full || self.l0_full(bg_failed)
    }

    /// Whether a keyspace's level 0 has `l0_stop_trigger` files and compaction can run (it
    /// cannot once it has failed: `bg_failed`).
    fn l0_full(&self, bg_failed: bool) -> bool {
        self.options.compaction.enabled && !bg_failed && {
            let v = self.version.read();
            let full = v.keyspaces().any(|ks| v.files(ks, 0).len() >= self.options.l0_stop_trigger);
            full
        }
    }

    /// Whether a write of `bytes` in the WAL, adding at most `mem_bytes` to the memtable
    /// (`memtable::growth_bound`), can be committed now without waiting for room and without
    /// making the commit switch memtables or WAL segments (which fsyncs). Locks held elsewhere
    /// count as no: the WAL's (a writer holding it is committing or rotating) and the background
    /// threads' (only ever held briefly). A commit that reaches the end of the segment's preallocated
    /// zeros writes the next 256 KiB of them first: one more write(2), ~70 µs into the page
    /// cache here, where going the usual way instead took ~1 ms.
    fn fits_now(&self, bytes: usize, mem_bytes: usize) -> bool {
        // No room for `mem_bytes` in the active memtable covers the memtable case of `stalled` too.
        if self.stopping.load(Ordering::Acquire)
            || self.mem.read().active.approximate_bytes().saturating_add(mem_bytes)
                >= self.options.memtable_switch_bytes()
        {
            return false;
        }
        let Some(bg_failed) = self.bg.try_lock().map(|bg| bg.error.is_some()) else { return false };
        if self.l0_full(bg_failed) {
            return false;
        }
        let bytes = bytes as u64;
        self.wal.try_lock().is_some_and(|wal| wal.size().saturating_add(bytes) < self.options.wal_segment_bytes)
    }

    /// Whether every check of `p` holds, given the keys earlier members of the group write.
    fn checks_hold(&self, p: &Pending, written: &HashSet<(Keyspace, Vec<u8>)>) -> Result<bool> {
        for c in &p.checks {
            if written.contains(&(c.keyspace, c.key.clone())) {
                return Ok(false);
            }
            if self.newest(c.keyspace, &c.key, u64::MAX)?.map(|n| n.seq) != c.seq {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Runs on the commit leader only: checks, one WAL write, at most one fsync, the memtable.
    fn commit_group(&self, group: Vec<Pending>) -> Vec<Result<u64>> {
        let fail_all = |e: &Error, n: usize| (0..n).map(|_| Err(Error::new(e.code(), e.message()))).collect();
        if let Some(e) = self.poisoned_error() {
            return fail_all(&e, group.len());
        }
        let mut wal = self.wal.lock();
        let first_seq = self.next_seq.load(Ordering::Relaxed);
        let mut seq = first_seq;
        let bound = group.iter().map(|p| wal::RECORD_HEADER_LEN + p.batch.encoded_len_bound()).sum();
        let mut records = wal.take_buffer(bound);
        let mut results: Vec<Result<u64>> = Vec::with_capacity(group.len());
        let mut written: HashSet<(Keyspace, Vec<u8>)> = HashSet::new();
        let mut must_sync = false;
        let tracking = group.iter().any(|q| !q.checks.is_empty());
        for p in &group {
            if !p.checks.is_empty() {
                match self.checks_hold(p, &written) {
                    Ok(true) => {}
                    Ok(false) => {
                        results.push(Err(Error::new(ErrorCode::TransactionConflict, "the item changed meanwhile")));
                        continue;
                    }
                    Err(e) => {
                        results.push(Err(e));
                        continue;
                    }
                }
            }
            if tracking {
                written.extend(p.batch.entries().iter().map(|e| (e.keyspace, e.key.clone())));
            }
            wal::encode_record(&p.batch, seq, &mut records);
            seq += p.batch.len() as u64;
            results.push(Ok(seq - 1));
            must_sync |= p.durability == Durability::Sync;
        }
        if seq == first_seq {
            return results;
        }
        let appended = wal.append(&records);
        wal.keep_buffer(records);
        if let Err(e) = appended {
            self.poison(&e);
            return fail_all(&e, group.len());
        }
        let n = group.len();
        let active = Arc::clone(&self.mem.read().active);
        // The memtable takes the group while the fsync runs (see `apply_while_syncing`), but
        // nothing of it is visible until `visible_seq` moves below, after the fsync.
        let applied = if must_sync {
            apply_while_syncing(&wal, &active, first_seq, group, &results, seq - first_seq)
        } else {
            apply_group(&active, first_seq, group, &results);
            Ok(())
        };
        if must_sync && applied.is_ok() {
            self.wal_syncs.fetch_add(1, Ordering::Relaxed);
        }
        if let Err(e) = applied {
            // The entries stay in the memtable above `visible_seq`, never to be published:
            // a poisoned database takes no more writes until it is reopened.
            self.poison(&e);
            return fail_all(&e, n);
        }
        if !must_sync {
            self.dirty.store(true, Ordering::Release);
        }
        self.next_seq.store(seq, Ordering::Relaxed);
        self.visible_seq.store(seq - 1, Ordering::Release);

        let freeze = active.approximate_bytes() >= self.options.memtable_switch_bytes();
        if freeze || wal.size() >= self.options.wal_segment_bytes {
            let sealed = wal.number();
            // The group is durable in the sealed segment (rotate fsyncs it first), but a log
            // that cannot be extended must not take more writes.
            if let Err(e) = wal.rotate() {
                self.poison(&e);
            } else if freeze {
                let mut m = self.mem.write();
                let frozen = std::mem::replace(
                    &mut m.active,
                    Arc::new(Memtable::with_expected_bytes(self.options.memtable_switch_bytes())),
                );
                m.immutable.push(Frozen { mem: frozen, last_wal_segment: sealed });
                drop(m);
                self.wake_background();
            }
        }
        results
    }
}

/// Entries in a group past which its WAL fsync runs on a second thread while the leader inserts
/// into the memtable. Starting and joining a thread costs ~60 µs on a 2-vCPU virtual
/// machine, and an entry's insert ~0.65 µs, so a smaller group gains little or loses.
const PARALLEL_APPLY_ENTRIES: u64 = 256;

/// Inserts the group's committed batches (those whose result is `Ok`) into the memtable at
/// consecutive sequence numbers from `first_seq`.
fn apply_group(active: &Memtable, first_seq: u64, group: Vec<Pending>, results: &[Result<u64>]) {
    let mut base = first_seq;
    for (p, r) in group.into_iter().zip(results) {
        if r.is_ok() {
            let n = p.batch.len() as u64;
            active.apply(base, p.batch);
            base += n;
        }
    }
}

/// fsyncs the WAL and applies the group to the memtable at the same time: for a large group the
/// fsync runs on a scoped thread (through the same file handle the background syncer uses) while
/// this one inserts (during a bulk load a group of 500 writes spent ~320 µs in the memtable and
/// ~260 µs in the fsync, one after the other). The inserts are not visible to readers until the
/// leader publishes `visible_seq`, after both, so a write is still visible only once it is
/// durable. Small groups, or a thread the OS will not start, fsync on this thread.
fn apply_while_syncing(
    wal: &WalWriter,
    active: &Memtable,
    first_seq: u64,
    group: Vec<Pending>,
    results: &[Result<u64>],
    entries: u64,
) -> Result<()> {
    if entries < PARALLEL_APPLY_ENTRIES {
        wal.sync()?;
        apply_group(active, first_seq, group, results);
        return Ok(());
    }
    let (number, file) = wal.sync_handle();
    std::thread::scope(|scope| {
        let syncer =
            std::thread::Builder::new().name("kstone-wal-fsync".into()).spawn_scoped(scope, move || file.sync());
        apply_group(active, first_seq, group, results);
        match syncer {
            Ok(syncer) => match syncer.join() {
                Ok(synced) => synced.map_err(|e| Error::io(format!("fsync of {}", wal::segment_name(number)), e)),
                Err(_) => Err(Error::new(ErrorCode::Io, "the WAL's fsync thread failed")),
            },
            Err(_) => wal.sync(),
        }
    })
}

impl Inner {
    /// Freezes the active memtable for flushing, if it holds anything. Holding the WAL lock
    /// keeps the commit leader out, so the frozen memtable is exactly the sealed segments.
    pub(crate) fn freeze_active(&self) -> Result<()> {
        let mut wal = self.wal.lock();
        if self.mem.read().active.is_empty() {
            return Ok(());
        }
        // After a failed append the newest segment may end in a torn record: starting another
        // segment would leave that tear in the middle of the log, where recovery must refuse it.
        if let Some(e) = self.poisoned_error() {
            return Err(e);
        }
        let sealed = wal.number();
        if let Err(e) = wal.rotate() {
            self.poison(&e);
            return Err(e);
        }
        let mut m = self.mem.write();
        let frozen = std::mem::replace(
            &mut m.active,
            Arc::new(Memtable::with_expected_bytes(self.options.memtable_switch_bytes())),
        );
        m.immutable.push(Frozen { mem: frozen, last_wal_segment: sealed });
        Ok(())
    }

    /// Wakes the background threads; taking `bg` first means none of them is between checking
    /// for work and starting to wait, so the wakeup cannot be lost.
    pub(crate) fn wake_background(&self) {
        drop(self.bg.lock());
        self.bg_signal.notify_all();
    }

    /// Makes `edit` the durable state and the version readers see. `obsolete` files are
    /// deleted later (see `purge_obsolete`).
    ///
    /// The edit's counters are read here, under the manifest lock: a flush and a compaction
    /// install concurrently, and counters read before the lock could reach the MANIFEST out
    /// of order and be refused as going backwards (the I/O-fault sweep caught this).
    pub(crate) fn install(&self, edit: &VersionEdit, obsolete: Vec<PathBuf>) -> Result<()> {
        let mut manifest = self.manifest.lock();
        let mut edit = edit.clone();
        if edit.next_file_number.is_some() {
            edit.next_file_number = Some(self.next_file_number.load(Ordering::Relaxed));
        }
        if edit.last_seq.is_some() {
            edit.last_seq = Some(self.visible_seq.load(Ordering::Acquire));
        }
        manifest.install(&edit)?;
        let next = Arc::new(manifest.current().clone());
        // Recorded under the manifest lock, so install numbers follow the order of versions.
        let mut retired = self.obsolete.lock();
        let old = std::mem::replace(&mut *self.version.write(), next);
        retired.installs += 1;
        let install = retired.installs;
        retired.versions.push((install, Arc::downgrade(&old)));
        if !obsolete.is_empty() {
            retired.pending.push(Obsolete { paths: obsolete, install, since: Instant::now() });
        }
        drop(retired);
        drop(old);
        drop(manifest);
        Ok(())
    }

    /// Deletes obsolete files whose retention has passed and that no reader can still reach:
    /// no version from before the install that dropped them is still held.
    pub(crate) fn purge_obsolete(&self) {
        let retention = Duration::from_millis(self.options.obsolete_file_retention_ms);
        let mut retired = self.obsolete.lock();
        retired.versions.retain(|(_, v)| v.strong_count() > 0);
        let oldest_held = retired.versions.first().map_or(u64::MAX, |(i, _)| *i);
        let tables = &self.tables;
        let vfs = &self.options.vfs;
        retired.pending.retain(|o| {
            if o.since.elapsed() < retention || o.install >= oldest_held {
                return true;
            }
            for p in &o.paths {
                if let Some(n) = p.file_name().and_then(|n| n.to_str()).and_then(crate::tables::parse_sst_name) {
                    tables.evict(n);
                }
                match vfs.remove(p) {
                    Ok(()) => tracing::debug!(file = %p.display(), "deleted obsolete file"),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => tracing::warn!(file = %p.display(), error = %e, "could not delete obsolete file"),
                }
            }
            false
        });
    }

    /// Fsyncs buffered writes. Called by the syncer and at close.
    pub(crate) fn sync_buffered(&self) {
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return;
        }
        let (number, file) = self.wal.lock().sync_handle();
        self.wal_syncs.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = file.sync() {
            self.poison(&Error::io(format!("fsync of {}", wal::segment_name(number)), e));
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Hold the registry while closing so a concurrent open waits for the lock to be free.
        let mut reg = registry().lock();
        self.inner.stop_background(std::mem::take(&mut self.threads));
        self.inner.sync_buffered();
        // Cut the active segment's preallocated zeros off, so the next open finds a clean end.
        // Not after a failure: nothing more is written to a poisoned database's files.
        if self.inner.poisoned.lock().is_none() {
            if let Err(e) = self.inner.wal.lock().seal() {
                tracing::warn!(error = %e, "could not seal the WAL at close");
            }
        }
        drop(self.inner.lock.lock().take());
        reg.retain(|_, w| w.strong_count() > 0);
        tracing::debug!(dir = %self.inner.dir.display(), "closed database");
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::lock::DirLock;
    use std::fs;

    const KS: Keyspace = 1;

    fn opts(durability: Durability) -> Options {
        Options { durability, ..Options::default() }
    }

    fn sst_files(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sst"))
            .collect();
        names.sort();
        names
    }

    /// A reader holding a version from before two installs: the first (a flush) keeps file A,
    /// the second (a compaction) drops it. A is deleted only once that reader lets go, though
    /// the version the compaction replaced has no holder.
    #[test]
    fn an_obsolete_file_outlives_every_older_version_still_held() {
        let dir = tempfile::tempdir().unwrap();
        let options = Options {
            obsolete_file_retention_ms: 0,
            compaction: crate::CompactionOptions { enabled: false, ..Default::default() },
            ..opts(Durability::None)
        };
        let db = Db::create(dir.path(), options).unwrap();
        db.put(KS, b"a".to_vec(), b"1".to_vec(), None).unwrap();
        db.flush().unwrap();
        let first = sst_files(dir.path());
        let held = Arc::clone(&db.inner().version.read());
        db.put(KS, b"b".to_vec(), b"2".to_vec(), None).unwrap();
        db.flush().unwrap();
        db.compact().unwrap();
        let live: Vec<String> =
            db.inner().version.read().all_files().map(|f| crate::tables::sst_name(f.file_number)).collect();
        let dropped: Vec<&String> = first.iter().filter(|f| !live.contains(f)).collect();
        assert!(!dropped.is_empty(), "the compaction dropped none of {first:?}");
        let now = sst_files(dir.path());
        for f in &dropped {
            assert!(now.contains(f), "{f} was deleted while a reader held a version listing it");
        }
        // The held version still reads through its files.
        for f in held.all_files() {
            db.inner().tables.get(f.file_number).unwrap();
        }
        drop(held);
        db.flush().unwrap(); // purges
        let last = sst_files(dir.path());
        for f in &dropped {
            assert!(!last.contains(f), "{f} outlived every reader: {last:?}");
        }
        assert_eq!(db.get(KS, b"a").unwrap(), Some(b"1".to_vec()));
        assert_eq!(db.get(KS, b"b").unwrap(), Some(b"2".to_vec()));
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
    fn a_batch_too_large_for_one_wal_record_is_refused_and_loses_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let db = Db::create(&path, opts(Durability::Sync)).unwrap();
        db.put(KS, b"before".to_vec(), b"1".to_vec(), None).unwrap();
        // Zeroed memory the write never touches: the size check comes first.
        let huge = || {
            let mut batch = WriteBatch::new();
            batch.put(KS, b"huge".to_vec(), vec![0u8; (1 << 30) + 1]);
            batch
        };
        let refused = db.write(huge(), None).err().map(|e| e.code());
        assert_eq!(refused, Some(ErrorCode::Validation));
        let refused = db.write_checked(huge(), Vec::new(), None).err().map(|e| e.code());
        assert_eq!(refused, Some(ErrorCode::Validation));
        db.put(KS, b"after".to_vec(), b"2".to_vec(), None).unwrap();
        drop(db);
        let db = Db::open(&path, opts(Durability::Sync), false).unwrap();
        assert_eq!(db.get(KS, b"before").unwrap(), Some(b"1".to_vec()));
        assert_eq!(db.get(KS, b"after").unwrap(), Some(b"2".to_vec()));
        assert_eq!(db.get(KS, b"huge").unwrap(), None);
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
    fn checked_writes_make_read_modify_write_atomic_under_contention() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::create(&dir.path().join("db"), opts(Durability::Sync)).unwrap();
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let db = db.clone();
                std::thread::spawn(move || {
                    let mut conflicts = 0;
                    for _ in 0..100 {
                        loop {
                            let current = db.newest(KS, b"counter").unwrap();
                            let n = current
                                .as_ref()
                                .and_then(|c| c.value.as_ref())
                                .map_or(0, |v| v[0] as u32 * 256 + v[1] as u32);
                            let mut b = WriteBatch::new();
                            b.put(KS, b"counter".to_vec(), vec![((n + 1) / 256) as u8, ((n + 1) % 256) as u8]);
                            let check =
                                ReadCheck { keyspace: KS, key: b"counter".to_vec(), seq: current.map(|c| c.seq) };
                            match db.write_checked(b, vec![check], None) {
                                Ok(_) => break,
                                Err(e) if e.code() == ErrorCode::TransactionConflict => conflicts += 1,
                                Err(e) => panic!("{e}"),
                            }
                        }
                    }
                    conflicts
                })
            })
            .collect();
        let conflicts: u32 = threads.into_iter().map(|t| t.join().unwrap()).sum();
        let v = db.get(KS, b"counter").unwrap().unwrap();
        assert_eq!(v[0] as u32 * 256 + v[1] as u32, 800, "every increment applied exactly once");
        assert!(conflicts > 0, "8 threads on one key should have collided at least once");
    }

    #[test]
    fn a_segment_cut_short_while_being_created_does_not_block_later_opens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let db = Db::create(&path, Options::default()).unwrap();
        db.put(KS, b"a".to_vec(), b"1".to_vec(), None).unwrap();
        drop(db);
        // A crash right after the next segment was created, before its header was written.
        let newest = wal::list_segments(&crate::vfs::RealFs, &path).unwrap().last().copied().unwrap();
        for partial in [0usize, 3] {
            fs::write(path.join(wal::segment_name(newest + 1)), &b"KSTWAL\x01\x00"[..partial]).unwrap();
            for _ in 0..3 {
                let db = Db::open(&path, Options::default(), false).unwrap();
                assert_eq!(db.get(KS, b"a").unwrap(), Some(b"1".to_vec()));
                db.put(KS, b"b".to_vec(), b"2".to_vec(), None).unwrap();
            }
        }
        let db = Db::open(&path, Options::default(), false).unwrap();
        assert_eq!(db.get(KS, b"b").unwrap(), Some(b"2".to_vec()));
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

    #[test]
    fn a_write_commits_on_the_calling_thread_only_if_it_needs_no_fsync_and_no_switch() {
        let dir = tempfile::tempdir().unwrap();
        let options = Options { memtable_budget_bytes: 64 << 10, ..opts(Durability::Sync) };
        let db = Db::create(dir.path(), options).unwrap();
        let batch = |i: u32| {
            let mut b = WriteBatch::new();
            b.put(KS, format!("k{i:05}").into_bytes(), vec![b'v'; 100]);
            b
        };
        // The default here is Sync: an fsync is never made on the caller's thread.
        assert!(db.try_write_now(batch(0), None).is_none());
        assert!(db.try_write_now(batch(0), Some(Durability::Sync)).is_none());
        assert_eq!(db.get(KS, b"k00000").unwrap(), None, "a refused write writes nothing");
        assert!(db.try_write_now(WriteBatch::new(), Some(Durability::Buffered)).is_some_and(|r| r.is_ok()));
        // Not durable writes commit here, except one that would switch memtables: it is refused
        // and goes the usual way. One that reaches the end of the WAL's preallocated zeros writes
        // the next ones itself.
        let inner = db.inner();
        let active = || Arc::as_ptr(&inner.mem.read().active) as usize;
        let wal_len = || {
            let name = wal::segment_name(inner.wal.lock().number());
            std::fs::metadata(dir.path().join(name)).unwrap().len()
        };
        let (mut inline, mut usual, mut switches, mut grew) = (0u64, 0u64, 0u64, 0u64);
        let mut refused_for_zeros = Vec::new();
        let mut i = 0u32;
        while switches < 2 {
            let (before, len_before) = (active(), wal_len());
            // A background thread may hold a lock a moment (the syncer, woken by a switch, takes
            // the WAL's): a refusal that a retry does not undo is the engine's answer.
            let mut tried = db.try_write_now(batch(i), Some(Durability::Buffered));
            for _ in 0..5 {
                if tried.is_some() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(2));
                tried = db.try_write_now(batch(i), Some(Durability::Buffered));
            }
            match tried {
                Some(committed) => {
                    committed.unwrap();
                    inline += 1;
                    assert_eq!(active(), before, "write {i} switched memtables on the calling thread");
                    grew += u64::from(wal_len() > len_before);
                }
                None => {
                    db.write(batch(i), Some(Durability::Buffered)).unwrap();
                    usual += 1;
                    let switched = active() != before;
                    switches += u64::from(switched);
                    if !switched && wal_len() > len_before {
                        refused_for_zeros.push(i);
                    }
                }
            }
            i += 1;
            assert!(i < 10_000, "a memtable switch must come");
        }
        assert!(refused_for_zeros.is_empty(), "writes {refused_for_zeros:?} were refused for the WAL's zeros");
        assert!(inline > 10 * usual, "{inline} writes on the calling thread, {usual} the usual way");
        assert!(grew >= 2, "the WAL's preallocated zeros grew during {grew} writes on the calling thread");
        assert_eq!(inner.inline_commits.load(Ordering::Relaxed), inline);
        for k in 0..i {
            assert_eq!(db.get(KS, format!("k{k:05}").as_bytes()).unwrap(), Some(vec![b'v'; 100]));
        }
        drop(db);
        let db = Db::open(dir.path(), Options::default(), false).unwrap();
        for k in 0..i {
            assert_eq!(db.get(KS, format!("k{k:05}").as_bytes()).unwrap(), Some(vec![b'v'; 100]), "k{k} after reopen");
        }
    }
}
