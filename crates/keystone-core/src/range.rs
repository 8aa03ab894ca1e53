//! Range reads: every live version of a keyspace's keys between two bounds, at one snapshot,
//! merged from the memtables and the SSTs of one version, newest version per key, deletions
//! hidden. Query and Scan page through this.
//!
//! Concurrency contract: a `RangeIter` owns `Arc`s of the memtables and of the version it
//! started with, so flushes and compactions that finish meanwhile change nothing it sees (the
//! files it reads are not deleted while it holds the version). Entries newer than its snapshot
//! are skipped, so it reads one consistent snapshot however long it runs.

use std::ops::Bound;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::batch::Keyspace;
use crate::db::Inner;
use crate::error::Result;
use crate::memtable::Memtable;
use crate::sst::{EntryKind, SstIter};
use crate::version::{Version, NUM_LEVELS};

/// Memtable entries read a chunk at a time (see `Memtable::chunk`), up to the range's end. A
/// chunk lends its entries from the memtable's buffers (a reference count each, no copy).
/// Chunks start small and double, so a short Query merges little more of the memtable's runs
/// than it returns and a long Scan still reads in large steps.
struct MemSource {
    mem: Arc<Memtable>,
    keyspace: Keyspace,
    next: Option<(Vec<u8>, u64)>,
    end: Bound<Vec<u8>>,
    chunk_len: usize,
    buffer: Vec<crate::memtable::MemEntry>,
    /// The entry of `buffer` the cursor stands on.
    at: usize,
}

const FIRST_MEM_CHUNK: usize = 16;
const MAX_MEM_CHUNK: usize = 256;

impl MemSource {
    /// Makes the cursor stand on an entry, reading the next chunk if needed; false at the end.
    fn fill(&mut self) -> bool {
        while self.at >= self.buffer.len() {
            let Some((key, seq)) = self.next.take() else { return false };
            let end = self.end.as_ref().map(Vec::as_slice);
            let asked = self.chunk_len;
            let chunk = self.mem.chunk(self.keyspace, &key, seq, end, asked);
            self.chunk_len = (asked * 2).min(MAX_MEM_CHUNK);
            // The next chunk starts just after this one's last entry; a short chunk was the last.
            self.next = match chunk.last() {
                Some(e) if chunk.len() == asked => e
                    .seq()
                    .checked_sub(1)
                    .map(|s| (e.key().to_vec(), s))
                    .or_else(|| Some((successor(e.key()), u64::MAX))),
                _ => None,
            };
            self.buffer = chunk;
            self.at = 0;
        }
        true
    }

    fn entry(&self) -> Option<(&[u8], u64, EntryKind, &[u8])> {
        let e = self.buffer.get(self.at)?;
        Some(match e.value() {
            Some(v) => (e.key(), e.seq(), EntryKind::Put, v),
            None => (e.key(), e.seq(), EntryKind::Delete, &[]),
        })
    }
}

/// The smallest key greater than `key`.
fn successor(key: &[u8]) -> Vec<u8> {
    let mut k = key.to_vec();
    k.push(0);
    k
}

/// One sorted source of a range read: a memtable or an SST, read as a cursor that lends the
/// entry it stands on.
enum Cursor {
    Mem(MemSource),
    Sst(SstIter),
}

impl Cursor {
    fn fill(&mut self) -> Result<bool> {
        match self {
            Cursor::Mem(m) => Ok(m.fill()),
            Cursor::Sst(s) => s.fill(),
        }
    }

    /// Key, seq, kind and value of the entry the cursor stands on (after a `fill` that returned
    /// true).
    fn entry(&self) -> Option<(&[u8], u64, EntryKind, &[u8])> {
        match self {
            Cursor::Mem(m) => m.entry(),
            Cursor::Sst(s) => s.entry(),
        }
    }

    fn advance(&mut self) -> Result<()> {
        match self {
            Cursor::Mem(m) => {
                m.at += 1;
                Ok(())
            }
            Cursor::Sst(s) => s.advance(),
        }
    }
}

