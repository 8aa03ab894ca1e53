//! Blocks of sorted entries with prefix-compressed keys, as in LevelDB's `block_builder.cc`. Data
//! blocks and the index block share this format.
//!
//! ```text
//! block   := entry* | restart:u32 LE * num_restarts | num_restarts:u32 LE
//! entry   := shared:varint | unshared:varint | tag:varint | value_len:varint
//!            | key suffix (unshared bytes) | value (value_len bytes)
//! tag     := seq << 1 | kind            kind 1 = Put, 0 = Delete; so seq <= 2^63 - 1
//! key     := the first `shared` bytes of the previous entry's key | key suffix
//! restart := byte offset of an entry whose shared = 0; one every `restart_interval` entries,
//!            the first at offset 0
//! ```
//!
//! Entries are ordered by user key ascending (bytewise), then seq descending, so the newest
//! version of a key comes first ([`cmp_internal`]). A seek binary-searches the restart points
//! (whose keys are stored whole) and then scans forward at most `restart_interval` entries.

use std::cmp::Ordering;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::varint::{self, Reader};

/// The largest sequence number an entry can carry: one bit of the tag holds the kind.
pub const MAX_SEQ: u64 = u64::MAX >> 1;

/// Whether an entry sets a value or deletes the key (a tombstone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    Put,
    Delete,
}

impl EntryKind {
    fn tag(self, seq: u64) -> u64 {
        (seq << 1) | u64::from(self == EntryKind::Put)
    }

    fn from_tag(tag: u64) -> (u64, EntryKind) {
        let kind = if tag & 1 == 1 { EntryKind::Put } else { EntryKind::Delete };
        (tag >> 1, kind)
    }
}

/// The order of entries in a file: user key ascending, then seq descending.
pub fn cmp_internal(a_key: &[u8], a_seq: u64, b_key: &[u8], b_seq: u64) -> Ordering {
    a_key.cmp(b_key).then(b_seq.cmp(&a_seq))
}

/// Accumulates entries, which the caller adds in [`cmp_internal`] order.
pub struct BlockBuilder {
    buf: Vec<u8>,
    restarts: Vec<u32>,
    restart_interval: usize,
    since_restart: usize,
    last_key: Vec<u8>,
}

impl BlockBuilder {
    pub fn new(restart_interval: usize) -> Self {
        BlockBuilder {
            buf: Vec::new(),
            restarts: vec![0],
            restart_interval: restart_interval.max(1),
            since_restart: 0,
            last_key: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The size of the block if it were finished now.
    pub fn estimated_size(&self) -> usize {
        self.buf.len() + 4 * self.restarts.len() + 4
    }

    pub fn add(&mut self, key: &[u8], seq: u64, kind: EntryKind, value: &[u8]) -> Result<()> {
        let shared = if self.since_restart >= self.restart_interval {
            let offset = u32::try_from(self.buf.len())
                .map_err(|_| Error::validation("an SST block grew past 4 GiB; lower block_size_bytes"))?;
            self.restarts.push(offset);
            self.since_restart = 0;
            0
        } else {
            self.last_key.iter().zip(key).take_while(|(a, b)| a == b).count()
        };
        let suffix = key.get(shared..).unwrap_or_default();
        varint::put_u64(&mut self.buf, shared as u64);
        varint::put_u64(&mut self.buf, suffix.len() as u64);
        varint::put_u64(&mut self.buf, kind.tag(seq));
        varint::put_u64(&mut self.buf, value.len() as u64);
        self.buf.extend_from_slice(suffix);
        self.buf.extend_from_slice(value);
        self.last_key.truncate(shared);
        self.last_key.extend_from_slice(suffix);
        self.since_restart += 1;
        Ok(())
    }

    /// The finished block; the builder is left empty for the next one.
    pub fn finish(&mut self) -> Vec<u8> {
        let mut out = std::mem::take(&mut self.buf);
        for r in &self.restarts {
            out.extend_from_slice(&r.to_le_bytes());
        }
        out.extend_from_slice(&(self.restarts.len() as u32).to_le_bytes());
        *self = BlockBuilder::new(self.restart_interval);
        out
    }
}

/// What [`Block::lookup`] found at the first entry at or after the target.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup<'a> {
    /// That entry is a version of the key: its seq, kind and value.
    Found { seq: u64, kind: EntryKind, value: &'a [u8] },
    /// That entry has another key: the block holds no version of the key at or below the seq.
    Absent,
    /// Every entry sorts before the target.
    PastEnd,
}

/// One entry as stored: its key is the previous key's first `shared` bytes and `suffix`; `len`
/// is its size in bytes, so the next entry starts `len` bytes after it.
struct RawEntry<'a> {
    shared: usize,
    suffix: &'a [u8],
    seq: u64,
    kind: EntryKind,
    value: &'a [u8],
    len: usize,
}

/// A parsed, immutable block. Shared between readers through the block cache.
pub struct Block {
    data: Vec<u8>,
    /// Where the entries end and the restart array begins.
    restarts_start: usize,
    num_restarts: usize,
}

impl Block {
    pub fn parse(data: Vec<u8>) -> Result<Block> {
        let bad = || Error::corruption("block restart array is damaged");
        let tail = data.len().checked_sub(4).ok_or_else(bad)?;
        let mut r = Reader::new(data.get(tail..).unwrap_or_default(), "block");
        let num_restarts = usize::try_from(r.u32_le()?).map_err(|_| bad())?;
        let restarts_start = num_restarts
            .checked_mul(4)
            .and_then(|n| tail.checked_sub(n))
            .filter(|_| num_restarts > 0)
            .ok_or_else(bad)?;
        Ok(Block { data, restarts_start, num_restarts })
    }

