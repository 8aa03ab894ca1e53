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
        // the newest version across all of them wins. L0 is ordered by `max_seq`, newest first,
        // so once a version newer than a file's `max_seq` is found, no file from there on can
        // hold a newer one.
        let mut best: Option<Found> = None;
        for f in version.files(keyspace, 0) {
            if best.as_ref().is_some_and(|b| b.seq > f.max_seq) {
                break;
            }
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

#[cfg(test)]
mod tests {
    use crate::options::{CompactionOptions, Options};
    use crate::Db;

    #[test]
    fn a_point_read_stops_at_the_newest_l0_file_that_holds_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let opts =
            Options { compaction: CompactionOptions { enabled: false, ..Default::default() }, ..Default::default() };
        let db = Db::create(&dir.path().join("db"), opts).unwrap();
        // Three L0 files, oldest first, each with a version of "k" (and "only-old" in the first).
        for v in ["v1", "v2", "v3"] {
            db.put(1, b"k".to_vec(), v.as_bytes().to_vec(), None).unwrap();
            if v == "v1" {
                db.put(1, b"only-old".to_vec(), b"o".to_vec(), None).unwrap();
            }
            db.flush().unwrap();
        }
        let inner = db.inner();
        let files: Vec<u64> = inner.version.read().files(1, 0).iter().map(|f| f.file_number).collect();
        assert_eq!(files.len(), 3);
        let reads = || -> Vec<u64> { files.iter().map(|&f| inner.tables.get(f).unwrap().data_block_reads()).collect() };
        let before = reads();
        assert_eq!(db.get(1, b"k").unwrap(), Some(b"v3".to_vec()));
        let after = reads();
        // Only the newest file (first in L0's order) was read: the others' bloom filters would
        // have let the read in, since they hold "k" too.
        assert_eq!(after.iter().zip(&before).map(|(a, b)| a - b).collect::<Vec<_>>(), vec![1, 0, 0]);
        // A key only the oldest file holds is still found there.
        assert_eq!(db.get(1, b"only-old").unwrap(), Some(b"o".to_vec()));
    }
}
