//! The memtable: recent writes, ordered, multi-versioned, in memory.
//!
//! Layout: a few sorted runs of entries, oldest first, each in internal-key order (keyspace,
//! key, newest version first). An insert (one commit group) sorts its entries into a new run,
//! then merges it with the newest runs while they are at most twice its size, so that sizes at
//! least double from the newest run to the oldest: there are O(log n) runs, and an entry is
//! copied O(log n) times in its life, by sequential merges. A read searches the runs newest
//! first (a newer run holds only newer sequence numbers); a range read and a flush merge them.
//!
//! Why not a skiplist (`crossbeam-skiplist`, used before): a bulk load inserts groups of a few
//! hundred random keys, and each skiplist insert walked ~16 levels of nodes scattered over the
//! heap, a cache miss at most of them. In a load of 200,000 items in durable batches of 1,000
//! that search was 27% of the write thread's CPU. With runs, the write thread's CPU fell from
//! 450–540 to 300–350 ms and the flush thread's from 120–140 to 70–80 ms (3 alternating runs),
//! and the load rose from ~200k to ~235k items/s (medians of 5 alternating runs).
//!
//! Concurrency contract: one writer at a time inserts (the commit leader, `commit.rs`). The runs
//! are shared, immutable once built, and published as a whole: an insert builds the new list of
//! runs beside the old one and swaps it in under a write lock held only for the swap. A reader
//! takes the list under a read lock held only to clone it, then reads without locks. A reader
//! passes the snapshot sequence number it reads at; entries newer than that are invisible to
//! it, so a reader never sees a batch that is only half visible.
//!
//! Memory: the keys and values of one insert (a committed batch) are copied into one buffer
//! that its entries share; an entry in a run holds the buffer and offsets into it. An entry then
//! costs no allocation of its own (runs are arrays). A merge builds its run before the runs it
//! replaces are dropped, so for a moment the two largest runs are held twice (~56 bytes an
//! entry). A buffer of
//! [`MAPPED_BYTES`] or more is an anonymous memory map, not a heap allocation: it goes back to
//! the system when the memtable is dropped after its flush, instead of staying in whichever
//! allocator arena the committing thread used (the pool threads each have one, and a flush
//! frees on yet another thread).

use std::ops::Bound;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;
use xxhash_rust::xxh3::xxh3_64;

use crate::batch::{Entry, Keyspace, OpKind, WriteBatch};

/// An insert whose keys and values take this many bytes or more gets a memory-mapped buffer.
const MAPPED_BYTES: usize = 64 << 10;

/// The keys and values of one insert.
#[derive(Debug)]
enum Buffer {
    Heap(Vec<u8>),
    Mapped(memmap2::MmapMut),
}

impl Buffer {
    /// A buffer of exactly `len` bytes: mapped when that is large (and the system maps it).
    fn with_len(len: usize) -> Buffer {
        if len >= MAPPED_BYTES {
            if let Ok(map) = memmap2::MmapMut::map_anon(len) {
                #[cfg(test)]
                crate::test_alloc::charge_mapped(isize::try_from(Self::mapped_footprint(len)).unwrap_or(0));
                return Buffer::Mapped(map);
            }
        }
        Buffer::Heap(vec![0; len])
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Buffer::Heap(v) => v,
            Buffer::Mapped(m) => m,
        }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        match self {
            Buffer::Heap(v) => v,
            Buffer::Mapped(m) => m,
        }
    }

    /// The memory it takes: a map is whole pages; a heap buffer has the allocator's 16 bytes.
    fn footprint(&self) -> usize {
        match self {
            Buffer::Heap(v) => Self::heap_footprint(v.len()),
            Buffer::Mapped(m) => Self::mapped_footprint(m.len()),
        }
    }

    /// The most a buffer from `with_len(len)` takes (a map that falls back to the heap takes less).
    fn footprint_for(len: usize) -> usize {
        if len >= MAPPED_BYTES {
            Self::mapped_footprint(len)
        } else {
            Self::heap_footprint(len)
        }
    }

    fn heap_footprint(len: usize) -> usize {
        len + 16
    }

    fn mapped_footprint(len: usize) -> usize {
        len.div_ceil(4096) * 4096
    }
}

