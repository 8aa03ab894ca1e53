//! An SST's index, decoded once when the file is opened.
//!
//! On disk the index is a block (see `mod.rs`): one entry per data block, keyed by the block's
//! last (user key, seq), whose value is the block's handle. Every entry is a restart point, so
//! a lookup in the block would decode varints at each probe of its binary search. `open`
//! already walks the whole index to verify it; it keeps what it decodes instead, in flat
//! arrays, so a point lookup binary-searches plain slices and a cursor moves by position.
//!
//! Memory: the keys once, plus 28 bytes per data block (a key bound, a seq, a handle). An
//! index of a few thousand blocks is tens of KiB, about the size of the block it replaces.
//!
//! Concurrency: immutable after `decode`; shared by every reader thread through the reader's
//! `Arc`.

use std::cmp::Ordering;
use std::sync::Arc;

use crate::error::{Error, Result};

use super::block::{cmp_internal, Block, BlockIter};
use super::format::BlockHandle;

pub(super) struct Index {
    /// Every entry's user key, concatenated in order.
    keys: Vec<u8>,
    /// Entry `i`'s key is `keys[bounds[i]..bounds[i + 1]]`; `bounds[0]` is 0.
    bounds: Vec<u32>,
    seqs: Vec<u64>,
    handles: Vec<BlockHandle>,
}

impl Index {
    /// Decodes and checks every entry of an index block. Errors are corruption; the caller adds
    /// the file and offset.
    pub(super) fn decode(block: Block) -> Result<Index> {
        let mut index = Index { keys: Vec::new(), bounds: vec![0], seqs: Vec::new(), handles: Vec::new() };
        let mut it = BlockIter::new(Arc::new(block));
        it.seek_to_first()?;
        while it.valid() {
            let ordered = index.len().checked_sub(1).is_none_or(|last| {
                cmp_internal(index.key(last), index.seq(last), it.key(), it.seq()) == Ordering::Less
            });
            if !ordered {
                return Err(Error::corruption(format!("index entry {} is out of order", index.len())));
            }
            index.keys.extend_from_slice(it.key());
            let end = u32::try_from(index.keys.len()).map_err(|_| Error::corruption("index keys exceed 4 GiB"))?;
            index.bounds.push(end);
            index.seqs.push(it.seq());
            index.handles.push(BlockHandle::decode(it.value())?);
            it.advance()?;
        }
        Ok(index)
    }

    /// The number of entries, one per data block.
    pub(super) fn len(&self) -> usize {
        self.handles.len()
    }

    fn key(&self, i: usize) -> &[u8] {
        match (self.bounds.get(i), self.bounds.get(i + 1)) {
            (Some(&start), Some(&end)) => self.keys.get(start as usize..end as usize).unwrap_or_default(),
            _ => &[],
        }
    }

    fn seq(&self, i: usize) -> u64 {
        self.seqs.get(i).copied().unwrap_or(0)
    }

    /// The position of the first entry at or after (`key`, `seq`) in file order: the only
    /// block that can hold that version of `key`. `len()` when every block ends before it.
    pub(super) fn seek(&self, key: &[u8], seq: u64) -> usize {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if cmp_internal(self.key(mid), self.seq(mid), key, seq) == Ordering::Less {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// The handle of the data block at position `i`, if there is one.
    pub(super) fn handle(&self, i: usize) -> Option<BlockHandle> {
        self.handles.get(i).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sst::block::{BlockBuilder, EntryKind};

    fn index_of(entries: &[(&[u8], u64)]) -> Index {
        let mut b = BlockBuilder::new(1);
        for (n, (key, seq)) in entries.iter().enumerate() {
            let mut value = Vec::new();
            BlockHandle { offset: n as u64 * 100, size: 90 }.encode(&mut value);
            b.add(key, *seq, EntryKind::Put, &value).unwrap();
        }
        Index::decode(Block::parse(b.finish()).unwrap()).unwrap()
    }

    #[test]
    fn seek_finds_the_first_block_ending_at_or_after_the_target() {
        // Blocks ending at b@5, d@9, d@3 (an older version of d), f@1.
        let index = index_of(&[(b"b", 5), (b"d", 9), (b"d", 3), (b"f", 1)]);
        assert_eq!(index.len(), 4);
        let cases: [(&[u8], u64, usize); 9] = [
            (b"a", u64::MAX, 0),
            (b"b", 7, 0),
            (b"b", 5, 0),
            (b"b", 4, 1),
            (b"c", 1, 1),
            (b"d", 9, 1),
            (b"d", 8, 2),
            (b"e", 2, 3),
            (b"g", 1, 4),
        ];
        for (key, seq, want) in cases {
            assert_eq!(index.seek(key, seq), want, "{:?}@{seq}", std::str::from_utf8(key));
        }
        assert_eq!(index.handle(2), Some(BlockHandle { offset: 200, size: 90 }));
        assert_eq!(index.handle(4), None);
    }

    #[test]
    fn every_key_of_a_large_index_seeks_to_its_own_entry() {
        let keys: Vec<Vec<u8>> = (0..1000u32).map(|i| format!("user#{:08}", i * 7).into_bytes()).collect();
        let entries: Vec<(&[u8], u64)> = keys.iter().map(|k| (k.as_slice(), 1)).collect();
        let index = index_of(&entries);
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(index.key(i), k.as_slice());
            assert_eq!(index.seek(k, u64::MAX), i);
            assert_eq!(index.seek(k, 0), i + 1, "an older version than the block's last lies after it");
        }
    }

    #[test]
    fn an_index_out_of_order_is_corruption() {
        let mut b = BlockBuilder::new(1);
        let mut value = Vec::new();
        BlockHandle { offset: 0, size: 1 }.encode(&mut value);
        // The builder does not check order; the decoder must.
        b.add(b"m", 1, EntryKind::Put, &value).unwrap();
        b.add(b"c", 1, EntryKind::Put, &value).unwrap();
        let err = Index::decode(Block::parse(b.finish()).unwrap()).err().unwrap();
        assert!(err.message().contains("out of order"), "{}", err.message());
    }
}
