//! An ordered cursor over every entry of one SST, for compaction and range scans.
//!
//! It walks the decoded index and, for each index entry, one data block (read through the block
//! cache). Entries come in file order: user key ascending, then seq descending, so every
//! version of a key is yielded, newest first. The first error ends the iteration: after an
//! `Err`, `next` returns `None`.

use std::sync::Arc;

use crate::error::{Error, Result};

use super::block::{BlockIter, EntryKind};
use super::reader::ReaderInner;

/// One entry: user key, seq, kind and value (empty for a tombstone).
pub type SstEntry = (Vec<u8>, u64, EntryKind, Vec<u8>);

/// Owns a handle on its reader, so it may outlive the `SstReader` it came from. Used by one
/// thread at a time.
pub struct SstIter {
    reader: Arc<ReaderInner>,
    /// The position in the index of the data block being read (or to read next).
    block: usize,
    /// Whether blocks read from the file go into the block cache.
    fill_cache: bool,
    /// The current data block's cursor and the block's offset (for error messages).
    data: Option<(BlockIter, u64)>,
    state: State,
    /// An error met while stepping past the entry just yielded, reported by the next call.
    pending: Option<Error>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Unpositioned,
    Positioned,
    Done,
}

impl SstIter {
    pub(super) fn new(reader: Arc<ReaderInner>, fill_cache: bool) -> SstIter {
        SstIter { reader, block: 0, fill_cache, data: None, state: State::Unpositioned, pending: None }
    }

    /// Positions the iterator so the next entry is the newest version of the first user key
    /// >= `key`. On error the iterator is exhausted.
    pub fn seek(&mut self, key: &[u8]) -> Result<()> {
        self.position(Some(key)).inspect_err(|_| self.state = State::Done)
    }

    fn position(&mut self, key: Option<&[u8]>) -> Result<()> {
        self.state = State::Done;
        self.pending = None;
        self.data = None;
        self.block = key.map_or(0, |k| self.reader.index.seek(k, u64::MAX));
        if let Some((mut data, offset)) = self.load_current_block()? {
            match key {
                Some(k) => data.seek(k, u64::MAX),
                None => data.seek_to_first(),
            }
            .map_err(|e| self.reader.corrupt(offset, e))?;
            self.data = Some((data, offset));
        }
        self.state = State::Positioned;
        Ok(())
    }

    /// A cursor on the data block at `self.block`, and its offset; none past the last block.
    fn load_current_block(&self) -> Result<Option<(BlockIter, u64)>> {
        let Some(handle) = self.reader.index.handle(self.block) else { return Ok(None) };
        Ok(Some((BlockIter::new(self.reader.data_block(handle, self.fill_cache)?), handle.offset)))
    }

    fn step(&mut self) -> Result<Option<SstEntry>> {
        if let Some(e) = self.pending.take() {
            return Err(e);
        }
        loop {
            let Some((data, offset)) = &mut self.data else {
                return Ok(None);
            };
            if data.valid() {
                let entry = (data.key().to_vec(), data.seq(), data.kind(), data.value().to_vec());
                let offset = *offset;
                if let Err(e) = data.advance() {
                    self.pending = Some(self.reader.corrupt(offset, e));
                }
                return Ok(Some(entry));
            }
            self.data = None;
            self.block += 1;
            let Some((mut data, offset)) = self.load_current_block()? else { return Ok(None) };
            data.seek_to_first().map_err(|e| self.reader.corrupt(offset, e))?;
            self.data = Some((data, offset));
        }
    }
}

impl Iterator for SstIter {
    type Item = Result<SstEntry>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.state == State::Unpositioned {
            if let Err(e) = self.position(None) {
                self.state = State::Done;
                return Some(Err(e));
            }
        }
        if self.state == State::Done {
            return None;
        }
        match self.step() {
            Ok(Some(entry)) => Some(Ok(entry)),
            Ok(None) => {
                self.state = State::Done;
                None
            }
            Err(e) => {
                self.state = State::Done;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::sst::testutil::{entries, opts, write};
    use crate::sst::{Compression, SstReader};

    #[test]
    fn iteration_yields_every_entry_in_file_order_for_every_compression() {
        let dir = tempfile::tempdir().unwrap();
        let all = entries(80);
        for (n, c) in [Compression::None, Compression::Lz4, Compression::Zstd].into_iter().enumerate() {
            let (path, _) = write(dir.path(), &all, opts(n as u64 + 1, c));
            let r = SstReader::open(&crate::vfs::RealFs, &path, None).unwrap();
            let got: Vec<_> = r.iter().collect::<Result<_, _>>().unwrap();
            assert_eq!(got, all, "{c:?}");
        }
    }

    #[test]
    fn seek_starts_at_the_newest_version_of_the_first_key_at_or_after_the_target() {
        let dir = tempfile::tempdir().unwrap();
        let all = entries(80);
        let (path, _) = write(dir.path(), &all, opts(1, Compression::Lz4));
        let r = SstReader::open(&crate::vfs::RealFs, &path, None).unwrap();
        let mut it = r.iter();
        for k in [0usize, 1, 17, 40, 79] {
            it.seek(format!("key/{k:05}").as_bytes()).unwrap();
            let rest: Vec<_> = it.by_ref().collect::<Result<_, _>>().unwrap();
            assert_eq!(rest, all[k * 3..], "exact key {k}");
            // Between two keys: starts at the next one.
            it.seek(format!("key/{k:05}!").as_bytes()).unwrap();
            assert_eq!(it.next().map(|e| e.unwrap()), all.get(k * 3 + 3).cloned(), "after key {k}");
        }
        it.seek(b"a").unwrap();
        assert_eq!(it.next().unwrap().unwrap(), all[0]);
        it.seek(b"zzz").unwrap();
        assert!(it.next().is_none());
    }

    #[test]
    fn iterator_outlives_its_reader() {
        let dir = tempfile::tempdir().unwrap();
        let all = entries(5);
        let (path, _) = write(dir.path(), &all, opts(1, Compression::None));
        let it = SstReader::open(&crate::vfs::RealFs, &path, None).unwrap().iter();
        assert_eq!(it.count(), all.len());
    }
}
