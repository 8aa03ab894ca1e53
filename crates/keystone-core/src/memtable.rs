//! The memtable: recent writes, ordered, multi-versioned, in memory.
//!
//! Concurrency contract: one writer at a time inserts (the commit leader, `commit.rs`); any
//! number of readers read concurrently without locks (a lock-free skiplist). A reader passes the
//! snapshot sequence number it reads at; entries newer than that are invisible to it, so a
//! reader never sees a batch that is only half inserted.

use std::sync::atomic::{AtomicUsize, Ordering};

use crossbeam_skiplist::SkipMap;

use crate::batch::{Keyspace, OpKind, WriteBatch};

/// Orders by keyspace, then key ascending, then sequence number descending, so the first entry
/// at or after `(keyspace, key, snapshot)` is the newest version visible at `snapshot`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct InternalKey {
    keyspace: Keyspace,
    key: Vec<u8>,
    seq: u64,
}

impl Ord for InternalKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.keyspace.cmp(&other.keyspace).then_with(|| self.key.cmp(&other.key)).then_with(|| other.seq.cmp(&self.seq))
    }
}

impl PartialOrd for InternalKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// The newest visible version of a key: its sequence number and value (`None`: a deletion).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Newest {
    pub seq: u64,
    pub value: Option<Vec<u8>>,
}

/// One version of one key, as iteration yields it. `value` is `None` for a deletion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemEntry {
    pub keyspace: Keyspace,
    pub key: Vec<u8>,
    pub seq: u64,
    pub value: Option<Vec<u8>>,
}

/// Per-entry overhead assumed for memory accounting (skiplist node, key struct, sequence).
const ENTRY_OVERHEAD_BYTES: usize = 64;

#[derive(Default)]
pub struct Memtable {
    map: SkipMap<InternalKey, Option<Vec<u8>>>,
    approximate_bytes: AtomicUsize,
}

impl Memtable {
    pub fn new() -> Self {
        Self::default()
    }

    /// Inserts every entry of `batch`, entry `i` at `base_seq + i`. Commit leader only.
    pub fn apply(&self, base_seq: u64, batch: WriteBatch) {
        let mut bytes = 0;
        for (i, e) in batch.entries.into_iter().enumerate() {
            bytes += e.key.len() + e.value.len() + ENTRY_OVERHEAD_BYTES;
            let value = match e.kind {
                OpKind::Put => Some(e.value),
                OpKind::Delete => None,
            };
            self.map.insert(InternalKey { keyspace: e.keyspace, key: e.key, seq: base_seq + i as u64 }, value);
        }
        self.approximate_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// The newest version of `key` with a sequence number ≤ `snapshot`.
    pub fn get(&self, keyspace: Keyspace, key: &[u8], snapshot: u64) -> Option<Newest> {
        let probe = InternalKey { keyspace, key: key.to_vec(), seq: snapshot };
        match self.map.lower_bound(std::ops::Bound::Included(&probe)) {
            Some(entry) if entry.key().keyspace == keyspace && entry.key().key == key => {
                Some(Newest { seq: entry.key().seq, value: entry.value().clone() })
            }
            _ => None,
        }
    }

    /// Inserts one entry at `seq` (recovery, which may skip entries already in SSTs).
    pub fn insert(&self, keyspace: Keyspace, key: Vec<u8>, seq: u64, value: Option<Vec<u8>>) {
        let bytes = key.len() + value.as_ref().map_or(0, Vec::len) + ENTRY_OVERHEAD_BYTES;
        self.map.insert(InternalKey { keyspace, key, seq }, value);
        self.approximate_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Every entry in order: keyspace, key ascending, newest version first. For flushing.
    pub fn entries(&self) -> impl Iterator<Item = MemEntry> + '_ {
        self.map.iter().map(|e| MemEntry {
            keyspace: e.key().keyspace,
            key: e.key().key.clone(),
            seq: e.key().seq,
            value: e.value().clone(),
        })
    }

    /// Up to `max` entries of `keyspace` at or after `(start, seq)` in internal-key order
    /// (key ascending, newest version first). Range reads page through a memtable with this, so
    /// they hold no borrow of it between pages.
    pub fn chunk(&self, keyspace: Keyspace, start: &[u8], seq: u64, max: usize) -> Vec<MemEntry> {
        let from = InternalKey { keyspace, key: start.to_vec(), seq };
        self.map
            .range(from..)
            .take_while(|e| e.key().keyspace == keyspace)
            .take(max)
            .map(|e| MemEntry { keyspace, key: e.key().key.clone(), seq: e.key().seq, value: e.value().clone() })
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn approximate_bytes(&self) -> usize {
        self.approximate_bytes.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reader_sees_the_newest_version_at_its_snapshot() {
        let m = Memtable::new();
        let mut b = WriteBatch::new();
        b.put(1, b"k".to_vec(), b"v1".to_vec());
        m.apply(1, b.clone());
        let mut b = WriteBatch::new();
        b.put(1, b"k".to_vec(), b"v2".to_vec());
        m.apply(2, b.clone());
        let mut b = WriteBatch::new();
        b.delete(1, b"k".to_vec());
        m.apply(3, b.clone());
        let value = |snapshot| m.get(1, b"k", snapshot).map(|n| n.value);
        assert_eq!(value(0), None);
        assert_eq!(value(1), Some(Some(b"v1".to_vec())));
        assert_eq!(value(2), Some(Some(b"v2".to_vec())));
        assert_eq!(value(3), Some(None));
        assert_eq!(m.get(1, b"k", u64::MAX), Some(Newest { seq: 3, value: None }));
    }

    #[test]
    fn keyspaces_and_key_prefixes_do_not_leak_into_each_other() {
        let m = Memtable::new();
        let mut b = WriteBatch::new();
        b.put(1, b"ab".to_vec(), b"x".to_vec());
        b.put(2, b"a".to_vec(), b"y".to_vec());
        m.apply(1, b.clone());
        assert_eq!(m.get(1, b"a", u64::MAX), None);
        assert_eq!(m.get(2, b"ab", u64::MAX), None);
        assert_eq!(m.get(2, b"a", u64::MAX).and_then(|n| n.value), Some(b"y".to_vec()));
        assert!(m.approximate_bytes() > 0);
    }
}
