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
use crate::merge::{Entry, MergeIter, Source};
use crate::sst::EntryKind;
use crate::version::{Version, NUM_LEVELS};

/// Memtable entries read a chunk at a time (see `Memtable::chunk`), up to the range's end. Chunks
/// start small and double, so a short Query copies little more than it returns and a long Scan
/// still reads in large steps.
struct MemSource {
    mem: Arc<Memtable>,
    keyspace: Keyspace,
    next: Option<(Vec<u8>, u64)>,
    end: Bound<Vec<u8>>,
    chunk_len: usize,
    buffer: std::vec::IntoIter<crate::memtable::MemEntry>,
}

const FIRST_MEM_CHUNK: usize = 16;
const MAX_MEM_CHUNK: usize = 256;

impl Iterator for MemSource {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Result<Entry>> {
        loop {
            if let Some(e) = self.buffer.next() {
                let (kind, value) = match e.value {
                    Some(v) => (EntryKind::Put, v),
                    None => (EntryKind::Delete, Vec::new()),
                };
                return Some(Ok((e.key, e.seq, kind, value)));
            }
            let (key, seq) = self.next.take()?;
            let end = self.end.as_ref().map(Vec::as_slice);
            let asked = self.chunk_len;
            let chunk = self.mem.chunk(self.keyspace, &key, seq, end, asked);
            self.chunk_len = (asked * 2).min(MAX_MEM_CHUNK);
            // The next chunk starts just after this one's last entry; a short chunk was the last.
            self.next = match chunk.last() {
                Some(e) if chunk.len() == asked => {
                    e.seq.checked_sub(1).map(|s| (e.key.clone(), s)).or_else(|| Some((successor(&e.key), u64::MAX)))
                }
                _ => None,
            };
            self.buffer = chunk.into_iter();
        }
    }
}

/// The smallest key greater than `key`.
fn successor(key: &[u8]) -> Vec<u8> {
    let mut k = key.to_vec();
    k.push(0);
    k
}

/// Live (key, value) pairs in key order.
pub struct RangeIter {
    merged: MergeIter<'static>,
    snapshot: u64,
    end: Bound<Vec<u8>>,
    last_key: Option<Vec<u8>>,
    done: bool,
    /// Keeps the files of the version this iterator reads from being deleted.
    _version: Arc<Version>,
}

impl RangeIter {
    fn past_end(&self, key: &[u8]) -> bool {
        match &self.end {
            Bound::Included(e) => key > e.as_slice(),
            Bound::Excluded(e) => key >= e.as_slice(),
            Bound::Unbounded => false,
        }
    }
}

impl Iterator for RangeIter {
    type Item = Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let (key, seq, kind, value) = match self.merged.next() {
                None => break,
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(e));
                }
                Some(Ok(e)) => e,
            };
            if self.past_end(&key) {
                break;
            }
            if seq > self.snapshot || self.last_key.as_deref() == Some(key.as_slice()) {
                continue;
            }
            self.last_key = Some(key.clone());
            if kind == EntryKind::Put {
                return Some(Ok((key, value)));
            }
        }
        self.done = true;
        None
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
        let mut sources: Vec<Source<'static>> = Vec::new();
        {
            let m = self.mem.read();
            for mem in std::iter::once(&m.active).chain(m.immutable.iter().rev().map(|f| &f.mem)) {
                sources.push(Box::new(MemSource {
                    mem: Arc::clone(mem),
                    keyspace,
                    next: Some((from.clone(), u64::MAX)),
                    end: end.map(<[u8]>::to_vec),
                    chunk_len: FIRST_MEM_CHUNK,
                    buffer: Vec::new().into_iter(),
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
                sources.push(Box::new(it));
            }
        }
        let mut merged = MergeIter::new(sources);
        let mut iter = RangeIter {
            merged: MergeIter::new(Vec::new()),
            snapshot,
            end: end.map(<[u8]>::to_vec),
            last_key: None,
            done: false,
            _version: version,
        };
        if skip_from {
            // Mark the start key as seen, so none of its versions is returned.
            iter.last_key = Some(from);
        }
        std::mem::swap(&mut iter.merged, &mut merged);
        Ok(iter)
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