/// Live (key, value) pairs in key order. Read with [`RangeIter::next_pair`], which lends each
/// pair without copying it, or as an `Iterator` of owned pairs.
///
/// The sources are merged by picking, at each step, the cursor whose entry is smallest in
/// internal-key order (key ascending, then seq descending; equal entries: the lower source,
/// which is the newer memtable). A range has a handful of sources (the memtables, the L0 files,
/// one file per deeper level), so a scan of them costs less than keeping a heap.
pub struct RangeIter {
    cursors: Vec<Cursor>,
    /// Indices of the cursors that stand on an entry.
    live: Vec<usize>,
    started: bool,
    /// The cursor whose entry was lent last: stepped past at the next call.
    lent: Option<usize>,
    snapshot: u64,
    end: Bound<Vec<u8>>,
    /// The key of the last version handled, so older versions of it are skipped.
    last_key: Vec<u8>,
    has_last_key: bool,
    done: bool,
    /// Keeps the files of the version this iterator reads from being deleted.
    _version: Arc<Version>,
}

impl RangeIter {
    fn past_end(end: &Bound<Vec<u8>>, key: &[u8]) -> bool {
        match end {
            Bound::Included(e) => key > e.as_slice(),
            Bound::Excluded(e) => key >= e.as_slice(),
            Bound::Unbounded => false,
        }
    }

    /// The next live pair, lent until the next call; none once the range is done. After an
    /// error the range is done.
    pub fn next_pair(&mut self) -> Result<Option<(&[u8], &[u8])>> {
        if self.done {
            return Ok(None);
        }
        match self.next_live() {
            Ok(Some(i)) => Ok(self.cursors.get(i).and_then(Cursor::entry).map(|(k, _, _, v)| (k, v))),
            Ok(None) => {
                self.done = true;
                Ok(None)
            }
            Err(e) => {
                self.done = true;
                Err(e)
            }
        }
    }

    /// Moves to the next live version and returns the cursor that stands on it.
    fn next_live(&mut self) -> Result<Option<usize>> {
        if !self.started {
            self.started = true;
            for (i, c) in self.cursors.iter_mut().enumerate() {
                if c.fill()? {
                    self.live.push(i);
                }
            }
        }
        if let Some(i) = self.lent.take() {
            self.step(i)?;
        }
        loop {
            let Some(i) = self.smallest() else { return Ok(None) };
            let Some((key, seq, kind, _)) = self.cursors.get(i).and_then(Cursor::entry) else { return Ok(None) };
            if Self::past_end(&self.end, key) {
                return Ok(None);
            }
            let older = self.has_last_key && self.last_key.as_slice() == key;
            if seq <= self.snapshot && !older {
                self.last_key.clear();
                self.last_key.extend_from_slice(key);
                self.has_last_key = true;
                if kind == EntryKind::Put {
                    self.lent = Some(i);
                    return Ok(Some(i));
                }
            }
            self.step(i)?;
        }
    }

    /// Steps cursor `i` past its entry, dropping it from `live` at its end.
    fn step(&mut self, i: usize) -> Result<()> {
        let Some(c) = self.cursors.get_mut(i) else { return Ok(()) };
        c.advance()?;
        if !c.fill()? {
            self.live.retain(|&j| j != i);
        }
        Ok(())
    }

    /// The live cursor whose entry comes first.
    fn smallest(&self) -> Option<usize> {
        let mut best: Option<(usize, &[u8], u64)> = None;
        for &i in &self.live {
            let Some((key, seq, _, _)) = self.cursors.get(i).and_then(Cursor::entry) else { continue };
            let better = match best {
                None => true,
                // `live` is in source order, so on a tie the earlier source stays first.
                Some((_, k, s)) => key < k || (key == k && seq > s),
            };
            if better {
                best = Some((i, key, seq));
            }
        }
        best.map(|(i, _, _)| i)
    }
}

