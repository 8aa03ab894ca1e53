//! An ordered cursor over every entry of one SST, for compaction and range scans.
//!
//! It walks the decoded index and, for each index entry, one data block (read through the block
//! cache). Entries come in file order: user key ascending, then seq descending, so every
//! version of a key is yielded, newest first. The first error ends the iteration: after an
//! `Err`, `next` returns `None`.
//!
//! Two ways to read it: as an `Iterator` of owned entries (compaction), or as a cursor that
//! lends the entry it stands on (`fill`, `entry`, `advance`; range reads), which copies nothing.

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

    /// Makes the cursor stand on an entry, reading the next blocks if the current one is used
    /// up. False at the end of the file.
    pub fn fill(&mut self) -> Result<bool> {
        if self.state == State::Unpositioned {
            self.position(None)?;
        }
        if self.state == State::Done {
            return Ok(false);
        }
        loop {
            let Some((data, _)) = &self.data else { return Ok(false) };
            if data.valid() {
                return Ok(true);
            }
            self.data = None;
            self.block += 1;
            let Some((mut data, offset)) = self.load_current_block()? else { return Ok(false) };
            data.seek_to_first().map_err(|e| self.reader.corrupt(offset, e))?;
            self.data = Some((data, offset));
        }
    }

    /// The entry the cursor stands on (after a `fill` that returned true): key, seq, kind, value.
    pub fn entry(&self) -> Option<(&[u8], u64, EntryKind, &[u8])> {
        let (data, _) = self.data.as_ref().filter(|(d, _)| d.valid())?;
        Some((data.key(), data.seq(), data.kind(), data.value()))
    }

    /// Steps past the entry the cursor stands on.
    pub fn advance(&mut self) -> Result<()> {
        if let Some((data, offset)) = &mut self.data {
            let offset = *offset;
            data.advance().map_err(|e| self.reader.corrupt(offset, e))?;
        }
        Ok(())
    }
}

impl Iterator for SstIter {
    type Item = Result<SstEntry>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.state == State::Done {
            return None;
        }
        let filled = match self.pending.take() {
            Some(e) => Err(e),
            None => self.fill(),
        };
        let entry = match filled {
            Ok(true) => self.entry().map(|(k, seq, kind, v)| (k.to_vec(), seq, kind, v.to_vec())),
            Ok(false) => None,
            Err(e) => {
                self.state = State::Done;
                return Some(Err(e));
            }
        };
        let Some(entry) = entry else {
            self.state = State::Done;
            return None;
        };
        if let Err(e) = self.advance() {
            self.pending = Some(e);
        }
        Some(Ok(entry))
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
    fn the_cursor_lends_every_entry_in_file_order_across_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let all = entries(80);
        let (path, _) = write(dir.path(), &all, opts(1, Compression::Lz4));
        let r = SstReader::open(&crate::vfs::RealFs, &path, None).unwrap();
        let mut it = r.iter();
        let mut got = Vec::new();
        while it.fill().unwrap() {
            let (k, seq, kind, v) = it.entry().unwrap();
            got.push((k.to_vec(), seq, kind, v.to_vec()));
            it.advance().unwrap();
        }
        assert_eq!(got, all);
        assert!(it.entry().is_none(), "nothing is lent past the end");
        it.seek(b"key/00040").unwrap();
        assert!(it.fill().unwrap());
        assert_eq!(it.entry().map(|(k, seq, ..)| (k.to_vec(), seq)), Some((all[120].0.clone(), all[120].1)));
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
