//! Writes one SST from entries given in order (see `mod.rs` for the file layout).
//!
//! Crash safety: the file is written as `<path>.tmp`, fsynced, renamed to `<path>`, and the
//! directory fsynced. A crash before the rename leaves only a `.tmp` file, which holds no
//! footer until the very end and which recovery may delete; after the rename the `.sst` is
//! complete and durable. So a file named `*.sst` is always whole. A writer dropped without
//! `finish` deletes its `.tmp` file.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::vfs::{CreateMode, Vfs, WritableFile};
use crate::wal::sync_dir;

use super::block::{cmp_internal, BlockBuilder, EntryKind, MAX_SEQ};
use super::bloom::{self, key_hash, DEFAULT_FALSE_POSITIVE_RATE};
use super::format::{seal_block, BlockHandle, Compression, Footer, MAX_BLOCK_BYTES};
use super::properties::{Properties, SstInfo};

/// Entries between restart points of a data block: LevelDB's default, a balance between
/// prefix compression (longer runs) and seek cost (shorter linear scans).
const DATA_RESTART_INTERVAL: usize = 16;
/// Every index entry is a restart point, so an index seek is a pure binary search.
const INDEX_RESTART_INTERVAL: usize = 1;
/// A key plus value larger than this cannot be stored; it keeps every block under
/// `MAX_BLOCK_BYTES` given `block_size_bytes <= MAX_ENTRY_BYTES`.
const MAX_ENTRY_BYTES: usize = MAX_BLOCK_BYTES / 4;

/// Bytes gathered before one append to the file.
const WRITE_BUFFER_BYTES: usize = 64 * 1024;

/// How to write one SST.
#[derive(Debug, Clone)]
pub struct SstWriteOptions {
    /// Recorded in the properties block.
    pub keyspace: u32,
    /// The LSM level the file is written for, recorded in the properties block.
    pub level: u32,
    /// Unique within the database; also the block cache's key.
    pub file_number: u64,
    /// Target uncompressed size of a data block: a block is cut once it reaches this size.
    pub block_size_bytes: usize,
    /// Target false-positive rate of the bloom filter, in (0, 1).
    pub bloom_false_positive_rate: f64,
    pub compression: Compression,
    pub vfs: Arc<dyn Vfs>,
}

impl Default for SstWriteOptions {
    fn default() -> Self {
        SstWriteOptions {
            keyspace: 0,
            level: 0,
            file_number: 0,
            block_size_bytes: 4096,
            bloom_false_positive_rate: DEFAULT_FALSE_POSITIVE_RATE,
            compression: Compression::default(),
            vfs: crate::vfs::real(),
        }
    }
}

/// Builds one SST. Owned by one flush or compaction thread; not shared.
pub struct SstWriter {
    path: PathBuf,
    tmp_path: PathBuf,
    /// `None` once `finish` has closed it.
    file: Option<Arc<dyn WritableFile>>,
    /// Written bytes not yet appended to `file`.
    buf: Vec<u8>,
    opts: SstWriteOptions,
    offset: u64,
    block: BlockBuilder,
    index: BlockBuilder,
    key_hashes: Vec<u64>,
    last_key: Vec<u8>,
    last_seq: u64,
    props: Properties,
    /// Set once the file has its final name; until then `Drop` deletes the `.tmp` file.
    renamed: bool,
}

impl SstWriter {
    pub fn create(path: &Path, opts: SstWriteOptions) -> Result<SstWriter> {
        let rate = opts.bloom_false_positive_rate;
        if !(rate > 0.0 && rate < 1.0) {
            return Err(Error::validation(format!("bloom_false_positive_rate must be in (0, 1), got {rate}")));
        }
        if opts.block_size_bytes == 0 || opts.block_size_bytes > MAX_ENTRY_BYTES {
            return Err(Error::validation(format!(
                "block_size_bytes must be in 1..={MAX_ENTRY_BYTES}, got {}",
                opts.block_size_bytes
            )));
        }
        let mut tmp = OsString::from(path.as_os_str());
        tmp.push(".tmp");
        let tmp_path = PathBuf::from(tmp);
        let file = opts
            .vfs
            .create(&tmp_path, CreateMode::Truncate)
            .map_err(|e| Error::io(format!("creating {}", tmp_path.display()), e))?;
        let info = SstInfo {
            file_number: opts.file_number,
            keyspace: opts.keyspace,
            level: opts.level,
            entries: 0,
            min_seq: u64::MAX,
            max_seq: 0,
            smallest_key: Vec::new(),
            largest_key: Vec::new(),
            file_size: 0,
            tombstones: 0,
        };
        Ok(SstWriter {
            path: path.to_path_buf(),
            tmp_path,
            file: Some(file),
            buf: Vec::with_capacity(WRITE_BUFFER_BYTES),
            opts,
            offset: 0,
            block: BlockBuilder::new(DATA_RESTART_INTERVAL),
            index: BlockBuilder::new(INDEX_RESTART_INTERVAL),
            key_hashes: Vec::new(),
            last_key: Vec::new(),
            last_seq: 0,
            props: Properties { info, data_blocks: 0 },
            renamed: false,
        })
    }

