//! `SimFs`: an in-memory filesystem for the reliability tests (feature `sim-fs`; not API).
//!
//! It keeps two views of everything: what a running process sees, and what a disk would hold
//! after a power cut. Appended data reaches the durable view only through `WritableFile::sync`;
//! a create, rename, delete or truncate of a name only through `sync_dir` of its directory
//! (truncate itself fsyncs the data). Directories themselves are durable once created.
//!
//! Two kinds of trouble can be armed:
//! - **power loss at mutating call N** (`crash_at`): call N and every call after it fail, as
//!   if the machine had stopped; `power_loss` then replaces the running view with the durable
//!   one (optionally keeping a torn prefix, or a zero-filled stretch, of unsynced appends), and
//!   the filesystem is usable again;
//! - **an I/O error at the Nth call of one kind** (`fail_at`): that one call fails (an append
//!   first writes half its data, as a short write on a full disk does) and later calls work.
//!
//! Every mutating call is counted and labelled with its kind, the kind of file and the thread
//! that made it, so a test can say which crash points it covered.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;

use super::{CreateMode, ReadableFile, Vfs, WritableFile};
use crate::error::Result;

/// The kinds of call that can be made to fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    Create,
    Append,
    Sync,
    Rename,
    Remove,
    Truncate,
    SyncDir,
    /// Positional reads, whole-file reads and opens for reading (not counted as mutating).
    Read,
}

/// Where a mutating call happened: its kind, the kind of file, and the engine thread.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Site {
    pub op: Op,
    /// `wal`, `sst`, `manifest`, `dir` or `other`.
    pub file: &'static str,
    /// The name of the thread (`kstone-flush`, `kstone-compact`, ...) or `caller`.
    pub thread: String,
}

/// What survives of a file's writes since its last fsync when the power goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loss {
    /// None of them.
    Drop,
    /// The first few, in order, and a prefix of the next, all chosen by the seed.
    TornPrefix(u64),
    /// The first few, and the next one's bytes as zeros (a filesystem that persisted the size
    /// or the allocation before the data).
    Zeroed(u64),
}

/// A change to a file's bytes not yet made durable.
#[derive(Clone)]
enum Change {
    Write(u64, Vec<u8>),
    SetLen(u64),
}

fn apply(data: &mut Vec<u8>, change: &Change) {
    match change {
        Change::Write(offset, bytes) => {
            let at = usize::try_from(*offset).unwrap_or(usize::MAX);
            if data.len() < at + bytes.len() {
                data.resize(at + bytes.len(), 0);
            }
            if let Some(dst) = data.get_mut(at..at + bytes.len()) {
                dst.copy_from_slice(bytes);
            }
        }
        Change::SetLen(len) => data.resize(usize::try_from(*len).unwrap_or(usize::MAX), 0),
    }
}

#[derive(Default)]
struct Inode {
    data: Vec<u8>,
    synced: Vec<u8>,
    pending: Vec<Change>,
}

impl Inode {
    fn change(&mut self, change: Change) {
        apply(&mut self.data, &change);
        self.pending.push(change);
    }

    fn sync(&mut self) {
        self.synced = self.data.clone();
        self.pending.clear();
    }
}

#[derive(Default)]
struct State {
    inodes: HashMap<u64, Inode>,
    next_inode: u64,
    live: BTreeMap<PathBuf, u64>,
    durable: BTreeMap<PathBuf, u64>,
    dirs: BTreeSet<PathBuf>,
    mutating: u64,
    counts: HashMap<Op, u64>,
    crash_at: Option<u64>,
    down: bool,
    crash_site: Option<Site>,
    fail: Option<(Op, u64, io::ErrorKind)>,
    failed_site: Option<Site>,
    sites: Vec<Site>,
    record_sites: bool,
}

/// The simulated filesystem. Clones share one state.
#[derive(Clone, Default)]
pub struct SimFs {
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for SimFs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SimFs")
    }
}

fn file_kind(op: Op, path: &Path) -> &'static str {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if op == Op::SyncDir {
        "dir"
    } else if name.starts_with("wal_") {
        "wal"
    } else if name.contains(".sst") {
        "sst"
    } else if name.starts_with("MANIFEST") {
        "manifest"
    } else {
        "other"
    }
}