#[cfg(test)]
impl Drop for Buffer {
    fn drop(&mut self) {
        if let Buffer::Mapped(m) = self {
            crate::test_alloc::charge_mapped(-isize::try_from(Buffer::mapped_footprint(m.len())).unwrap_or(0));
        }
    }
}

/// `value_len` of a deletion.
const DELETED: u32 = u32::MAX;

/// A length or offset inside a buffer. The commit path refuses a batch larger than a WAL record
/// (1 GiB, `wal::check_fits`), so every buffer fits and this never saturates.
fn len32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(DELETED - 1)
}

/// Orders by keyspace, then key ascending, then sequence number descending, so the first entry
/// at or after `(keyspace, key, snapshot)` is the newest version visible at `snapshot`.
///
/// `head` holds the key's first 16 bytes, zero-padded, as a big-endian number: comparing heads
/// orders keys as comparing the bytes does whenever the heads differ (a zero pad sorts like the
/// end of a shorter key), so most comparisons during a skiplist search never read `bytes`.
/// Equal heads fall back to the whole key.
///
/// The key is `bytes[at..at + key_len]`; the value follows it (`value_len` bytes, or
/// [`DELETED`]).
#[derive(Debug, Clone)]
struct InternalKey {
    keyspace: Keyspace,
    head: (u64, u64),
    bytes: Arc<Buffer>,
    at: u32,
    key_len: u32,
    value_len: u32,
    seq: u64,
}

/// The key's first 16 bytes, zero-padded, as two big-endian numbers.
fn head_of(key: &[u8]) -> (u64, u64) {
    let mut head = [0u8; 16];
    let n = key.len().min(16);
    if let (Some(dst), Some(src)) = (head.get_mut(..n), key.get(..n)) {
        dst.copy_from_slice(src);
    }
    let (hi, lo) = head.split_at(8);
    let word = |b: &[u8]| b.try_into().map(u64::from_be_bytes).unwrap_or(0);
    (word(hi), word(lo))
}

impl InternalKey {
    /// A key to search with: no value.
    fn probe(keyspace: Keyspace, key: &[u8], seq: u64) -> Self {
        InternalKey {
            keyspace,
            head: head_of(key),
            bytes: Arc::new(Buffer::Heap(key.to_vec())),
            at: 0,
            key_len: len32(key.len()),
            value_len: DELETED,
            seq,
        }
    }

    fn key(&self) -> &[u8] {
        let at = self.at as usize;
        self.bytes.bytes().get(at..at + self.key_len as usize).unwrap_or_default()
    }

    fn value(&self) -> Option<&[u8]> {
        if self.value_len == DELETED {
            return None;
        }
        let at = self.at as usize + self.key_len as usize;
        Some(self.bytes.bytes().get(at..at + self.value_len as usize).unwrap_or_default())
    }
}

impl Ord for InternalKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.keyspace
            .cmp(&other.keyspace)
            .then_with(|| self.head.cmp(&other.head))
            .then_with(|| self.key().cmp(other.key()))
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

impl PartialOrd for InternalKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for InternalKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}

impl Eq for InternalKey {}

/// The newest visible version of a key: its sequence number and value (`None`: a deletion).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Newest {
    pub seq: u64,
    pub value: Option<Vec<u8>>,
}

/// One version of one key, as a range read's chunk holds it: lent from the memtable's shared
/// buffer (holding it keeps the buffer alive), not copied.
#[derive(Debug, Clone)]
pub struct MemEntry(InternalKey);

impl MemEntry {
    pub fn key(&self) -> &[u8] {
        self.0.key()
    }

    pub fn seq(&self) -> u64 {
        self.0.seq
    }

    /// `None` for a deletion.
    pub fn value(&self) -> Option<&[u8]> {
        self.0.value()
    }
}

/// What an entry costs beyond its key and value bytes, so that `approximate_bytes` (which the
/// memtable budget is held to) is the memory the entry really takes: its slot in a run. A
/// buffer adds its [`Buffer::footprint`] and [`BUFFER_OVERHEAD_BYTES`]. A test checks it
/// against what inserting really allocates.
const ENTRY_OVERHEAD_BYTES: usize = std::mem::size_of::<InternalKey>();

/// A buffer's shared handle: reference counts, the buffer's description, the allocator's 16 bytes.
const BUFFER_OVERHEAD_BYTES: usize = 16 + std::mem::size_of::<Buffer>() + 16;

