//! The write-ahead log: every write batch is appended here, and fsynced before it is
//! acknowledged under `Durability::Sync`.
//!
//! Segments are files `wal_NNNNNN.log` (six or more decimal digits, increasing). Layout:
//!
//! ```text
//! segment := header | record*
//! header  := magic "KSTWAL" (6 bytes) | format version:u16 LE (= 1)
//! record  := crc32c:u32 LE | length:u32 LE | type:u8 | payload (length bytes)
//!
//! crc32c covers type and payload. type 1 = one write batch (batch.rs).
//! ```
//!
//! Crash safety: a batch is one record, written with one write(2) and then fsynced, so a crash
//! leaves at most a torn record at the end of the newest segment. Recovery replays records in
//! order and stops at the first one that is short or fails its checksum; that tail is truncated
//! away, so the batch it held is dropped whole. A segment is fsynced before the next one is
//! started, so only the newest segment can have a torn tail; a bad record in an older segment is
//! reported as corruption rather than silently skipped.
//!
//! Preallocation: the writer keeps zeros written ahead of the last record (`prealloc_bytes` at a
//! time) and writes records into them with pwrite(2). An fdatasync then flushes only data, not
//! the file size, which on this project's test disk takes about 70% of the time (docs/format.md).
//! Zeros after the last record read as a torn tail (type 0 is no record type), which recovery
//! truncates like any other in the newest segment; a segment is cut back to its records and
//! fsynced before the next segment is created, so older segments never end in zeros.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::batch::WriteBatch;
use crate::error::{Error, Result};
use crate::vfs::{CreateMode, Vfs, WritableFile};

pub const WAL_MAGIC: &[u8; 6] = b"KSTWAL";
pub const WAL_FORMAT_VERSION: u16 = 1;
const HEADER_LEN: usize = 8;
pub(crate) const RECORD_HEADER_LEN: usize = 9;
const RECORD_BATCH: u8 = 1;
/// A record longer than this is not something we wrote: treat its length as damage.
const MAX_RECORD_BYTES: u32 = 1 << 30;
/// What preallocation writes from, 64 KiB at a time: one buffer of zeros made on first use,
/// rather than a fresh allocation per extension (a 256 KiB one is a mmap and a munmap each time).
fn zeros() -> &'static [u8] {
    static ZEROS: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    ZEROS.get_or_init(|| vec![0; 64 << 10])
}

pub fn segment_name(number: u64) -> String {
    format!("wal_{number:06}.log")
}

/// The segment number of a file name like `wal_000012.log`.
pub fn parse_segment_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("wal_")?.strip_suffix(".log")?;
    if digits.len() < 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The WAL segment numbers present in `dir`, ascending.
pub fn list_segments(vfs: &dyn Vfs, dir: &Path) -> Result<Vec<u64>> {
    let names = vfs.list(dir).map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
    let mut out: Vec<u64> = names.iter().filter_map(|n| parse_segment_name(n)).collect();
    out.sort_unstable();
    Ok(out)
}

/// Refuses a batch too large for one WAL record: recovery would take a longer record for damage.
/// The memtable also relies on it (an entry's lengths fit in 32 bits).
pub fn check_fits(batch: &WriteBatch) -> Result<()> {
    let len = batch.encoded_len_bound();
    if len > MAX_RECORD_BYTES as usize {
        return Err(Error::validation(format!(
            "a write batch of about {len} bytes is larger than the {} MiB one atomic write may take",
            MAX_RECORD_BYTES >> 20
        )));
    }
    Ok(())
}

pub fn encode_record(batch: &WriteBatch, base_seq: u64, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0u8; RECORD_HEADER_LEN]);
    batch.encode_into(base_seq, out);
    let payload_len = (out.len() - start - RECORD_HEADER_LEN) as u32;
    if let Some(len_field) = out.get_mut(start + 4..start + 8) {
        len_field.copy_from_slice(&payload_len.to_le_bytes());
    }
    if let Some(type_field) = out.get_mut(start + 8) {
        *type_field = RECORD_BATCH;
    }
    let crc = crc32c::crc32c(out.get(start + 8..).unwrap_or_default());
    if let Some(c) = out.get_mut(start..start + 4) {
        c.copy_from_slice(&crc.to_le_bytes());
    }
}