fn thread_label() -> String {
    std::thread::current()
        .name()
        .filter(|n| n.starts_with("kstone"))
        .map(|n| n.trim_end_matches(|c: char| c.is_ascii_digit() || c == '-').to_string())
        .unwrap_or_else(|| "caller".to_string())
}

fn power_off() -> io::Error {
    io::Error::other("simulated power loss: the machine is off")
}

fn not_found(path: &Path) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("{} not found", path.display()))
}

/// A small deterministic generator (splitmix64) for the torn lengths.
fn mix(seed: u64, salt: u64) -> u64 {
    let mut z = seed.wrapping_add(salt.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl State {
    /// Counts a call; returns the error it must fail with, if any.
    fn enter(&mut self, op: Op, path: &Path) -> Option<io::Error> {
        if self.down {
            return Some(power_off());
        }
        let n = self.counts.entry(op).or_insert(0);
        *n += 1;
        let nth = *n;
        let site = || Site { op, file: file_kind(op, path), thread: thread_label() };
        if let Some((kind, at, error)) = self.fail {
            if kind == op && at == nth {
                self.failed_site = Some(site());
                return Some(io::Error::new(error, format!("simulated {error} on {op:?} #{nth}")));
            }
        }
        if op == Op::Read {
            return None;
        }
        self.mutating += 1;
        if self.record_sites {
            self.sites.push(site());
        }
        if self.crash_at == Some(self.mutating) {
            self.down = true;
            self.crash_site = Some(site());
            return Some(power_off());
        }
        None
    }

    fn inode(&self, path: &Path) -> io::Result<u64> {
        self.live.get(path).copied().ok_or_else(|| not_found(path))
    }
}

impl SimFs {
    pub fn new() -> SimFs {
        SimFs::default()
    }

    /// The power goes at mutating call `n` (1-based, counted from now on).
    pub fn crash_at(&self, n: u64) {
        let mut s = self.state.lock();
        s.crash_at = Some(s.mutating + n);
    }

    /// The `nth` call of kind `op` (counted from now on) fails with `error`.
    pub fn fail_at(&self, op: Op, nth: u64, error: io::ErrorKind) {
        let mut s = self.state.lock();
        let base = s.counts.get(&op).copied().unwrap_or(0);
        s.fail = Some((op, base + nth, error));
        s.failed_site = None;
    }

    /// Records the site of every mutating call from now on (see `sites`).
    pub fn record_sites(&self, on: bool) {
        let mut s = self.state.lock();
        s.record_sites = on;
        s.sites.clear();
    }

    pub fn sites(&self) -> Vec<Site> {
        self.state.lock().sites.clone()
    }

    /// Mutating calls made so far.
    pub fn mutating_calls(&self) -> u64 {
        self.state.lock().mutating
    }

    /// Calls of kind `op` made so far.
    pub fn calls(&self, op: Op) -> u64 {
        self.state.lock().counts.get(&op).copied().unwrap_or(0)
    }

    /// Where the armed power loss hit, if it has.
    pub fn crash_site(&self) -> Option<Site> {
        self.state.lock().crash_site.clone()
    }

    /// Where the armed fault hit, if it has.
    pub fn failed_site(&self) -> Option<Site> {
        self.state.lock().failed_site.clone()
    }

    /// Disarms any fault and any crash that has not happened yet.
    pub fn disarm(&self) {
        let mut s = self.state.lock();
        s.fail = None;
        if !s.down {
            s.crash_at = None;
        }
    }

    /// Cuts the power (if the armed crash has not already) and brings the machine back up:
    /// the running view becomes the durable one, keeping of unsynced appends what `loss` says.
    pub fn power_loss(&self, loss: Loss) {
        let mut s = self.state.lock();
        let s = &mut *s;
        let durable = s.durable.clone();
        let keep: BTreeSet<u64> = durable.values().copied().collect();
        s.inodes.retain(|id, _| keep.contains(id));
        for (id, inode) in s.inodes.iter_mut() {
            let mut after = inode.synced.clone();
            if let (Loss::TornPrefix(seed) | Loss::Zeroed(seed), false) = (loss, inode.pending.is_empty()) {
                let kept = (mix(seed, *id) % (inode.pending.len() as u64 + 1)) as usize;
                for change in inode.pending.iter().take(kept) {
                    apply(&mut after, change);
                }
                if let Some(Change::Write(offset, bytes)) = inode.pending.get(kept) {
                    let n = (mix(seed, id + 1) % (bytes.len() as u64 + 1)) as usize;
                    let part = match loss {
                        Loss::Zeroed(_) => vec![0; n],
                        _ => bytes.get(..n).unwrap_or(&[]).to_vec(),
                    };
                    apply(&mut after, &Change::Write(*offset, part));
                }
            }
            inode.data = after;
            inode.sync();
        }
        s.live = durable;
        s.down = false;
        s.crash_at = None;
        s.fail = None;
    }

    /// The running view's bytes of `path` (for tests that inspect files).
    pub fn contents(&self, path: &Path) -> Option<Vec<u8>> {
        let s = self.state.lock();
        s.live.get(path).and_then(|id| s.inodes.get(id)).map(|i| i.data.clone())
    }
}

struct SimWritable {
    fs: SimFs,
    inode: u64,
    path: PathBuf,
}

impl SimWritable {
    /// Writes `data` at `offset`, or at the end of the file; both count as [`Op::Append`].
    fn write(&self, data: &[u8], offset: Option<u64>) -> io::Result<()> {
        let mut s = self.fs.state.lock();
        let err = s.enter(Op::Append, &self.path);
        let keep = match &err {
            None => data.len(),
            Some(_) if s.down => 0,
            // A short write, as on a disk that filled up in the middle of it.
            Some(_) => data.len() / 2,
        };
        let inode = s.inodes.entry(self.inode).or_default();
        let at = offset.unwrap_or(inode.data.len() as u64);
        inode.change(Change::Write(at, data.get(..keep).unwrap_or(&[]).to_vec()));
        err.map_or(Ok(()), Err)
    }
}

impl WritableFile for SimWritable {
    fn append(&self, data: &[u8]) -> io::Result<()> {
        self.write(data, None)
    }

    fn write_at(&self, data: &[u8], offset: u64) -> io::Result<()> {
        self.write(data, Some(offset))
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        let mut s = self.fs.state.lock();
        if let Some(e) = s.enter(Op::Truncate, &self.path) {
            return Err(e);
        }
        s.inodes.entry(self.inode).or_default().change(Change::SetLen(len));
        Ok(())
    }

    fn sync(&self) -> io::Result<()> {
        let mut s = self.fs.state.lock();
        if let Some(e) = s.enter(Op::Sync, &self.path) {
            return Err(e);
        }
        s.inodes.entry(self.inode).or_default().sync();
        Ok(())
    }
}

struct SimReadable {
    fs: SimFs,
    inode: u64,
    path: PathBuf,
}

impl ReadableFile for SimReadable {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let mut s = self.fs.state.lock();
        if let Some(e) = s.enter(Op::Read, &self.path) {
            return Err(e);
        }
        let data = s.inodes.get(&self.inode).map(|i| i.data.as_slice()).unwrap_or(&[]);
        let start = usize::try_from(offset).map_err(|_| io::Error::from(io::ErrorKind::UnexpectedEof))?;
        let src = data.get(start..start + buf.len()).ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
        buf.copy_from_slice(src);
        Ok(())
    }

    fn size(&self) -> io::Result<u64> {
        let s = self.fs.state.lock();
        Ok(s.inodes.get(&self.inode).map_or(0, |i| i.data.len() as u64))
    }
}

impl Vfs for SimFs {
    fn create(&self, path: &Path, mode: CreateMode) -> io::Result<Arc<dyn WritableFile>> {
        let mut s = self.state.lock();
        if let Some(e) = s.enter(Op::Create, path) {
            return Err(e);
        }
        if !path.parent().is_some_and(|p| s.dirs.contains(p)) {
            return Err(not_found(path));
        }
        let id = match (s.live.get(path).copied(), mode) {
            (Some(_), CreateMode::New) => {
                return Err(io::Error::new(io::ErrorKind::AlreadyExists, format!("{} exists", path.display())))
            }
            (Some(id), CreateMode::Truncate) => {
                // Truncation of an existing file is data, durable with the next sync.
                s.inodes.entry(id).or_default().change(Change::SetLen(0));
                id
            }
            (None, _) => {
                s.next_inode += 1;
                let id = s.next_inode;
                s.inodes.insert(id, Inode::default());
                s.live.insert(path.to_path_buf(), id);
                id
            }
        };
        Ok(Arc::new(SimWritable { fs: self.clone(), inode: id, path: path.to_path_buf() }))
    }

    fn open(&self, path: &Path) -> io::Result<Arc<dyn ReadableFile>> {
        let mut s = self.state.lock();
        if let Some(e) = s.enter(Op::Read, path) {
            return Err(e);
        }
        let id = s.inode(path)?;
        Ok(Arc::new(SimReadable { fs: self.clone(), inode: id, path: path.to_path_buf() }))
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let mut s = self.state.lock();
        if let Some(e) = s.enter(Op::Read, path) {
            return Err(e);
        }
        let id = s.inode(path)?;
        Ok(s.inodes.get(&id).map(|i| i.data.clone()).unwrap_or_default())
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let mut s = self.state.lock();
        if let Some(e) = s.enter(Op::Read, dir) {
            return Err(e);
        }
        if !s.dirs.contains(dir) {
            return Err(not_found(dir));
        }
        let files = s.live.keys().filter(|p| p.parent() == Some(dir));
        let subdirs = s.dirs.iter().filter(|p| p.parent() == Some(dir));
        Ok(files.chain(subdirs).filter_map(|p| p.file_name()?.to_str().map(str::to_string)).collect())
    }

    fn file_size(&self, path: &Path) -> io::Result<u64> {
        let s = self.state.lock();
        let id = s.inode(path)?;
        Ok(s.inodes.get(&id).map_or(0, |i| i.data.len() as u64))
    }

    fn exists(&self, path: &Path) -> bool {
        let s = self.state.lock();
        s.live.contains_key(path) || s.dirs.contains(path)
    }

    fn is_dir(&self, path: &Path) -> bool {
        self.state.lock().dirs.contains(path)
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        let mut s = self.state.lock();
        if let Some(e) = s.enter(Op::Create, dir) {
            return Err(e);
        }
        for d in dir.ancestors() {
            s.dirs.insert(d.to_path_buf());
        }
        Ok(())
    }

    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        if self.exists(path) {
            Ok(path.to_path_buf())
        } else {
            Err(not_found(path))
        }
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut s = self.state.lock();
        if let Some(e) = s.enter(Op::Rename, to) {
            return Err(e);
        }
        let id = s.live.remove(from).ok_or_else(|| not_found(from))?;
        s.live.insert(to.to_path_buf(), id);
        Ok(())
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        let mut s = self.state.lock();
        if let Some(e) = s.enter(Op::Remove, path) {
            return Err(e);
        }
        s.live.remove(path).map(|_| ()).ok_or_else(|| not_found(path))
    }

    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        let mut s = self.state.lock();
        if let Some(e) = s.enter(Op::Truncate, path) {
            return Err(e);
        }
        let id = s.inode(path)?;
        let inode = s.inodes.entry(id).or_default();
        inode.change(Change::SetLen(len.min(inode.data.len() as u64)));
        inode.sync();
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut s = self.state.lock();
        if let Some(e) = s.enter(Op::SyncDir, dir) {
            return Err(e);
        }
        let s = &mut *s;
        s.durable.retain(|p, _| p.parent() != Some(dir));
        for (p, id) in s.live.iter().filter(|(p, _)| p.parent() == Some(dir)) {
            s.durable.insert(p.clone(), *id);
        }
        Ok(())
    }

    fn lock(&self, _dir: &Path) -> Result<Box<dyn Send + Sync>> {
        // One process: the engine's registry already keeps a directory to one engine.
        Ok(Box::new(()))
    }
}
