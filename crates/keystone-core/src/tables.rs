//! The table cache: open SST readers by file number, at most `max_open_files` at once (least
//! recently used closed first), all sharing one block cache. SST files are named
//! `NNNNNN.sst` (six or more digits: the file number from the manifest).
//!
//! Concurrency contract: any thread may call any method; readers are cheap clones sharing one
//! open file, so an evicted reader that a thread still holds stays usable.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::Result;
use crate::sst::{BlockCache, SstReader};
use crate::vfs::Vfs;

pub fn sst_name(file_number: u64) -> String {
    format!("{file_number:06}.sst")
}

/// The file number of a name like `000012.sst`.
pub fn parse_sst_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".sst")?;
    if digits.len() < 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

pub struct TableCache {
    vfs: Arc<dyn Vfs>,
    dir: PathBuf,
    readers: quick_cache::sync::Cache<u64, SstReader>,
    blocks: Arc<BlockCache>,
}

impl TableCache {
    pub fn new(vfs: &Arc<dyn Vfs>, dir: &Path, max_open_files: usize, blocks: Arc<BlockCache>) -> Self {
        TableCache {
            vfs: Arc::clone(vfs),
            dir: dir.to_path_buf(),
            readers: quick_cache::sync::Cache::new(max_open_files.max(1)),
            blocks,
        }
    }

    pub fn get(&self, file_number: u64) -> Result<SstReader> {
        self.readers.get_or_insert_with(&file_number, || {
            SstReader::open(&*self.vfs, &self.dir.join(sst_name(file_number)), Some(Arc::clone(&self.blocks)))
        })
    }

    pub fn evict(&self, file_number: u64) {
        self.readers.remove(&file_number);
    }

    /// Block cache hits and misses so far.
    pub fn block_cache_counts(&self) -> (u64, u64) {
        (self.blocks.hits(), self.blocks.misses())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sst_names_round_trip_and_reject_strangers() {
        assert_eq!(parse_sst_name(&sst_name(42)), Some(42));
        assert_eq!(parse_sst_name("1234567.sst"), Some(1_234_567));
        assert_eq!(parse_sst_name("000042.sst.tmp"), None);
        assert_eq!(parse_sst_name("42.sst"), None);
        assert_eq!(parse_sst_name("wal_000001.log"), None);
    }
}
