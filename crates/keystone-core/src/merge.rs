//! A k-way merge of sorted entry streams (memtables, SSTs) into one stream in internal-key
//! order: user key ascending, then sequence number descending. Compaction reads through it.
//! Range reads merge their sources themselves (`range.rs`), lending entries instead of moving
//! owned copies through a heap.
//!
//! Each source must already be in that order; a source that yields an error ends the merge
//! with that error (the caller never sees entries from a damaged stream after the damage).

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::error::Result;
use crate::sst::EntryKind;

/// One version of one key: (user key, sequence number, kind, value).
pub type Entry = (Vec<u8>, u64, EntryKind, Vec<u8>);

pub type Source<'a> = Box<dyn Iterator<Item = Result<Entry>> + Send + 'a>;

struct Head {
    entry: Entry,
    source: usize,
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Head {}
impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Head {
    /// Reversed, so the max-heap pops the smallest internal key first. Equal keys and
    /// sequence numbers (a version present in two sources) pop the lower source index first.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .entry
            .0
            .cmp(&self.entry.0)
            .then_with(|| self.entry.1.cmp(&other.entry.1))
            .then_with(|| other.source.cmp(&self.source))
    }
}

pub struct MergeIter<'a> {
    sources: Vec<Source<'a>>,
    heap: BinaryHeap<Head>,
    started: bool,
    failed: bool,
}

impl<'a> MergeIter<'a> {
    pub fn new(sources: Vec<Source<'a>>) -> Self {
        MergeIter { sources, heap: BinaryHeap::new(), started: false, failed: false }
    }

    fn pull(&mut self, source: usize) -> Result<()> {
        if let Some(next) = self.sources.get_mut(source).and_then(Iterator::next) {
            self.heap.push(Head { entry: next?, source });
        }
        Ok(())
    }
}

impl Iterator for MergeIter<'_> {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Result<Entry>> {
        if self.failed {
            return None;
        }
        if !self.started {
            self.started = true;
            for i in 0..self.sources.len() {
                if let Err(e) = self.pull(i) {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
        let head = self.heap.pop()?;
        if let Err(e) = self.pull(head.source) {
            self.failed = true;
            return Some(Err(e));
        }
        Some(Ok(head.entry))
    }
}

/// Keeps only the newest version of each user key (the first one in merge order).
pub struct NewestOnly<I> {
    inner: I,
    last_key: Option<Vec<u8>>,
    /// Older versions skipped so far.
    pub shadowed: u64,
}

impl<I> NewestOnly<I> {
    pub fn new(inner: I) -> Self {
        NewestOnly { inner, last_key: None, shadowed: 0 }
    }
}

impl<I: Iterator<Item = Result<Entry>>> Iterator for NewestOnly<I> {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Result<Entry>> {
        loop {
            let entry = match self.inner.next()? {
                Ok(e) => e,
                Err(e) => return Some(Err(e)),
            };
            if self.last_key.as_deref() == Some(entry.0.as_slice()) {
                self.shadowed += 1;
                continue;
            }
            self.last_key = Some(entry.0.clone());
            return Some(Ok(entry));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    fn src(entries: Vec<(&'static str, u64)>) -> Source<'static> {
        Box::new(entries.into_iter().map(|(k, s)| Ok((k.as_bytes().to_vec(), s, EntryKind::Put, vec![s as u8]))))
    }

    #[test]
    fn merges_in_key_order_with_the_newest_version_first() {
        let m = MergeIter::new(vec![src(vec![("a", 1), ("c", 5)]), src(vec![("a", 3), ("b", 2), ("c", 4)])]);
        let got: Vec<(Vec<u8>, u64)> = m.map(|e| e.map(|e| (e.0, e.1)).unwrap()).collect();
        let want: Vec<(Vec<u8>, u64)> = [("a", 3), ("a", 1), ("b", 2), ("c", 5), ("c", 4)]
            .iter()
            .map(|(k, s)| (k.as_bytes().to_vec(), *s))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn newest_only_drops_shadowed_versions_and_counts_them() {
        let m = MergeIter::new(vec![src(vec![("a", 1), ("c", 5)]), src(vec![("a", 3), ("b", 2), ("c", 4)])]);
        let mut n = NewestOnly::new(m);
        let got: Vec<u64> = n.by_ref().map(|e| e.unwrap().1).collect();
        assert_eq!(got, vec![3, 2, 5]);
        assert_eq!(n.shadowed, 2);
    }

    #[test]
    fn an_error_in_any_source_ends_the_merge_with_that_error() {
        let bad: Source<'static> = Box::new(
            vec![Ok((b"b".to_vec(), 1, EntryKind::Put, vec![])), Err(Error::corruption("damaged block"))].into_iter(),
        );
        let results: Vec<_> = MergeIter::new(vec![src(vec![("a", 1), ("z", 1)]), bad]).collect();
        assert!(results.iter().any(|r| r.is_err()));
        assert!(results.last().is_some_and(|r| r.is_err()), "nothing follows the error");
    }
}
