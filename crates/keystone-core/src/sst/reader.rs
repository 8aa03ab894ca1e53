//! Opens an SST and answers point lookups (see `mod.rs` for the file layout).
//!
//! `open` reads and verifies the footer, then the properties, filter and index blocks, which it
//! keeps in memory (the index decoded: `index.rs`); data blocks are read on demand with
//! positional reads, through the block cache when there is one. Every block's checksum is
//! verified before any byte of it is interpreted, so damage surfaces as a `Corruption` error
//! naming the file and the offset.
//!
//! Concurrency: an `SstReader` is immutable after `open` and `Send + Sync`; clones share one
//! open file, and any number of threads may call `get` and `iter` at once (positional reads
//! do not move a shared file cursor).

use std::path::{Path, PathBuf};
#[cfg(test)]
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::vfs::{ReadableFile, Vfs};

use super::block::{Block, EntryKind, Lookup};
use super::bloom::BloomFilter;
use super::cache::BlockCache;
use super::format::{unseal_block, BlockHandle, Footer, FOOTER_LEN};
use super::index::Index;
use super::iter::SstIter;
use super::properties::{Properties, SstInfo};

/// The newest version of a key visible at a snapshot. A `Delete` means the key is deleted as
/// of `seq`, and older files must not be consulted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub seq: u64,
    pub kind: EntryKind,
    pub value: Vec<u8>,
}

/// A read handle on one SST. Cheap to clone.
#[derive(Clone)]
pub struct SstReader {
    inner: Arc<ReaderInner>,
}

pub(super) struct ReaderInner {
    path: PathBuf,
    file: Arc<dyn ReadableFile>,
    info: SstInfo,
    pub(super) index: Index,
    filter: BloomFilter,
    cache: Option<Arc<BlockCache>>,
    /// Where the data blocks end; a data block handle pointing past it is damage.
    data_end: u64,
    /// Data blocks fetched (from the cache or the file) since open.
    #[cfg(test)]
    data_block_reads: AtomicU64,
}

impl SstReader {
    pub fn open(vfs: &dyn Vfs, path: &Path, cache: Option<Arc<BlockCache>>) -> Result<SstReader> {
        let file = vfs.open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        let file_size = file.size().map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        let corrupt =
            |at: u64, e: Error| Error::corruption(format!("{} at offset {at}: {}", path.display(), e.message()));
        let footer_at = file_size
            .checked_sub(FOOTER_LEN as u64)
            .ok_or_else(|| corrupt(0, Error::corruption(format!("{file_size} bytes is too short for an SST"))))?;
        let footer = read_at(&*file, path, footer_at, FOOTER_LEN)?;
        let footer = Footer::decode(&footer).map_err(|e| corrupt(footer_at, e))?;
        let data_end =
            [footer.index.offset, footer.filter.offset, footer.properties.offset].into_iter().min().unwrap_or(0);
        let meta = |h: BlockHandle| -> Result<Vec<u8>> {
            let stored = read_block_bytes(&*file, path, h, footer_at)?;
            unseal_block(&stored).map_err(|e| corrupt(h.offset, e))
        };
        let props = Properties::decode(&meta(footer.properties)?, file_size)
            .map_err(|e| corrupt(footer.properties.offset, e))?;
        let filter = BloomFilter::parse(meta(footer.filter)?).map_err(|e| corrupt(footer.filter.offset, e))?;
        // Decode the whole index once: a damaged index fails here rather than on a later lookup.
        let index =
            Block::parse(meta(footer.index)?).and_then(Index::decode).map_err(|e| corrupt(footer.index.offset, e))?;
        if index.len() as u64 != props.data_blocks {
            let e =
                Error::corruption(format!("index lists {} data blocks, properties {}", index.len(), props.data_blocks));
            return Err(corrupt(footer.index.offset, e));
        }
        let inner = ReaderInner {
            path: path.to_path_buf(),
            file,
            info: props.info,
            index,
            filter,
            cache,
            data_end,
            #[cfg(test)]
            data_block_reads: AtomicU64::new(0),
        };
        Ok(SstReader { inner: Arc::new(inner) })
    }

    /// What the file holds, from its properties block.
    pub fn info(&self) -> &SstInfo {
        &self.inner.info
    }

    /// The newest version of `key` with seq <= `snapshot`, if this file has one. Consults the
    /// key range and the bloom filter before reading any data block.
    pub fn get(&self, key: &[u8], snapshot: u64) -> Result<Option<Found>> {
        let inner = &self.inner;
        if key < inner.info.smallest_key.as_slice() || key > inner.info.largest_key.as_slice() {
            return Ok(None);
        }
        if !inner.filter.may_contain(key) {
            return Ok(None);
        }
        let Some(handle) = inner.index.handle(inner.index.seek(key, snapshot)) else {
            return Ok(None);
        };
        let block = inner.data_block(handle, true)?;
        match block.lookup(key, snapshot).map_err(|e| inner.corrupt(handle.offset, e))? {
            Lookup::Found { seq, kind, value } => Ok(Some(Found { seq, kind, value: value.to_vec() })),
            Lookup::Absent => Ok(None),
            Lookup::PastEnd => {
                let e = Error::corruption("data block ends before the key its index entry promises");
                Err(inner.corrupt(handle.offset, e))
            }
        }
    }