/// The most [`Memtable::approximate_bytes`] grows by when `batch` is inserted: its keys and
/// values in one buffer (whole pages if mapped), the buffer's handle, and each entry.
pub fn growth_bound(batch: &WriteBatch) -> usize {
    let data: usize = batch.entries().iter().map(|e| e.key.len() + e.value.len()).sum();
    Buffer::footprint_for(data) + BUFFER_OVERHEAD_BYTES + batch.len() * ENTRY_OVERHEAD_BYTES
}

/// A memtable sized by [`Memtable::new`] expects to fill to about this many bytes.
const DEFAULT_EXPECTED_BYTES: usize = 1 << 20;
/// Filter bits per byte the memtable is expected to hold: at ~150 B per entry plus its ~90 B of
/// overhead, 10 bits per key, 10 to 20 once the size is rounded up to a power of two, so a key
/// that is not here skips the skiplist search ~96% of the time or more.
const FILTER_BYTES_PER_BIT: usize = 24;

/// A Bloom filter of the keys a memtable holds, so that a point read of a key the memtable
/// does not hold (most reads, once data has been flushed) skips the skiplist search: one
/// 64-bit word per key, two bits set in it. Bits are set before the entry is inserted, and
/// readers read at a snapshot published after the insert (release/acquire on the sequence
/// number), so a reader never misses a key its snapshot can see.
struct KeyFilter {
    words: Box<[AtomicU64]>,
}

impl KeyFilter {
    fn new(expected_bytes: usize) -> Self {
        let bits = (expected_bytes / FILTER_BYTES_PER_BIT).clamp(1 << 12, 1 << 26).next_power_of_two();
        KeyFilter { words: (0..bits / 64).map(|_| AtomicU64::new(0)).collect() }
    }

    /// The word and the two bits in it that stand for a key (the word always exists: the
    /// count is a power of two and the hash is masked to it).
    fn probe(&self, keyspace: Keyspace, key: &[u8]) -> Option<(&AtomicU64, u64)> {
        let h = xxh3_64(key) ^ u64::from(keyspace).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let word = self.words.get((h as usize) & (self.words.len() - 1))?;
        Some((word, (1u64 << ((h >> 52) & 63)) | (1u64 << ((h >> 58) & 63))))
    }

    fn insert(&self, keyspace: Keyspace, key: &[u8]) {
        if let Some((word, bits)) = self.probe(keyspace, key) {
            word.fetch_or(bits, Ordering::Release);
        }
    }

    fn may_contain(&self, keyspace: Keyspace, key: &[u8]) -> bool {
        self.probe(keyspace, key).is_none_or(|(word, bits)| word.load(Ordering::Acquire) & bits == bits)
    }
}

/// Sorted runs of entries, oldest first; see [`Memtable::insert`].
type Runs = Arc<Vec<Arc<Vec<InternalKey>>>>;

pub struct Memtable {
    runs: RwLock<Runs>,
    /// The newest sequence number inserted, and whether every insert so far was newer than all
    /// before it (what the commit path and recovery do): only then does a newer run hold only
    /// newer versions, which lets a point read stop at the newest run that has the key.
    max_seq: AtomicU64,
    in_seq_order: AtomicBool,
    filter: KeyFilter,
    approximate_bytes: AtomicUsize,
}

impl Default for Memtable {
    fn default() -> Self {
        Self::new()
    }
}

impl Memtable {
    pub fn new() -> Self {
        Self::with_expected_bytes(DEFAULT_EXPECTED_BYTES)
    }

    /// A memtable that will be frozen at about `expected_bytes`: its key filter is sized for it.
    pub fn with_expected_bytes(expected_bytes: usize) -> Self {
        Memtable {
            runs: RwLock::new(Arc::new(Vec::new())),
            max_seq: AtomicU64::new(0),
            in_seq_order: AtomicBool::new(true),
            filter: KeyFilter::new(expected_bytes),
            approximate_bytes: AtomicUsize::new(0),
        }
    }

    /// Inserts every entry of `batch`, entry `i` at `base_seq + i`. Commit leader only.
    pub fn apply(&self, base_seq: u64, batch: WriteBatch) {
        self.insert(batch.entries.into_iter().enumerate().map(|(i, e)| (base_seq + i as u64, e)).collect());
    }

