//! The block cache: decompressed, checksum-verified data blocks, bounded in bytes and shared by
//! every SST reader of a database.
//!
//! Keyed by (file number, block offset). File numbers are never reused within a database, so an
//! entry can never describe another file's block; readers of two databases must not share one
//! cache unless their file numbers are disjoint.
//!
//! Concurrency: any thread may `get` and `insert` through `&BlockCache` at any time. The map is
//! `quick_cache`'s sharded cache (a lock per shard, no global lock); blocks are `Arc`s, so a hit
//! clones a pointer, and a block evicted while a reader still holds it lives until that reader
//! drops it. Two readers that miss on the same block at once both read it and both insert it;
//! the second insert replaces the first, which is harmless because the contents are identical.
//! The hit and miss counters are relaxed atomics: exact totals, no ordering with other memory.
//!
//! We use `quick_cache` (S3-FIFO eviction, weight-bounded) rather than `lru` behind a mutex:
//! it bounds by bytes through a weighter, which `lru` cannot, and its shards avoid one lock that
//! every lookup of every thread would take.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use quick_cache::sync::Cache;
use quick_cache::Weighter;

use super::block::Block;

/// Bookkeeping charged per cached block on top of its bytes: the `Block`, the `Arc` and the
/// map slot. A guess, but it keeps a cache of tiny blocks from holding unbounded entries.
const PER_BLOCK_OVERHEAD_BYTES: u64 = 96;
/// `quick_cache` sizes its tables from an expected item count; assume blocks near the default
/// 4 KiB block size.
const EXPECTED_BLOCK_BYTES: usize = 4096;

#[derive(Clone)]
struct BlockWeighter;

impl Weighter<(u64, u64), Arc<Block>> for BlockWeighter {
    fn weight(&self, _key: &(u64, u64), block: &Arc<Block>) -> u64 {
        block.size_bytes() as u64 + PER_BLOCK_OVERHEAD_BYTES
    }
}

/// A byte-bounded cache of decompressed data blocks, shared across readers and threads.
pub struct BlockCache {
    blocks: Cache<(u64, u64), Arc<Block>, BlockWeighter>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl BlockCache {
    /// A cache holding at most about `capacity_bytes` of blocks.
    pub fn new(capacity_bytes: usize) -> BlockCache {
        let expected_items = (capacity_bytes / EXPECTED_BLOCK_BYTES).max(16);
        BlockCache {
            blocks: Cache::with_weighter(expected_items, capacity_bytes as u64, BlockWeighter),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// Lookups that found their block.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Lookups that had to read the block from its file.
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    /// Bytes charged for the blocks held now, overhead included.
    #[cfg(test)]
    pub fn used_bytes(&self) -> u64 {
        self.blocks.weight()
    }

    pub(crate) fn get(&self, file_number: u64, offset: u64) -> Option<Arc<Block>> {
        let found = self.blocks.get(&(file_number, offset));
        let counter = if found.is_some() { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    pub(crate) fn insert(&self, file_number: u64, offset: u64, block: Arc<Block>) {
        self.blocks.insert((file_number, offset), block);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sst::block::BlockBuilder;
    use crate::sst::EntryKind;

    fn block(value_bytes: usize) -> Arc<Block> {
        let mut b = BlockBuilder::new(16);
        b.add(b"k", 1, EntryKind::Put, &vec![7; value_bytes]).unwrap();
        Arc::new(Block::parse(b.finish()).unwrap())
    }

    #[test]
    fn hits_and_misses_are_counted() {
        let cache = BlockCache::new(1 << 20);
        assert!(cache.get(1, 0).is_none());
        cache.insert(1, 0, block(100));
        assert!(cache.get(1, 0).is_some());
        assert!(cache.get(1, 0).is_some());
        assert!(cache.get(2, 0).is_none(), "another file's block at the same offset is a different entry");
        assert_eq!((cache.hits(), cache.misses()), (2, 2));
    }

    #[test]
    fn held_bytes_stay_within_capacity() {
        let capacity = 256 * 1024;
        let cache = BlockCache::new(capacity);
        for offset in 0..1000 {
            cache.insert(9, offset, block(4000));
            assert!(cache.used_bytes() <= capacity as u64, "{} after {offset}", cache.used_bytes());
        }
        assert!(cache.used_bytes() > capacity as u64 / 2, "the cache should fill, held {}", cache.used_bytes());
    }

    #[test]
    fn threads_share_one_cache() {
        let cache = Arc::new(BlockCache::new(1 << 20));
        let handles: Vec<_> = (0..4u64)
            .map(|t| {
                let cache = Arc::clone(&cache);
                std::thread::spawn(move || {
                    for i in 0..100 {
                        if cache.get(t, i).is_none() {
                            cache.insert(t, i, block(10));
                        }
                        assert!(cache.get(t, i).is_some());
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(cache.hits() + cache.misses(), 800);
        assert!(cache.hits() >= 400);
    }
}