/// The append side of the log. Owned by the commit leader (see `commit.rs`).
pub struct WalWriter {
    vfs: Arc<dyn Vfs>,
    dir: PathBuf,
    number: u64,
    file: Arc<dyn WritableFile>,
    /// Where the next record goes: the end of the header and the records.
    size: u64,
    /// The file's length: zeros from `size` to here.
    allocated: u64,
    prealloc_bytes: u64,
    /// The commit leader's buffer for encoding a group's records, kept between groups (see
    /// [`WalWriter::take_buffer`]).
    buffer: Vec<u8>,
}

/// A records buffer larger than this is not kept for the next group.
const KEPT_BUFFER_BYTES: usize = 4 << 20;

impl WalWriter {
    /// Creates segment `number` with its header, fsyncs it and the directory. `prealloc_bytes`
    /// (0: none) is how far ahead of the records zeros are kept.
    pub fn create(vfs: &Arc<dyn Vfs>, dir: &Path, number: u64, prealloc_bytes: u64) -> Result<WalWriter> {
        let path = dir.join(segment_name(number));
        let what = || format!("creating {}", path.display());
        let file = vfs.create(&path, CreateMode::New).map_err(|e| Error::io(what(), e))?;
        let mut header = Vec::with_capacity(HEADER_LEN);
        header.extend_from_slice(WAL_MAGIC);
        header.extend_from_slice(&WAL_FORMAT_VERSION.to_le_bytes());
        file.write_at(&header, 0).map_err(|e| Error::io(what(), e))?;
        let w = WalWriter {
            vfs: Arc::clone(vfs),
            dir: dir.to_path_buf(),
            number,
            file,
            size: HEADER_LEN as u64,
            allocated: HEADER_LEN as u64,
            prealloc_bytes,
            buffer: Vec::new(),
        };
        // Zeros are written with the first records, not here: opening a database creates a
        // segment, and open should not wait for a quarter MiB of zeros to reach the disk.
        w.file.sync().map_err(|e| Error::io(what(), e))?;
        sync_dir(&**vfs, dir)?;
        Ok(w)
    }

    /// Writes zeros ahead so that `len` more bytes of records fit, `prealloc_bytes` at a time.
    fn make_room(&mut self, len: u64) -> Result<()> {
        let need = self.size + len;
        if self.prealloc_bytes == 0 || need < self.allocated {
            return Ok(());
        }
        let target = (need / self.prealloc_bytes + 1) * self.prealloc_bytes;
        let zeros = zeros();
        let mut at = self.allocated;
        while at < target {
            let n = usize::try_from(target - at).unwrap_or(usize::MAX).min(zeros.len());
            self.file
                .write_at(zeros.get(..n).unwrap_or_default(), at)
                .map_err(|e| Error::io(format!("preallocating {}", segment_name(self.number)), e))?;
            at += n as u64;
        }
        self.allocated = target;
        Ok(())
    }