    /// Entries added so far.
    #[cfg(test)]
    pub fn entries(&self) -> u64 {
        self.props.info.entries
    }

    /// Appends an entry. Entries must come in strictly increasing order: user key ascending,
    /// then seq descending; anything else is a `Validation` error and nothing is written.
    pub fn add(&mut self, key: &[u8], seq: u64, kind: EntryKind, value: &[u8]) -> Result<()> {
        let first = self.props.info.entries == 0;
        if !first && cmp_internal(&self.last_key, self.last_seq, key, seq).is_ge() {
            return Err(Error::validation(format!(
                "SST entries out of order: {:?}@{seq} after {:?}@{}",
                String::from_utf8_lossy(key),
                String::from_utf8_lossy(&self.last_key),
                self.last_seq
            )));
        }
        if seq > MAX_SEQ {
            return Err(Error::validation(format!("sequence number {seq} exceeds {MAX_SEQ}")));
        }
        if kind == EntryKind::Delete && !value.is_empty() {
            return Err(Error::validation("a tombstone carries no value"));
        }
        if key.len() + value.len() > MAX_ENTRY_BYTES {
            return Err(Error::validation(format!("an SST entry is limited to {MAX_ENTRY_BYTES} bytes")));
        }
        self.block.add(key, seq, kind, value)?;
        if first || self.last_key != key {
            self.key_hashes.push(key_hash(key));
        }
        let info = &mut self.props.info;
        if first {
            info.smallest_key = key.to_vec();
        }
        info.entries += 1;
        info.tombstones += u64::from(kind == EntryKind::Delete);
        info.min_seq = info.min_seq.min(seq);
        info.max_seq = info.max_seq.max(seq);
        self.last_key.clear();
        self.last_key.extend_from_slice(key);
        self.last_seq = seq;
        if self.block.estimated_size() >= self.opts.block_size_bytes {
            self.flush_data_block()?;
        }
        Ok(())
    }

    fn flush_data_block(&mut self) -> Result<()> {
        let contents = self.block.finish();
        let handle = self.write_block(&contents, self.opts.compression)?;
        let mut encoded = Vec::with_capacity(20);
        handle.encode(&mut encoded);
        self.index.add(&self.last_key, self.last_seq, EntryKind::Put, &encoded)?;
        self.props.data_blocks += 1;
        Ok(())
    }

    fn write_block(&mut self, contents: &[u8], compression: Compression) -> Result<BlockHandle> {
        let (stored, size) = seal_block(contents, compression)?;
        self.write(&stored)?;
        let handle = BlockHandle { offset: self.offset, size };
        self.offset += stored.len() as u64;
        Ok(handle)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= WRITE_BUFFER_BYTES {
            self.write_out()?;
        }
        Ok(())
    }

    fn write_out(&mut self) -> Result<()> {
        let file = self.file.as_ref().ok_or_else(|| Error::validation("SST writer is already finished"))?;
        file.append(&self.buf).map_err(|e| Error::io(format!("writing {}", self.tmp_path.display()), e))?;
        self.buf.clear();
        Ok(())
    }