    /// Bytes held, for the cache's weight.
    pub fn size_bytes(&self) -> usize {
        self.data.len()
    }

    /// The entry at byte `at` of the entries, decoded in place; corruption if it runs past them.
    /// Always inlined: with a plain `#[inline]` the compiler kept it a call, once per entry a
    /// point lookup scans, and `point_reads` ran slower than with the decoding written out in
    /// place (faster in 3 of 8 alternating runs); inlined, faster in 5 of 8.
    #[inline(always)]
    fn entry_at(&self, at: usize) -> Result<RawEntry<'_>> {
        let entries = self.data.get(..self.restarts_start).unwrap_or_default();
        let mut r = Reader::new(entries.get(at..).unwrap_or_default(), "block entry");
        let shared = usize::try_from(r.varint()?).unwrap_or(usize::MAX);
        let unshared = usize::try_from(r.varint()?).unwrap_or(usize::MAX);
        let (seq, kind) = EntryKind::from_tag(r.varint()?);
        let value_len = usize::try_from(r.varint()?).unwrap_or(usize::MAX);
        let suffix = r.bytes(unshared)?;
        let value = r.bytes(value_len)?;
        Ok(RawEntry { shared, suffix, seq, kind, value, len: r.position() })
    }

    /// The key and sequence number of the entry at restart point `i`, read in place.
    fn restart_key(&self, i: usize) -> Result<(&[u8], u64)> {
        let e = self.entry_at(self.restart(i)?)?;
        if e.shared != 0 {
            return Err(Error::corruption(format!("block restart {i} shares bytes with an earlier key")));
        }
        Ok((e.suffix, e.seq))
    }