    pub fn number(&self) -> u64 {
        self.number
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// An empty buffer to encode a group's records into, with room for `bytes`. The same memory
    /// serves every group ([`WalWriter::keep_buffer`]) instead of a new allocation per group on
    /// whichever thread leads it.
    pub fn take_buffer(&mut self, bytes: usize) -> Vec<u8> {
        let mut buffer = std::mem::take(&mut self.buffer);
        buffer.clear();
        buffer.reserve(bytes);
        buffer
    }

    /// Keeps `buffer` for the next group, unless it grew past [`KEPT_BUFFER_BYTES`].
    pub fn keep_buffer(&mut self, buffer: Vec<u8>) {
        if buffer.capacity() <= KEPT_BUFFER_BYTES {
            self.buffer = buffer;
        }
    }

    /// One write(2) of already-encoded records.
    pub fn append(&mut self, records: &[u8]) -> Result<()> {
        self.make_room(records.len() as u64)?;
        self.file
            .write_at(records, self.size)
            .map_err(|e| Error::io(format!("writing {}", segment_name(self.number)), e))?;
        self.size += records.len() as u64;
        Ok(())
    }

    pub fn sync(&self) -> Result<()> {
        self.file.sync().map_err(|e| Error::io(format!("fsync of {}", segment_name(self.number)), e))
    }

    /// A handle that a background syncer can fsync without holding the writer.
    pub fn sync_handle(&self) -> (u64, Arc<dyn WritableFile>) {
        (self.number, Arc::clone(&self.file))
    }

    /// Seals this segment (cut back to its records, fsync) and starts the next one.
    pub fn rotate(&mut self) -> Result<()> {
        self.seal()?;
        let buffer = std::mem::take(&mut self.buffer);
        *self = WalWriter::create(&self.vfs, &self.dir, self.number + 1, self.prealloc_bytes)?;
        self.buffer = buffer;
        Ok(())
    }

    /// Cuts the preallocated zeros off and fsyncs: the segment ends with its last record.
    pub fn seal(&mut self) -> Result<()> {
        if self.allocated > self.size {
            self.file.set_len(self.size).map_err(|e| Error::io(format!("sealing {}", segment_name(self.number)), e))?;
            self.allocated = self.size;
        }
        self.sync()
    }
}

pub fn sync_dir(vfs: &dyn Vfs, dir: &Path) -> Result<()> {
    vfs.sync_dir(dir).map_err(|e| Error::io(format!("fsync of directory {}", dir.display()), e))
}

/// What recovery found in one segment.
pub struct SegmentReplay {
    /// The file is shorter than its header: a crash hit between creating it and the header's
    /// fsync, before any record could be written. It holds nothing.
    pub headerless: bool,
    pub batches: Vec<(u64, WriteBatch)>,
    /// Where the valid records end; `None` if the whole file is valid.
    pub torn_at: Option<u64>,
    /// Everything from `torn_at` on is zeros: preallocated space, not a torn write.
    pub zero_tail: bool,
}

/// Reads every whole, checksummed record of a segment.
pub fn read_segment(vfs: &dyn Vfs, path: &Path) -> Result<SegmentReplay> {
    let buf = vfs.read(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    parse_segment(&buf, &path.display().to_string())
}

/// The core of [`read_segment`]: every whole, checksummed record of a segment's bytes. `name`
/// is the file as error messages name it.
pub fn parse_segment(buf: &[u8], name: &str) -> Result<SegmentReplay> {
    if buf.len() < HEADER_LEN {
        return Ok(SegmentReplay { headerless: true, batches: Vec::new(), torn_at: Some(0), zero_tail: false });
    }
    if buf.get(..6) != Some(WAL_MAGIC.as_slice()) {
        return Err(Error::corruption(format!("{name} is not a keystonedb WAL segment (bad magic)")));
    }
    let version = buf.get(6..8).and_then(|v| v.try_into().ok()).map_or(0, u16::from_le_bytes);
    if version != WAL_FORMAT_VERSION {
        return Err(Error::corruption(format!(
            "{name} has WAL format version {version}, expected {WAL_FORMAT_VERSION}"
        )));
    }
    let mut pos = HEADER_LEN;
    let mut batches = Vec::new();
    while pos < buf.len() {
        let Some(record) = check_record(buf, pos) else {
            let zero_tail = buf.get(pos..).is_some_and(|t| t.iter().all(|&b| b == 0));
            return Ok(SegmentReplay { headerless: false, batches, torn_at: Some(pos as u64), zero_tail });
        };
        let (payload, next) = record;
        let (seq, batch) = WriteBatch::decode(payload)
            .map_err(|e| Error::corruption(format!("{name} at byte {pos}: {}", e.message())))?;
        batches.push((seq, batch));
        pos = next;
    }
    Ok(SegmentReplay { headerless: false, batches, torn_at: None, zero_tail: false })
}

/// The payload of the record at `pos` and where the next starts, if the record is whole and
/// its checksum matches.
fn check_record(buf: &[u8], pos: usize) -> Option<(&[u8], usize)> {
    let header = buf.get(pos..pos + RECORD_HEADER_LEN)?;
    let crc = u32::from_le_bytes(header.get(0..4)?.try_into().ok()?);
    let len = u32::from_le_bytes(header.get(4..8)?.try_into().ok()?);
    if len > MAX_RECORD_BYTES || header.get(8) != Some(&RECORD_BATCH) {
        return None;
    }
    let end = pos + RECORD_HEADER_LEN + len as usize;
    let checked = buf.get(pos + 8..end)?;
    if crc32c::crc32c(checked) != crc {
        return None;
    }
    Some((buf.get(pos + RECORD_HEADER_LEN..end)?, end))
}

/// Cuts a torn tail off a segment so the next recovery does not meet it again.
pub fn truncate_segment(vfs: &dyn Vfs, path: &Path, len: u64) -> Result<()> {
    let what = || format!("truncating the torn tail of {}", path.display());
    let size = vfs.file_size(path).map_err(|e| Error::io(what(), e))?;
    vfs.truncate(path, len.max(HEADER_LEN as u64).min(size)).map_err(|e| Error::io(what(), e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vfs::RealFs;
    use std::fs;

    fn batch(i: u32) -> WriteBatch {
        let mut b = WriteBatch::new();
        b.put(1, format!("key{i}").into_bytes(), vec![i as u8; 10 + i as usize]);
        b.put(1, format!("other{i}").into_bytes(), vec![1; 3]);
        b
    }

    fn write_segment(dir: &Path, n: u32) -> (PathBuf, Vec<usize>) {
        let mut w = WalWriter::create(&crate::vfs::real(), dir, 1, 4096).unwrap();
        let mut ends = Vec::new();
        for i in 0..n {
            let mut rec = Vec::new();
            encode_record(&batch(i), u64::from(i) * 2 + 1, &mut rec);
            w.append(&rec).unwrap();
            ends.push(w.size() as usize);
        }
        w.seal().unwrap();
        (dir.join(segment_name(1)), ends)
    }

    #[test]
    fn segment_names_round_trip_and_reject_strangers() {
        assert_eq!(parse_segment_name(&segment_name(12)), Some(12));
        assert_eq!(parse_segment_name("wal_0000001234567.log"), Some(1_234_567));
        assert_eq!(parse_segment_name("wal_12.log"), None);
        assert_eq!(parse_segment_name("wal_00000x.log"), None);
        assert_eq!(parse_segment_name("000_1.sst"), None);
    }

    #[test]
    fn truncation_at_every_byte_keeps_exactly_the_whole_batches_before_the_cut() {
        let dir = tempfile::tempdir().unwrap();
        let (path, ends) = write_segment(dir.path(), 5);
        let full = fs::read(&path).unwrap();
        for cut in HEADER_LEN..=full.len() {
            fs::write(&path, &full[..cut]).unwrap();
            let replay = read_segment(&RealFs, &path).unwrap();
            let whole = ends.iter().filter(|&&e| e <= cut).count();
            assert_eq!(replay.batches.len(), whole, "cut at {cut}");
            for (i, (seq, b)) in replay.batches.iter().enumerate() {
                assert_eq!(*seq, i as u64 * 2 + 1);
                assert_eq!(*b, batch(i as u32));
            }
        }
    }

    #[test]
    fn a_flipped_bit_is_detected_and_never_replayed() {
        let dir = tempfile::tempdir().unwrap();
        let (path, ends) = write_segment(dir.path(), 3);
        let full = fs::read(&path).unwrap();
        for byte in HEADER_LEN..full.len() {
            for bit in [0u8, 3, 7] {
                let mut damaged = full.clone();
                damaged[byte] ^= 1 << bit;
                fs::write(&path, &damaged).unwrap();
                let replay = read_segment(&RealFs, &path).unwrap();
                // Every record before the damaged one survives; the damaged one and all after
                // it are cut, never replayed with wrong contents.
                let before = ends.iter().filter(|&&e| e <= byte).count();
                assert_eq!(replay.batches.len(), before, "flip at byte {byte} bit {bit}");
                for (i, (_, b)) in replay.batches.iter().enumerate() {
                    assert_eq!(*b, batch(i as u32));
                }
            }
        }
    }

    #[test]
    fn a_file_that_is_not_a_wal_is_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(segment_name(1));
        fs::write(&path, b"definitely not a log").unwrap();
        let err = read_segment(&RealFs, &path).err().map(|e| e.code());
        assert_eq!(err, Some(crate::error::ErrorCode::Corruption));
    }
}