    /// Inserts each entry at its sequence number (recovery inserts a batch's entries this way,
    /// leaving out those already in SSTs). Commit leader or recovery only. Sequence numbers are
    /// expected newer than every entry already here; reads stay correct if they are not, but
    /// point reads then search every run.
    pub fn insert(&self, mut entries: Vec<(u64, Entry)>) {
        if entries.is_empty() {
            return;
        }
        if entries.len() > 1 {
            entries.sort_unstable_by(|(sa, a), (sb, b)| {
                a.keyspace.cmp(&b.keyspace).then_with(|| a.key.cmp(&b.key)).then_with(|| sb.cmp(sa))
            });
        }
        let total: usize = entries.iter().map(|(_, e)| e.key.len() + e.value.len()).sum();
        let mut buffer = Buffer::with_len(total);
        let mut at = 0;
        for (_, e) in &entries {
            for part in [&e.key, &e.value] {
                if let Some(dst) = buffer.bytes_mut().get_mut(at..at + part.len()) {
                    dst.copy_from_slice(part);
                }
                at += part.len();
            }
        }
        let bytes = Arc::new(buffer);
        let mut accounted = bytes.footprint() + BUFFER_OVERHEAD_BYTES;
        let mut at = 0;
        let mut run = Vec::with_capacity(entries.len());
        let (lowest, highest) = entries.iter().fold((u64::MAX, 0), |(lo, hi), (seq, _)| (lo.min(*seq), hi.max(*seq)));
        if lowest <= self.max_seq.load(Ordering::Relaxed) {
            self.in_seq_order.store(false, Ordering::Release);
        }
        self.max_seq.fetch_max(highest, Ordering::Relaxed);
        for (seq, e) in entries {
            let value_len = match e.kind {
                OpKind::Put => len32(e.value.len()),
                OpKind::Delete => DELETED,
            };
            self.filter.insert(e.keyspace, &e.key);
            let entry = InternalKey {
                keyspace: e.keyspace,
                head: head_of(&e.key),
                bytes: Arc::clone(&bytes),
                at: len32(at),
                key_len: len32(e.key.len()),
                value_len,
                seq,
            };
            at += e.key.len() + e.value.len();
            accounted += ENTRY_OVERHEAD_BYTES;
            run.push(entry);
        }
        // Merge with the newest runs while they are not more than twice as large as the merged
        // run, so that run sizes at least double from newest to oldest.
        let mut runs: Vec<Arc<Vec<InternalKey>>> = self.runs.read().iter().cloned().collect();
        while runs.last().is_some_and(|older| older.len() <= 2 * run.len()) {
            if let Some(older) = runs.pop() {
                run = merge(&older, run);
            }
        }
        runs.push(Arc::new(run));
        // The runs a merge replaced are freed after the lock is released, not while readers wait.
        let replaced = std::mem::replace(&mut *self.runs.write(), Arc::new(runs));
        drop(replaced);
        self.approximate_bytes.fetch_add(accounted, Ordering::Relaxed);
    }

    /// The newest version of `key` with a sequence number ≤ `snapshot`.
    pub fn get(&self, keyspace: Keyspace, key: &[u8], snapshot: u64) -> Option<Newest> {
        if !self.filter.may_contain(keyspace, key) {
            return None;
        }
        let probe = InternalKey::probe(keyspace, key, snapshot);
        let runs = Arc::clone(&self.runs.read());
        let in_order = self.in_seq_order.load(Ordering::Acquire);
        let mut newest: Option<&InternalKey> = None;
        // In each run, the first entry at or after the probe is its newest version of the key
        // at the snapshot. When newer runs hold only newer versions, the newest run that has
        // one is the answer.
        for run in runs.iter().rev() {
            let i = run.partition_point(|e| *e < probe);
            if let Some(e) = run.get(i).filter(|e| e.keyspace == keyspace && e.key() == key) {
                if newest.is_none_or(|n| e.seq > n.seq) {
                    newest = Some(e);
                }
                if in_order {
                    break;
                }
            }
        }
        newest.map(|e| Newest { seq: e.seq, value: e.value().map(<[u8]>::to_vec) })
    }