    /// The last restart point whose entry sorts before (`key`, `seq`), or the first: entries
    /// before it are all smaller. Restart entries store their key whole, so the binary search
    /// compares them in place.
    fn restart_before(&self, key: &[u8], seq: u64) -> Result<usize> {
        let (mut lo, mut hi) = (0, self.num_restarts - 1);
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            let (restart_key, restart_seq) = self.restart_key(mid)?;
            if cmp_internal(restart_key, restart_seq, key, seq) == Ordering::Less {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        Ok(lo)
    }

    /// A point lookup: what [`BlockIter::seek`] to (`key`, `seq`) lands on, as far as a `get`
    /// needs it, without rebuilding each key the scan passes. The scan keeps how many leading
    /// bytes the entry it is on shares with `key` (`matched`). An entry that shares more than
    /// that with the entry before it sorts before `key` (it keeps the byte where that entry
    /// fell short of `key`) and is skipped without a compare; any other entry is `key`'s first
    /// `shared` bytes followed by its suffix, so its suffix alone is compared.
    pub fn lookup(&self, key: &[u8], seq: u64) -> Result<Lookup<'_>> {
        let mut at = self.restart(self.restart_before(key, seq)?)?;
        let (mut matched, mut previous_len) = (0usize, 0usize);
        while at < self.restarts_start {
            let RawEntry { shared, suffix, seq: entry_seq, kind, value, len } = self.entry_at(at)?;
            if shared > previous_len {
                return Err(Error::corruption(format!("block entry at byte {at} shares more than its key")));
            }
            at += len;
            previous_len = shared + suffix.len();
            if shared > matched {
                continue;
            }
            let rest = key.get(shared..).unwrap_or_default();
            let common = suffix.iter().zip(rest).take_while(|(a, b)| a == b).count();
            matched = shared + common;
            let order = match (suffix.get(common), rest.get(common)) {
                (Some(a), Some(b)) => a.cmp(b),
                (None, Some(_)) => Ordering::Less,
                (Some(_), None) => Ordering::Greater,
                // The same user key: newer versions (higher seqs) come first.
                (None, None) => {
                    if seq < entry_seq {
                        continue;
                    }
                    return Ok(Lookup::Found { seq: entry_seq, kind, value });
                }
            };
            if order == Ordering::Greater {
                return Ok(Lookup::Absent);
            }
        }
        Ok(Lookup::PastEnd)
    }

    fn restart(&self, i: usize) -> Result<usize> {
        let at = self.restarts_start + 4 * i;
        let mut r = Reader::new(self.data.get(at..).unwrap_or_default(), "block restart array");
        let offset = usize::try_from(r.u32_le()?).unwrap_or(usize::MAX);
        if offset > self.restarts_start {
            return Err(Error::corruption(format!("block restart {i} points past the entries")));
        }
        Ok(offset)
    }
}

/// A cursor over one block's entries. Not valid until positioned with `seek_to_first` or `seek`.
pub struct BlockIter {
    block: Arc<Block>,
    /// Offset of the entry after the current one.
    next: usize,
    valid: bool,
    key: Vec<u8>,
    seq: u64,
    kind: EntryKind,
    value: (usize, usize),
}

impl BlockIter {
    pub fn new(block: Arc<Block>) -> Self {
        BlockIter { block, next: 0, valid: false, key: Vec::new(), seq: 0, kind: EntryKind::Put, value: (0, 0) }
    }

    pub fn valid(&self) -> bool {
        self.valid
    }

    pub fn key(&self) -> &[u8] {
        &self.key
    }

    pub fn seq(&self) -> u64 {
        self.seq
    }

    pub fn kind(&self) -> EntryKind {
        self.kind
    }

    pub fn value(&self) -> &[u8] {
        self.block.data.get(self.value.0..self.value.1).unwrap_or_default()
    }

    pub fn seek_to_first(&mut self) -> Result<()> {
        self.start_at_restart(0)?;
        self.advance()
    }

    /// Positions at the first entry at or after (`key`, `seq`) in [`cmp_internal`] order, or
    /// makes the cursor invalid if there is none.
    pub fn seek(&mut self, key: &[u8], seq: u64) -> Result<()> {
        self.start_at_restart(self.block.restart_before(key, seq)?)?;
        loop {
            self.advance()?;
            if !self.valid || cmp_internal(&self.key, self.seq, key, seq) != Ordering::Less {
                return Ok(());
            }
        }
    }

    fn start_at_restart(&mut self, i: usize) -> Result<()> {
        self.next = self.block.restart(i)?;
        self.key.clear();
        self.valid = false;
        Ok(())
    }