impl Iterator for RangeIter {
    type Item = Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_pair() {
            Ok(Some((k, v))) => Some(Ok((k.to_vec(), v.to_vec()))),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

impl Inner {
    /// Every live pair of `keyspace` with `start <= key` (or `<`) and key before `end`, in key
    /// order, read at the current snapshot.
    pub(crate) fn range(&self, keyspace: Keyspace, start: Bound<&[u8]>, end: Bound<&[u8]>) -> Result<RangeIter> {
        let snapshot = self.visible_seq.load(Ordering::Acquire);
        let (from, skip_from) = match start {
            Bound::Included(k) => (k.to_vec(), false),
            Bound::Excluded(k) => (k.to_vec(), true),
            Bound::Unbounded => (Vec::new(), false),
        };
        let mut cursors = Vec::new();
        {
            let m = self.mem.read();
            for mem in std::iter::once(&m.active).chain(m.immutable.iter().rev().map(|f| &f.mem)) {
                cursors.push(Cursor::Mem(MemSource {
                    mem: Arc::clone(mem),
                    keyspace,
                    next: Some((from.clone(), u64::MAX)),
                    end: end.map(<[u8]>::to_vec),
                    chunk_len: FIRST_MEM_CHUNK,
                    buffer: Vec::new(),
                    at: 0,
                }));
            }
        }
        let version = Arc::clone(&self.version.read());
        let end_key = match end {
            Bound::Included(e) | Bound::Excluded(e) => Some(e),
            Bound::Unbounded => None,
        };
        for level in 0..NUM_LEVELS {
            for f in version.files(keyspace, level) {
                if f.largest_key.as_slice() < from.as_slice() || end_key.is_some_and(|e| f.smallest_key.as_slice() > e)
                {
                    continue;
                }
                let mut it = self.tables.get(f.file_number)?.iter();
                it.seek(&from)?;
                cursors.push(Cursor::Sst(it));
            }
        }
        let live = Vec::with_capacity(cursors.len());
        Ok(RangeIter {
            cursors,
            live,
            started: false,
            lent: None,
            snapshot,
            end: end.map(<[u8]>::to_vec),
            // Marking the start key as seen skips all of its versions.
            has_last_key: skip_from,
            last_key: if skip_from { from } else { Vec::new() },
            done: false,
            _version: version,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::{Db, Durability, Options};

    fn collect(db: &Db, start: Bound<&[u8]>, end: Bound<&[u8]>) -> Vec<(Vec<u8>, Vec<u8>)> {
        db.inner().range(1, start, end).unwrap().map(|r| r.unwrap()).collect()
    }

    #[test]
    fn a_range_merges_memtables_and_every_level_and_hides_deletes_and_old_versions() {
        let dir = tempfile::tempdir().unwrap();
        let options = Options { durability: Durability::None, memtable_budget_bytes: 64 << 10, ..Options::default() };
        let db = Db::create(&dir.path().join("db"), options).unwrap();
        let mut model = BTreeMap::new();
        let key = |i: u32| format!("k{i:05}").into_bytes();
        for round in 0..4u32 {
            for i in (round..2000).step_by(3) {
                let v = format!("{i}/{round}").into_bytes();
                db.put(1, key(i), v.clone(), None).unwrap();
                model.insert(key(i), v);
            }
            for i in (0..2000).step_by(11 + round as usize) {
                db.delete(1, key(i), None).unwrap();
                model.remove(&key(i));
            }
            db.put(2, key(5), b"other keyspace".to_vec(), None).unwrap();
            match round {
                0 => db.compact().unwrap(),
                1 | 2 => db.flush().unwrap(),
                _ => {}
            }
        }
        let all: Vec<_> = model.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        assert_eq!(collect(&db, Bound::Unbounded, Bound::Unbounded), all);
        let (lo, hi) = (key(500), key(700));
        let want: Vec<_> = model.range(lo.clone()..=hi.clone()).map(|(k, v)| (k.clone(), v.clone())).collect();
        assert_eq!(collect(&db, Bound::Included(&lo), Bound::Included(&hi)), want);
        let want: Vec<_> = model
            .range((Bound::Excluded(lo.clone()), Bound::Excluded(hi.clone())))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        assert_eq!(collect(&db, Bound::Excluded(&lo), Bound::Excluded(&hi)), want);
    }

    #[test]
    fn a_range_reads_the_snapshot_it_started_with() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::create(&dir.path().join("db"), Options::default()).unwrap();
        for i in 0..100u8 {
            db.put(1, vec![i], vec![i], Some(Durability::None)).unwrap();
        }
        let mut it = db.inner().range(1, Bound::Unbounded, Bound::Unbounded).unwrap();
        let first = it.next().unwrap().unwrap();
        db.delete(1, vec![50], None).unwrap();
        db.put(1, vec![200], vec![0], None).unwrap();
        db.flush().unwrap();
        let rest: Vec<_> = it.map(|r| r.unwrap().0).collect();
        assert_eq!(first.0, vec![0]);
        assert_eq!(rest, (1..100u8).map(|i| vec![i]).collect::<Vec<_>>());
    }
}