    /// Every entry in order; call `SstIter::seek` to start at a key.
    pub fn iter(&self) -> SstIter {
        SstIter::new(Arc::clone(&self.inner), true)
    }

    /// Like [`SstReader::iter`], for reading a whole file once (compaction): blocks already in
    /// the cache are used, but blocks read from the file are not added to it, so a compaction
    /// neither grows the process by the cache's size nor evicts the blocks reads need.
    pub fn iter_uncached(&self) -> SstIter {
        SstIter::new(Arc::clone(&self.inner), false)
    }

    /// Data blocks fetched since open, from the cache or the file: lets tests prove that a
    /// lookup the bloom filter rules out touches no data block.
    #[cfg(test)]
    pub(crate) fn data_block_reads(&self) -> u64 {
        self.inner.data_block_reads.load(Ordering::Relaxed)
    }
}

impl ReaderInner {
    pub(super) fn corrupt(&self, offset: u64, e: Error) -> Error {
        Error::corruption(format!("{} at offset {offset}: {}", self.path.display(), e.message()))
    }

    /// The data block at `handle`, verified and decompressed, from the cache if it is there;
    /// read from the file otherwise, and then added to the cache if `fill_cache`.
    pub(super) fn data_block(&self, handle: BlockHandle, fill_cache: bool) -> Result<Arc<Block>> {
        #[cfg(test)]
        self.data_block_reads.fetch_add(1, Ordering::Relaxed);
        if let Some(block) = self.cache.as_ref().and_then(|c| c.get(self.info.file_number, handle.offset)) {
            return Ok(block);
        }
        let stored = read_block_bytes(&*self.file, &self.path, handle, self.data_end)?;
        let contents = unseal_block(&stored).map_err(|e| self.corrupt(handle.offset, e))?;
        let block = Arc::new(Block::parse(contents).map_err(|e| self.corrupt(handle.offset, e))?);
        if let Some(cache) = self.cache.as_ref().filter(|_| fill_cache) {
            cache.insert(self.info.file_number, handle.offset, Arc::clone(&block));
        }
        Ok(block)
    }
}

/// The stored bytes (payload and trailer) of the block at `handle`, which must end by `limit`.
fn read_block_bytes(file: &dyn ReadableFile, path: &Path, handle: BlockHandle, limit: u64) -> Result<Vec<u8>> {
    let in_bounds = handle.stored_len().filter(|&l| handle.offset.checked_add(l).is_some_and(|end| end <= limit));
    let len = in_bounds.and_then(|l| usize::try_from(l).ok());
    let Some(len) = len else {
        return Err(Error::corruption(format!(
            "{}: block handle at offset {} size {} lies outside the file",
            path.display(),
            handle.offset,
            handle.size
        )));
    };
    read_at(file, path, handle.offset, len)
}