    /// Decodes the entry at `next`; past the last entry the cursor becomes invalid.
    pub fn advance(&mut self) -> Result<()> {
        if self.next >= self.block.restarts_start {
            self.valid = false;
            return Ok(());
        }
        let e = self.block.entry_at(self.next)?;
        if e.shared > self.key.len() {
            self.valid = false;
            return Err(Error::corruption(format!("block entry at byte {} shares more than its key", self.next)));
        }
        let value_start = self.next + e.len - e.value.len();
        self.key.truncate(e.shared);
        self.key.extend_from_slice(e.suffix);
        self.seq = e.seq;
        self.kind = e.kind;
        self.value = (value_start, value_start + e.value.len());
        self.next += e.len;
        self.valid = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    /// 40 keys, each with versions at seqs 30, 20, 10; every third version a tombstone.
    fn entries() -> Vec<(Vec<u8>, u64, EntryKind, Vec<u8>)> {
        let mut out = Vec::new();
        for k in 0..40u32 {
            for (i, seq) in [30u64, 20, 10].into_iter().enumerate() {
                let kind = if (k as usize + i).is_multiple_of(3) { EntryKind::Delete } else { EntryKind::Put };
                let value = if kind == EntryKind::Put { format!("v{k}@{seq}").into_bytes() } else { Vec::new() };
                out.push((format!("user/{k:04}").into_bytes(), seq, kind, value));
            }
        }
        out
    }

    fn build(restart_interval: usize) -> Arc<Block> {
        let mut b = BlockBuilder::new(restart_interval);
        for (k, s, kind, v) in entries() {
            b.add(&k, s, kind, &v).unwrap();
        }
        Arc::new(Block::parse(b.finish()).unwrap())
    }

    fn collect(it: &mut BlockIter) -> Vec<(Vec<u8>, u64, EntryKind, Vec<u8>)> {
        let mut out = Vec::new();
        while it.valid() {
            out.push((it.key().to_vec(), it.seq(), it.kind(), it.value().to_vec()));
            it.advance().unwrap();
        }
        out
    }

    #[test]
    fn entries_round_trip_with_prefix_compression_across_restarts() {
        for interval in [1, 2, 16, 1000] {
            let block = build(interval);
            assert_eq!(block.num_restarts, 120usize.div_ceil(interval));
            let mut it = BlockIter::new(block);
            it.seek_to_first().unwrap();
            assert_eq!(collect(&mut it), entries(), "restart interval {interval}");
        }
    }

    #[test]
    fn seek_lands_on_newest_version_at_or_below_the_target_seq() {
        let block = build(16);
        let mut it = BlockIter::new(block);
        for k in 0..40u32 {
            let key = format!("user/{k:04}").into_bytes();
            for (snapshot, want) in [(u64::MAX, 30), (30, 30), (29, 20), (20, 20), (15, 10), (10, 10)] {
                it.seek(&key, snapshot).unwrap();
                assert!(it.valid());
                assert_eq!((it.key(), it.seq()), (key.as_slice(), want), "key {k} snapshot {snapshot}");
            }
            // Below every version of this key: the next key's newest version.
            it.seek(&key, 9).unwrap();
            if k < 39 {
                assert_eq!((it.key(), it.seq()), (format!("user/{:04}", k + 1).as_bytes(), 30));
            } else {
                assert!(!it.valid());
            }
        }
        it.seek(b"a", u64::MAX).unwrap();
        assert_eq!(it.key(), b"user/0000");
        it.seek(b"user/00005", u64::MAX).unwrap();
        assert_eq!(it.key(), b"user/0001");
        it.seek(b"zzz", 0).unwrap();
        assert!(!it.valid());
    }

    /// What a seek followed by a key compare finds: `lookup`'s specification.
    fn lookup_by_seek(block: &Arc<Block>, key: &[u8], seq: u64) -> Option<Option<(u64, EntryKind, Vec<u8>)>> {
        let mut it = BlockIter::new(Arc::clone(block));
        it.seek(key, seq).unwrap();
        if !it.valid() {
            return None;
        }
        Some((it.key() == key).then(|| (it.seq(), it.kind(), it.value().to_vec())))
    }

    fn owned(found: Lookup<'_>) -> Option<Option<(u64, EntryKind, Vec<u8>)>> {
        match found {
            Lookup::Found { seq, kind, value } => Some(Some((seq, kind, value.to_vec()))),
            Lookup::Absent => Some(None),
            Lookup::PastEnd => None,
        }
    }

    #[test]
    fn lookup_finds_what_a_seek_finds_for_present_absent_and_prefix_keys() {
        let mut targets: Vec<String> = vec!["".into(), "a".into(), "user/".into(), "zzz".into()];
        for k in 0..40u32 {
            let key = format!("user/{k:04}");
            // The key, a key it is a prefix of, keys between it and its neighbours, its prefixes.
            targets.extend([key.clone(), format!("{key}0"), format!("{key}!"), key[..key.len() - 1].to_string()]);
            targets.push(format!("user/{k:03}"));
        }
        for interval in [1, 2, 3, 16, 1000] {
            let block = build(interval);
            for target in &targets {
                for seq in [u64::MAX, 30, 29, 20, 15, 10, 9, 0] {
                    let found = owned(block.lookup(target.as_bytes(), seq).unwrap());
                    assert_eq!(
                        found,
                        lookup_by_seek(&block, target.as_bytes(), seq),
                        "{target}@{seq}, interval {interval}"
                    );
                }
            }
        }
        // Spot checks of the specification itself.
        let block = build(16);
        assert_eq!(owned(block.lookup(b"user/0001", 25).unwrap()), Some(Some((20, EntryKind::Put, b"v1@20".to_vec()))));
        assert_eq!(
            block.lookup(b"user/0003", 30).unwrap(),
            Lookup::Found { seq: 30, kind: EntryKind::Delete, value: b"" }
        );
        assert_eq!(block.lookup(b"user/00015", u64::MAX).unwrap(), Lookup::Absent);
        assert_eq!(block.lookup(b"user/0039", 9).unwrap(), Lookup::PastEnd);
    }

    #[test]
    fn lookup_reports_an_entry_sharing_more_than_its_predecessor_as_corruption() {
        // A valid first entry "ab", then one claiming 5 shared bytes with it.
        let mut data = vec![0, 2, 3, 0, b'a', b'b', 5, 1, 3, 0, b'c'];
        data.extend_from_slice(&0u32.to_le_bytes());
        data.extend_from_slice(&1u32.to_le_bytes());
        let block = Block::parse(data).unwrap();
        assert_eq!(block.lookup(b"abzzzz", u64::MAX).err().map(|e| e.code()), Some(ErrorCode::Corruption));
        assert_eq!(block.lookup(b"ab", u64::MAX).unwrap(), Lookup::Found { seq: 1, kind: EntryKind::Put, value: b"" });
    }

    #[test]
    fn empty_block_has_no_entries() {
        let block = Arc::new(Block::parse(BlockBuilder::new(16).finish()).unwrap());
        let mut it = BlockIter::new(block);
        it.seek_to_first().unwrap();
        assert!(!it.valid());
        it.seek(b"k", 5).unwrap();
        assert!(!it.valid());
    }

    #[test]
    fn entry_sharing_more_than_the_previous_key_is_corruption() {
        // One entry at a restart point claiming 3 shared bytes with a key that does not exist.
        let mut data = vec![3, 1, 3, 0, b'x'];
        data.extend_from_slice(&0u32.to_le_bytes());
        data.extend_from_slice(&1u32.to_le_bytes());
        let mut it = BlockIter::new(Arc::new(Block::parse(data).unwrap()));
        assert_eq!(it.seek_to_first().err().map(|e| e.code()), Some(ErrorCode::Corruption));
    }

    #[test]
    fn garbage_blocks_are_errors_or_entries_never_panics() {
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let real = build(4);
        for round in 0..3000 {
            let len = (next() % 200) as usize;
            let mut data: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if round % 2 == 0 && len >= 8 {
                // A plausible restart array, so the entry decoder is exercised too.
                let n = len - 4;
                data[n..].copy_from_slice(&1u32.to_le_bytes());
                data[n - 4..n].copy_from_slice(&0u32.to_le_bytes());
            }
            let Ok(block) = Block::parse(data) else { continue };
            let mut it = BlockIter::new(Arc::new(block));
            let _ = it.seek(&real.data[..3], next());
            let _ = it.block.lookup(&real.data[..3], next());
            if it.seek_to_first().is_ok() {
                for _ in 0..300 {
                    if !it.valid() || it.advance().is_err() {
                        break;
                    }
                }
            }
        }
    }
}
