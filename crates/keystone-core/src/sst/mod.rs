//! Sorted string tables: the immutable files that memtables are flushed to and that compaction
//! merges. One SST holds entries of one keyspace and level, sorted by user key ascending, then
//! sequence number descending.
//!
//! ```text
//! file   := data block* | filter block | properties block | index block | footer
//!
//! every block is stored as  payload | type:u8 | crc32c:u32 LE          (format.rs)
//!
//! data block        entries (user key, seq, kind, value), prefix-compressed keys,
//!                   a restart point every 16 entries; compressed per block  (block.rs)
//! filter block      bloom filter over the distinct user keys                 (bloom.rs)
//! properties block  keyspace, level, file number, counts, seq range,
//!                   smallest and largest user key                           (properties.rs)
//! index block       one entry per data block, in the block format with a restart at
//!                   every entry: key and seq = the block's last entry,
//!                   value = block handle (offset:varint | size:varint)      (block.rs)
//! footer            64 bytes: handles of index, filter and properties blocks,
//!                   format version, crc32c, magic                           (format.rs)
//! ```
//!
//! Only data blocks are compressed; the others are read once per open and kept in memory.
//!
//! A point lookup checks the key range and the bloom filter, binary-searches the index for the
//! first block whose last entry is at or after (key, snapshot), and seeks within that block.
//! A file named `*.sst` is always complete: see the crash-safety note in `writer.rs`. A reader
//! verifies every checksum before use, so a damaged file yields `Corruption`, never a wrong
//! answer or a panic (`corruption_tests.rs` flips and truncates every byte to prove it).

mod block;
mod bloom;
mod cache;
mod format;
mod index;
mod iter;
mod properties;
mod reader;
mod writer;

#[cfg(test)]
mod corruption_tests;

/// The decoders `crate::fuzzing` drives directly.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) mod fuzz_access {
    pub use super::block::{Block, BlockIter};
    pub use super::bloom::BloomFilter;
    pub use super::format::{unseal_block, BlockHandle, Footer, FOOTER_LEN, TRAILER_LEN};
    pub use super::properties::Properties;
    #[cfg(test)]
    pub use super::{block::BlockBuilder, format::seal_block};
}

pub use block::EntryKind;
pub use cache::BlockCache;
pub use format::Compression;
#[cfg(test)]
pub use iter::SstEntry;
pub use iter::SstIter;
pub use properties::SstInfo;
pub use reader::{Found, SstReader};
pub use writer::{SstWriteOptions, SstWriter};

#[cfg(test)]
pub(crate) mod testutil {
    use std::path::{Path, PathBuf};

    use super::*;

    /// `keys` user keys `key/00000`.., each with versions at seqs 300, 200, 100 (every fifth
    /// version a tombstone) and values long enough to span several 256-byte blocks.
    pub fn entries(keys: u32) -> Vec<SstEntry> {
        let mut out = Vec::new();
        for k in 0..keys {
            for (i, seq) in [300u64, 200, 100].into_iter().enumerate() {
                let key = format!("key/{k:05}").into_bytes();
                if (k as usize * 3 + i) % 5 == 4 {
                    out.push((key, seq + u64::from(k), EntryKind::Delete, Vec::new()));
                } else {
                    let value = format!("value of {k} at {seq} ").repeat(1 + k as usize % 3).into_bytes();
                    out.push((key, seq + u64::from(k), EntryKind::Put, value));
                }
            }
        }
        out
    }

    pub fn opts(file_number: u64, compression: Compression) -> SstWriteOptions {
        SstWriteOptions {
            keyspace: 7,
            level: 2,
            file_number,
            block_size_bytes: 256,
            compression,
            ..SstWriteOptions::default()
        }
    }

    pub fn write(dir: &Path, entries: &[SstEntry], opts: SstWriteOptions) -> (PathBuf, SstInfo) {
        let path = dir.join(format!("{:06}.sst", opts.file_number));
        let mut w = SstWriter::create(&path, opts).unwrap();
        for (k, s, kind, v) in entries {
            w.add(k, *s, *kind, v).unwrap();
        }
        (path, w.finish().unwrap())
    }
}