fn read_at(file: &dyn ReadableFile, path: &Path, offset: u64, len: usize) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    file.read_exact_at(&mut buf, offset)
        .map_err(|e| Error::io(format!("reading {} at offset {offset}", path.display()), e))?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sst::testutil::{entries, opts, write};
    use crate::sst::Compression;

    /// The answer a correct reader gives: the newest version with seq <= snapshot.
    fn expected(all: &[(Vec<u8>, u64, EntryKind, Vec<u8>)], key: &[u8], snapshot: u64) -> Option<Found> {
        all.iter().find(|(k, s, _, _)| k == key && *s <= snapshot).map(|(_, s, kind, v)| Found {
            seq: *s,
            kind: *kind,
            value: v.clone(),
        })
    }

    #[test]
    fn get_returns_the_newest_version_at_or_below_the_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let all = entries(60);
        for (n, c) in [Compression::None, Compression::Lz4, Compression::Zstd].into_iter().enumerate() {
            let (path, _) = write(dir.path(), &all, opts(n as u64 + 1, c));
            let r = SstReader::open(&crate::vfs::RealFs, &path, None).unwrap();
            for k in 0..60u64 {
                let key = format!("key/{k:05}").into_bytes();
                for snapshot in [u64::MAX, 300 + k, 299 + k, 200 + k, 150, 100 + k, 99 + k, 0] {
                    assert_eq!(r.get(&key, snapshot).unwrap(), expected(&all, &key, snapshot), "{c:?} {k}@{snapshot}");
                }
            }
            assert_eq!(r.get(b"key/00010x", u64::MAX).unwrap(), None);
        }
    }

    #[test]
    fn tombstones_are_returned_as_deletes_not_as_absent() {
        let dir = tempfile::tempdir().unwrap();
        let all = entries(10);
        let (path, _) = write(dir.path(), &all, opts(1, Compression::Lz4));
        let r = SstReader::open(&crate::vfs::RealFs, &path, None).unwrap();
        let (key, seq, _, _) = all.iter().find(|e| e.2 == EntryKind::Delete).unwrap();
        let found = r.get(key, *seq).unwrap().unwrap();
        assert_eq!((found.seq, found.kind, found.value.len()), (*seq, EntryKind::Delete, 0));
    }

    #[test]
    fn info_is_rebuilt_from_the_properties_block() {
        let dir = tempfile::tempdir().unwrap();
        let all = entries(60);
        let (path, written) = write(dir.path(), &all, opts(42, Compression::Zstd));
        let info = SstReader::open(&crate::vfs::RealFs, &path, None).unwrap().info().clone();
        assert_eq!(info, written);
        assert_eq!((info.file_number, info.keyspace, info.level), (42, 7, 2));
        assert_eq!(info.entries, 180);
        assert_eq!(info.tombstones, all.iter().filter(|e| e.2 == EntryKind::Delete).count() as u64);
        assert_eq!((info.min_seq, info.max_seq), (100, 359));
        assert_eq!((info.smallest_key.as_slice(), info.largest_key.as_slice()), (&b"key/00000"[..], &b"key/00059"[..]));
        assert_eq!(info.file_size, std::fs::metadata(&path).unwrap().len());
    }

    #[test]
    fn negative_lookup_ruled_out_by_the_bloom_filter_reads_no_data_block() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = write(dir.path(), &entries(200), opts(1, Compression::None));
        let r = SstReader::open(&crate::vfs::RealFs, &path, None).unwrap();
        let mut ruled_out = 0;
        for i in 0..2000 {
            // Inside the key range, so only the filter can spare the read.
            let key = format!("key/{:05}-absent-{i}", i % 199);
            let before = r.data_block_reads();
            assert_eq!(r.get(key.as_bytes(), u64::MAX).unwrap(), None);
            if !r.inner.filter.may_contain(key.as_bytes()) {
                assert_eq!(r.data_block_reads(), before, "{key} read a data block");
                ruled_out += 1;
            }
        }
        assert!(ruled_out > 1900, "only {ruled_out} of 2000 ruled out by the filter");
        let before = r.data_block_reads();
        assert!(r.get(b"key/00005", u64::MAX).unwrap().is_some());
        assert_eq!(r.data_block_reads(), before + 1, "a present key reads exactly one data block");
    }

    #[test]
    fn readers_of_the_same_file_share_cached_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = write(dir.path(), &entries(60), opts(1, Compression::Lz4));
        let cache = Arc::new(BlockCache::new(1 << 20));
        let a = SstReader::open(&crate::vfs::RealFs, &path, Some(Arc::clone(&cache))).unwrap();
        let b = SstReader::open(&crate::vfs::RealFs, &path, Some(Arc::clone(&cache))).unwrap();
        assert!(a.get(b"key/00030", u64::MAX).unwrap().is_some());
        assert_eq!((cache.hits(), cache.misses()), (0, 1));
        assert!(b.get(b"key/00030", u64::MAX).unwrap().is_some());
        assert_eq!((cache.hits(), cache.misses()), (1, 1));
    }

    #[test]
    fn concurrent_gets_through_one_reader_and_cache_all_see_correct_values() {
        let dir = tempfile::tempdir().unwrap();
        let all = Arc::new(entries(100));
        let (path, _) = write(dir.path(), &all, opts(1, Compression::Lz4));
        let cache = Arc::new(BlockCache::new(16 * 1024));
        let r = SstReader::open(&crate::vfs::RealFs, &path, Some(Arc::clone(&cache))).unwrap();
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                let (r, all) = (r.clone(), Arc::clone(&all));
                std::thread::spawn(move || {
                    for i in 0..500u64 {
                        let key = format!("key/{:05}", (i * 7 + t * 13) % 100).into_bytes();
                        let snapshot = 150 + (i % 200);
                        assert_eq!(r.get(&key, snapshot).unwrap(), expected(&all, &key, snapshot));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(cache.hits() + cache.misses(), r.data_block_reads());
        assert!(cache.hits() > 0);
    }

    #[test]
    fn missing_file_is_an_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = SstReader::open(&crate::vfs::RealFs, &dir.path().join("000404.sst"), None).err().map(|e| e.code());
        assert_eq!(err, Some(crate::error::ErrorCode::Io));
    }
}