    /// Writes the filter, properties, index and footer, makes the file durable and gives it its
    /// final name. An SST must hold at least one entry.
    pub fn finish(mut self) -> Result<SstInfo> {
        if self.props.info.entries == 0 {
            return Err(Error::validation("an SST must hold at least one entry"));
        }
        if !self.block.is_empty() {
            self.flush_data_block()?;
        }
        self.props.info.largest_key = self.last_key.clone();
        self.props.check()?;
        let filter = bloom::build(&self.key_hashes, self.opts.bloom_false_positive_rate);
        let filter = self.write_block(&filter, Compression::None)?;
        let properties = self.write_block(&self.props.encode(), Compression::None)?;
        let index_contents = self.index.finish();
        let index = self.write_block(&index_contents, Compression::None)?;
        let footer = Footer { index, filter, properties }.encode();
        self.write(&footer)?;
        self.offset += footer.len() as u64;

        self.write_out()?;
        let what = |verb: &str| format!("{verb} {}", self.tmp_path.display());
        let file = self.file.take().ok_or_else(|| Error::validation("SST writer is already finished"))?;
        file.sync().map_err(|e| Error::io(what("fsync of"), e))?;
        drop(file);
        let vfs = Arc::clone(&self.opts.vfs);
        vfs.rename(&self.tmp_path, &self.path).map_err(|e| Error::io(what("renaming"), e))?;
        self.renamed = true;
        let dir = match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        sync_dir(&*vfs, dir)?;
        let mut info = self.props.info.clone();
        info.file_size = self.offset;
        Ok(info)
    }
}

impl Drop for SstWriter {
    fn drop(&mut self) {
        if !self.renamed {
            // Abandoned or failed: the partial file is of no use to anyone. Close it first.
            drop(self.file.take());
            let _ = self.opts.vfs.remove(&self.tmp_path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use std::fs;

    fn code<T>(r: Result<T>) -> Option<ErrorCode> {
        r.err().map(|e| e.code())
    }

    #[test]
    fn out_of_order_entries_are_rejected_and_the_writer_stays_usable() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = SstWriter::create(&dir.path().join("000001.sst"), SstWriteOptions::default()).unwrap();
        w.add(b"b", 10, EntryKind::Put, b"v").unwrap();
        assert_eq!(code(w.add(b"a", 20, EntryKind::Put, b"v")), Some(ErrorCode::Validation), "smaller key");
        assert_eq!(code(w.add(b"b", 11, EntryKind::Put, b"v")), Some(ErrorCode::Validation), "newer seq after older");
        assert_eq!(code(w.add(b"b", 10, EntryKind::Put, b"v")), Some(ErrorCode::Validation), "duplicate");
        w.add(b"b", 9, EntryKind::Delete, b"").unwrap();
        w.add(b"c", 50, EntryKind::Put, b"v").unwrap();
        assert_eq!(w.entries(), 3);
        let info = w.finish().unwrap();
        assert_eq!((info.entries, info.tombstones, info.min_seq, info.max_seq), (3, 1, 9, 50));
        assert_eq!((info.smallest_key.as_slice(), info.largest_key.as_slice()), (&b"b"[..], &b"c"[..]));
    }

    #[test]
    fn entries_the_format_cannot_hold_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = SstWriter::create(&dir.path().join("000001.sst"), SstWriteOptions::default()).unwrap();
        assert_eq!(code(w.add(b"k", MAX_SEQ + 1, EntryKind::Put, b"v")), Some(ErrorCode::Validation));
        assert_eq!(code(w.add(b"k", 1, EntryKind::Delete, b"v")), Some(ErrorCode::Validation));
        assert_eq!(w.entries(), 0);
    }

    #[test]
    fn invalid_options_are_rejected_before_any_file_is_made() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("000001.sst");
        for rate in [0.0, 1.0, -0.5, f64::NAN] {
            let opts = SstWriteOptions { bloom_false_positive_rate: rate, ..SstWriteOptions::default() };
            assert_eq!(code(SstWriter::create(&path, opts)), Some(ErrorCode::Validation), "rate {rate}");
        }
        let opts = SstWriteOptions { block_size_bytes: 0, ..SstWriteOptions::default() };
        assert_eq!(code(SstWriter::create(&path, opts)), Some(ErrorCode::Validation));
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn file_is_written_as_tmp_and_appears_under_its_name_only_when_finished() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("000012.sst");
        let tmp = dir.path().join("000012.sst.tmp");
        let mut w = SstWriter::create(&path, SstWriteOptions::default()).unwrap();
        w.add(b"k", 1, EntryKind::Put, b"v").unwrap();
        assert!(tmp.exists() && !path.exists());
        let info = w.finish().unwrap();
        assert!(!tmp.exists() && path.exists());
        assert_eq!(info.file_size, fs::metadata(&path).unwrap().len());
    }

    #[test]
    fn abandoned_or_empty_writer_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = SstWriter::create(&dir.path().join("000001.sst"), SstWriteOptions::default()).unwrap();
        w.add(b"k", 1, EntryKind::Put, b"v").unwrap();
        drop(w);
        let w = SstWriter::create(&dir.path().join("000002.sst"), SstWriteOptions::default()).unwrap();
        assert_eq!(code(w.finish()), Some(ErrorCode::Validation));
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
