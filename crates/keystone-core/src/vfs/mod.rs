//! The engine's file I/O, behind one narrow trait.
//!
//! Every file the engine touches (WAL segments, SSTs, the MANIFEST, the LOCK file, directory
//! listings) goes through [`Vfs`]. Production uses [`RealFs`], a direct mapping onto `std::fs`;
//! the reliability tests swap in `sim::SimFs`, an in-memory filesystem that can lose power
//! (every write, create, rename and delete not yet made durable by an fsync is dropped) or fail
//! the Nth call with an I/O error.
//!
//! The contract the engine relies on, and that `SimFs` enforces strictly:
//! - data appended to a file is durable only after [`WritableFile::sync`] (fdatasync) of it;
//! - a create, rename or delete is durable only after [`Vfs::sync_dir`] of its directory;
//! - a rename replaces its target atomically (old name or new name, never neither).

use std::fmt::Debug;
use std::io;
use std::path::Path;
use std::sync::Arc;

use crate::error::Result;

#[cfg(any(test, feature = "sim-fs"))]
pub mod sim;

/// How [`Vfs::create`] treats an existing file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateMode {
    /// Fail with `AlreadyExists` if the file exists (O_CREAT | O_EXCL).
    New,
    /// Create, or truncate an existing file to zero bytes.
    Truncate,
}

/// A file opened for writing. Shared between the WAL writer and the background syncer, so
/// every call takes `&self`. A file is written either by `append` only (SSTs, the MANIFEST) or
/// by `write_at` and `set_len` only (WAL segments, which write into preallocated space).
pub trait WritableFile: Send + Sync {
    /// Appends all of `data` at the end of what was appended so far (one write(2)).
    fn append(&self, data: &[u8]) -> io::Result<()>;
    /// Writes all of `data` at `offset` (one pwrite(2)), extending the file if needed.
    fn write_at(&self, data: &[u8], offset: u64) -> io::Result<()>;
    /// Cuts or extends (with a hole) the file to `len` bytes; durable with the next `sync`.
    fn set_len(&self, len: u64) -> io::Result<()>;
    /// Makes everything appended so far durable (fdatasync).
    fn sync(&self) -> io::Result<()>;
}

/// A file opened for positional reads by any number of threads.
pub trait ReadableFile: Send + Sync {
    /// Fills `buf` from `offset`; a short file is `UnexpectedEof`.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
    fn size(&self) -> io::Result<u64>;
}

/// The filesystem operations the engine uses, and no others.
pub trait Vfs: Send + Sync + Debug {
    fn create(&self, path: &Path, mode: CreateMode) -> io::Result<Arc<dyn WritableFile>>;
    fn open(&self, path: &Path) -> io::Result<Arc<dyn ReadableFile>>;
    /// The whole file.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// The names of the entries of `dir` that are valid UTF-8 (the engine names no others).
    fn list(&self, dir: &Path) -> io::Result<Vec<String>>;
    fn file_size(&self, path: &Path) -> io::Result<u64>;
    fn exists(&self, path: &Path) -> bool;
    fn is_dir(&self, path: &Path) -> bool;
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// The absolute path with symlinks resolved: the key of the per-process engine registry.
    fn canonicalize(&self, path: &Path) -> io::Result<std::path::PathBuf>;
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    fn remove(&self, path: &Path) -> io::Result<()>;
    /// Cuts the file to `len` bytes and makes that durable.
    fn truncate(&self, path: &Path, len: u64) -> io::Result<()>;
    /// Makes the creates, renames and deletes in `dir` durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// Takes the directory's `LOCK` (see `lock.rs`); released when the guard drops.
    fn lock(&self, dir: &Path) -> Result<Box<dyn Send + Sync>>;
}

/// The default: the operating system's filesystem.
#[derive(Debug, Default, Clone, Copy)]
pub struct RealFs;

/// The shared default instance.
pub fn real() -> Arc<dyn Vfs> {
    Arc::new(RealFs)
}

struct RealWritable(std::fs::File);

impl WritableFile for RealWritable {
    fn append(&self, data: &[u8]) -> io::Result<()> {
        io::Write::write_all(&mut &self.0, data)
    }

    #[cfg(unix)]
    fn write_at(&self, data: &[u8], offset: u64) -> io::Result<()> {
        std::os::unix::fs::FileExt::write_all_at(&self.0, data, offset)
    }

    #[cfg(windows)]
    fn write_at(&self, data: &[u8], offset: u64) -> io::Result<()> {
        let mut done = 0;
        while let Some(rest) = data.get(done..).filter(|r| !r.is_empty()) {
            let n = std::os::windows::fs::FileExt::seek_write(&self.0, rest, offset + done as u64)?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            done += n;
        }
        Ok(())
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.0.set_len(len)
    }

    fn sync(&self) -> io::Result<()> {
        self.0.sync_data()
    }
}

struct RealReadable(std::fs::File);

impl ReadableFile for RealReadable {
    #[cfg(unix)]
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(&self.0, buf, offset)
    }

    #[cfg(windows)]
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let mut done = 0;
        while let Some(rest) = buf.get_mut(done..).filter(|r| !r.is_empty()) {
            let n = std::os::windows::fs::FileExt::seek_read(&self.0, rest, offset + done as u64)?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            done += n;
        }
        Ok(())
    }

    fn size(&self) -> io::Result<u64> {
        Ok(self.0.metadata()?.len())
    }
}

impl Vfs for RealFs {
    fn create(&self, path: &Path, mode: CreateMode) -> io::Result<Arc<dyn WritableFile>> {
        let mut o = std::fs::OpenOptions::new();
        match mode {
            CreateMode::New => o.create_new(true).write(true),
            CreateMode::Truncate => o.create(true).write(true).truncate(true),
        };
        Ok(Arc::new(RealWritable(o.open(path)?)))
    }

    fn open(&self, path: &Path) -> io::Result<Arc<dyn ReadableFile>> {
        Ok(Arc::new(RealReadable(std::fs::File::open(path)?)))
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            if let Ok(name) = entry?.file_name().into_string() {
                out.push(name);
            }
        }
        Ok(out)
    }

    fn file_size(&self, path: &Path) -> io::Result<u64> {
        Ok(std::fs::metadata(path)?.len())
    }

    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }

    fn is_dir(&self, path: &Path) -> bool {
        path.is_dir()
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        std::fs::create_dir_all(dir)
    }

    fn canonicalize(&self, path: &Path) -> io::Result<std::path::PathBuf> {
        std::fs::canonicalize(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }

    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        let f = std::fs::OpenOptions::new().write(true).open(path)?;
        f.set_len(len)?;
        f.sync_all()
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        #[cfg(unix)]
        std::fs::File::open(dir)?.sync_all()?;
        #[cfg(not(unix))]
        let _ = dir;
        Ok(())
    }

    fn lock(&self, dir: &Path) -> Result<Box<dyn Send + Sync>> {
        Ok(Box::new(crate::lock::DirLock::acquire(dir)?))
    }
}