    /// Calls `f(keyspace, key, seq, value)` for every entry in order: keyspace, key ascending,
    /// newest version first (`value` is `None` for a deletion), stopping at its first error.
    /// For flushing: the entries are lent, not copied.
    pub fn for_each<E>(
        &self,
        mut f: impl FnMut(Keyspace, &[u8], u64, Option<&[u8]>) -> Result<(), E>,
    ) -> Result<(), E> {
        let runs = Arc::clone(&self.runs.read());
        let mut merged = Merged::new(&runs, |run| run.get(..).unwrap_or_default());
        while let Some(k) = merged.next() {
            f(k.keyspace, k.key(), k.seq, k.value())?;
        }
        Ok(())
    }

    /// Up to `max` entries of `keyspace` at or after `(start, seq)` in internal-key order
    /// (key ascending, newest version first). Range reads page through a memtable with this, so
    /// they hold no borrow of it between pages.
    /// Entries past `end` are not read.
    pub fn chunk(&self, keyspace: Keyspace, start: &[u8], seq: u64, end: Bound<&[u8]>, max: usize) -> Vec<MemEntry> {
        let from = InternalKey::probe(keyspace, start, seq);
        let before_end = |k: &[u8]| match end {
            Bound::Included(e) => k <= e,
            Bound::Excluded(e) => k < e,
            Bound::Unbounded => true,
        };
        let runs = Arc::clone(&self.runs.read());
        let mut merged = Merged::new(&runs, |run| run.get(run.partition_point(|e| *e < from)..).unwrap_or_default());
        let mut out = Vec::new();
        while out.len() < max {
            match merged.next() {
                Some(e) if e.keyspace == keyspace && before_end(e.key()) => out.push(MemEntry(e.clone())),
                _ => break,
            }
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.runs.read().iter().all(|r| r.is_empty())
    }

    pub fn approximate_bytes(&self) -> usize {
        self.approximate_bytes.load(Ordering::Relaxed)
    }
}

/// `older` and `newer` as one sorted run (no two entries are equal: a version is a key and a
/// sequence number, and sequence numbers are unique).
fn merge(older: &[InternalKey], newer: Vec<InternalKey>) -> Vec<InternalKey> {
    let mut out = Vec::with_capacity(older.len() + newer.len());
    let mut older = older.iter().peekable();
    for n in newer {
        while let Some(o) = older.next_if(|o| **o < n) {
            out.push(o.clone());
        }
        out.push(n);
    }
    out.extend(older.cloned());
    out
}

/// The entries of several sorted runs in one order (the smallest head first; runs are few).
struct Merged<'a> {
    heads: Vec<&'a [InternalKey]>,
}

