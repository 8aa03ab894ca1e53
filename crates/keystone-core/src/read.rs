//! Point reads: memtables newest first, then the SSTs of the current version.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::batch::Keyspace;
use crate::db::Inner;
use crate::error::Result;
use crate::memtable::Newest;
use crate::sst::{EntryKind, Found};
use crate::version::NUM_LEVELS;

impl Inner {
    /// The current value of `key`, if any.
    pub(crate) fn get(&self, keyspace: Keyspace, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let snapshot = self.visible_seq.load(Ordering::Acquire);
        Ok(self.newest(keyspace, key, snapshot)?.and_then(|n| n.value))
    }

    /// The newest version of `key` at `snapshot` (a deletion included), if there is one.
    pub(crate) fn newest(&self, keyspace: Keyspace, key: &[u8], snapshot: u64) -> Result<Option<Newest>> {
        {
            let m = self.mem.read();
            for mem in std::iter::once(&m.active).chain(m.immutable.iter().rev().map(|f| &f.mem)) {
                if let Some(n) = mem.get(keyspace, key, snapshot) {
                    return Ok(Some(n));
                }
            }
        }
        // After the memtables: a flush installs its SSTs before it drops the memtable.
        let version = Arc::clone(&self.version.read());
        let visible = |f: Found| Some(Newest { seq: f.seq, value: (f.kind == EntryKind::Put).then_some(f.value) });
        // L0 files may overlap (and after a restore from a file copy, in any order of age):
        // the newest version across all of them wins.
        let mut best: Option<Found> = None;
        for f in version.files(keyspace, 0) {
            if key < f.smallest_key.as_slice() || key > f.largest_key.as_slice() {
                continue;
            }
            if let Some(found) = self.tables.get(f.file_number)?.get(key, snapshot)? {
                if best.as_ref().is_none_or(|b| found.seq > b.seq) {
                    best = Some(found);
                }
            }
        }
        if let Some(found) = best {
            return Ok(visible(found));
        }
        for level in 1..NUM_LEVELS {
            let files = version.files(keyspace, level);
            let i = files.partition_point(|f| f.largest_key.as_slice() < key);
            if let Some(f) = files.get(i).filter(|f| f.smallest_key.as_slice() <= key) {
                if let Some(found) = self.tables.get(f.file_number)?.get(key, snapshot)? {
                    return Ok(visible(found));
                }
            }
        }
        Ok(None)
    }
}