impl<'a> Merged<'a> {
    fn new(runs: &'a [Arc<Vec<InternalKey>>], from: impl Fn(&'a [InternalKey]) -> &'a [InternalKey]) -> Self {
        Merged { heads: runs.iter().map(|r| from(r.as_slice())).filter(|r| !r.is_empty()).collect() }
    }

    fn next(&mut self) -> Option<&'a InternalKey> {
        let mut best: Option<(usize, &'a InternalKey)> = None;
        for (i, run) in self.heads.iter().enumerate() {
            if let Some(e) = run.first() {
                if best.is_none_or(|(_, b)| e < b) {
                    best = Some((i, e));
                }
            }
        }
        let (i, e) = best?;
        if let Some(run) = self.heads.get_mut(i) {
            *run = run.get(1..).unwrap_or_default();
        }
        Some(e)
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

    #[test]
    fn the_accounted_size_is_what_the_entries_really_allocate() {
        // One large insert (a memory-mapped buffer) and many small ones (heap buffers).
        for per_insert in [20_000u32, 10] {
            for value_len in [0usize, 10, 150, 1000] {
                let before = crate::test_alloc::held_bytes();
                let m = Memtable::new();
                for first in (0..20_000u32).step_by(per_insert as usize) {
                    let mut batch = WriteBatch::new();
                    for i in first..first + per_insert {
                        batch.put(i % 3, format!("user#{i:08}").into_bytes(), vec![7u8; value_len]);
                    }
                    // The keys and values are copied into the memtable; the batch is freed.
                    m.apply(u64::from(first) + 1, batch);
                }
                let really = (crate::test_alloc::held_bytes() - before) as f64;
                let accounted = m.approximate_bytes() as f64;
                assert!(
                    (0.85..1.2).contains(&(accounted / really)),
                    "{per_insert} per insert, {value_len}-byte values: accounted {accounted} bytes, allocated {really}"
                );
                drop(m);
                let left = crate::test_alloc::held_bytes() - before;
                assert!(left < 64 << 10, "{left} bytes still held after the memtable was dropped");
            }
        }
    }

    /// Every version the model holds, in the memtable's order: keyspace, key, newest first.
    type Model = std::collections::BTreeMap<(Keyspace, Vec<u8>), Vec<(u64, Option<Vec<u8>>)>>;

    /// One version as the tests compare it: keyspace, key, sequence number, value (`None`: deleted).
    type Version = (Keyspace, Vec<u8>, u64, Option<Vec<u8>>);

    fn in_order(model: &Model) -> Vec<Version> {
        let mut out = Vec::new();
        for ((ks, key), versions) in model {
            for (seq, value) in versions.iter().rev() {
                out.push((*ks, key.clone(), *seq, value.clone()));
            }
        }
        out
    }

    #[test]
    fn reads_match_a_model_through_inserts_of_every_size_and_the_runs_stay_few() {
        let m = Memtable::new();
        let mut model = Model::new();
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut rand = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let mut seq = 1u64;
        let mut inserted = 0usize;
        for round in 0..300 {
            // Mostly single writes, some groups, a few large ones; keys repeat, so keys get
            // several versions, and a group may write one key twice.
            let n = match rand(10) {
                0..=5 => 1,
                6..=8 => 1 + rand(40) as usize,
                _ => 200 + rand(600) as usize,
            };
            let mut entries = Vec::new();
            for _ in 0..n {
                let ks = rand(2) as Keyspace;
                let key = format!("k{:04}", rand(1500)).into_bytes();
                let (kind, value) = if rand(5) == 0 {
                    (OpKind::Delete, Vec::new())
                } else {
                    (OpKind::Put, format!("v{seq}").into_bytes())
                };
                let stored = (kind == OpKind::Put).then(|| value.clone());
                model.entry((ks, key.clone())).or_default().push((seq, stored));
                entries.push((seq, Entry { kind, keyspace: ks, key, value }));
                seq += 1;
            }
            inserted += n;
            m.insert(entries);
            let runs = m.runs.read().len();
            let bound = 2 * (usize::BITS - inserted.leading_zeros()) as usize + 2;
            assert!(runs <= bound, "{runs} runs after {inserted} entries");
            if round % 25 != 24 {
                continue;
            }
            // Point reads at the newest snapshot and at older ones.
            for _ in 0..300 {
                let ks = rand(2) as Keyspace;
                let key = format!("k{:04}", rand(1600)).into_bytes();
                let snapshot = 1 + rand(seq);
                let want = model.get(&(ks, key.clone())).and_then(|vs| {
                    vs.iter().rev().find(|(s, _)| *s <= snapshot).map(|(s, v)| Newest { seq: *s, value: v.clone() })
                });
                assert_eq!(m.get(ks, &key, snapshot), want, "{ks} {key:?} at {snapshot}");
            }
            // Everything in order, as a flush reads it.
            let mut all = Vec::new();
            m.for_each(|ks, key, s, value| {
                all.push((ks, key.to_vec(), s, value.map(<[u8]>::to_vec)));
                Ok::<(), ()>(())
            })
            .unwrap();
            let want = in_order(&model);
            assert_eq!(all, want);
            // Chunks from random places, with and without an end.
            for _ in 0..50 {
                let ks = rand(2) as Keyspace;
                let start = format!("k{:04}", rand(1500)).into_bytes();
                let from_seq = 1 + rand(seq);
                let end_key = format!("k{:04}", rand(1600)).into_bytes();
                let end = if rand(2) == 0 { Bound::Excluded(end_key.as_slice()) } else { Bound::Unbounded };
                let max = 1 + rand(300) as usize;
                let got: Vec<_> = m
                    .chunk(ks, &start, from_seq, end, max)
                    .iter()
                    .map(|e| (ks, e.key().to_vec(), e.seq(), e.value().map(<[u8]>::to_vec)))
                    .collect();
                let expected: Vec<_> = want
                    .iter()
                    .filter(|(k, key, s, _)| {
                        *k == ks
                            && (key.as_slice(), std::cmp::Reverse(*s))
                                >= (start.as_slice(), std::cmp::Reverse(from_seq))
                    })
                    .take_while(|(_, key, _, _)| match end {
                        Bound::Excluded(e) => key.as_slice() < e,
                        _ => true,
                    })
                    .take(max)
                    .cloned()
                    .collect();
                assert_eq!(got, expected, "chunk of {ks} from {start:?}@{from_seq}, at most {max}");
            }
        }
    }

    #[test]
    fn a_point_read_finds_the_newest_version_when_inserts_come_out_of_sequence_order() {
        let m = Memtable::new();
        let put = |seq: u64, key: &str| Entry {
            kind: OpKind::Put,
            keyspace: 1,
            key: key.as_bytes().to_vec(),
            value: format!("v{seq}").into_bytes(),
        };
        // A run of ten with "k" at 9, then a run of one with "k" at 2: the newer run holds the
        // older version.
        m.insert((0..10).map(|i| (5 + i, put(5 + i, if i == 4 { "k" } else { "other" }))).collect());
        m.insert(vec![(2, put(2, "k"))]);
        assert_eq!(m.runs.read().len(), 2);
        assert_eq!(m.get(1, b"k", u64::MAX), Some(Newest { seq: 9, value: Some(b"v9".to_vec()) }));
        assert_eq!(m.get(1, b"k", 8), Some(Newest { seq: 2, value: Some(b"v2".to_vec()) }));
        assert_eq!(m.get(1, b"k", 1), None);
    }

    #[test]
    fn an_insert_grows_the_accounted_size_by_no_more_than_its_bound() {
        let m = Memtable::new();
        let mut seq = 1;
        for (n, value_len) in [(1usize, 100usize), (1, 0), (7, 40), (500, 150), (2, 40_000), (1, 70_000)] {
            let mut batch = WriteBatch::new();
            for i in 0..n {
                batch.put(1, format!("key{seq}-{i}").into_bytes(), vec![1; value_len]);
            }
            let bound = growth_bound(&batch);
            let before = m.approximate_bytes();
            m.apply(seq, batch);
            let grew = m.approximate_bytes() - before;
            assert!(grew <= bound, "{n} entries of {value_len} bytes grew it by {grew}, bound {bound}");
            assert!(grew * 2 > bound, "{n} entries of {value_len} bytes: bound {bound} is loose for {grew}");
            seq += n as u64;
        }
    }

    #[test]
    fn the_key_filter_never_hides_a_key_and_skips_most_absent_ones() {
        let m = Memtable::with_expected_bytes(4 << 20);
        let mut b = WriteBatch::new();
        for i in 0..20_000u32 {
            b.put(i % 3, format!("user#{i:08}").into_bytes(), b"v".to_vec());
        }
        m.apply(1, b);
        for i in 0..20_000u32 {
            assert!(m.get(i % 3, format!("user#{i:08}").as_bytes(), u64::MAX).is_some(), "key {i}");
        }
        let key = |i: u32| format!("user#{i:08}").into_bytes();
        let passed = (20_000..40_000u32).filter(|&i| m.filter.may_contain(i % 3, &key(i))).count();
        assert!(passed < 1_000, "{passed} of 20000 absent keys passed the filter");
        // The same key in another keyspace is a different key.
        let other = (0..20_000u32).filter(|&i| m.filter.may_contain(i % 3 + 3, &key(i))).count();
        assert!(other < 1_000, "{other} of 20000 keys passed the filter in a keyspace they are not in");
    }

    #[test]
    fn the_key_head_orders_keys_exactly_as_their_bytes() {
        // Short keys, keys that are prefixes of others, zero bytes (which the head pads with),
        // and keys that differ only past the head's 16 bytes.
        let mut keys: Vec<Vec<u8>> = vec![vec![], vec![0], vec![0, 0], vec![1], vec![0xff; 20]];
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..400 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 24) as usize;
            let mut k: Vec<u8> = (0..len).map(|i| [0u8, 1, 0x7f, 0x80, 0xff][((x >> (i % 60)) % 5) as usize]).collect();
            keys.push(k.clone());
            k.push(0);
            keys.push(k);
        }
        for a in &keys {
            for b in &keys {
                let (ka, kb) = (InternalKey::probe(1, a, 5), InternalKey::probe(1, b, 5));
                assert_eq!(ka.cmp(&kb), a.cmp(b), "{a:?} vs {b:?}");
            }
        }
        assert!(InternalKey::probe(1, b"k", 9) < InternalKey::probe(1, b"k", 3), "newer first");
        assert!(InternalKey::probe(1, b"z", 1) < InternalKey::probe(2, b"a", 1), "keyspace first");
    }
}
