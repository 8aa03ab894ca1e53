//! `verify()`: reads every byte the database depends on and checks every checksum: each live
//! SST whole (footer, index, filter, properties and every data block), the WAL segments that
//! recovery would replay, and the MANIFEST. Damage is reported, file by file, instead of
//! failing on the first problem, so an operator sees everything that is wrong at once.

use std::sync::Arc;

use crate::db::Db;
use crate::error::Result;
use crate::manifest;
use crate::sst::SstReader;
use crate::tables::sst_name;
use crate::wal;

/// What `verify` found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub sst_files: u64,
    pub sst_entries: u64,
    pub wal_segments: u64,
    pub wal_batches: u64,
    /// One line per damaged file; empty when everything checked out.
    pub problems: Vec<String>,
}

impl Db {
    pub fn verify(&self) -> Result<VerifyReport> {
        let inner = self.inner();
        let mut report = VerifyReport::default();
        let version = Arc::clone(&inner.version.read());
        for f in version.all_files() {
            let path = inner.dir.join(sst_name(f.file_number));
            report.sst_files += 1;
            let checked = SstReader::open(&*inner.options.vfs, &path, None).and_then(|r| {
                let mut n = 0u64;
                for entry in r.iter() {
                    entry?;
                    n += 1;
                }
                Ok(n)
            });
            match checked {
                Ok(n) if n == f.entries => report.sst_entries += n,
                Ok(n) => report.problems.push(format!(
                    "{}: holds {n} entries, the MANIFEST says {}",
                    path.display(),
                    f.entries
                )),
                Err(e) => report.problems.push(format!("{}: {}", path.display(), e.message())),
            }
        }
        let segments = wal::list_segments(&*inner.options.vfs, &inner.dir)?;
        let newest = segments.last().copied();
        for n in segments.into_iter().filter(|&n| n >= version.log_number) {
            let path = inner.dir.join(wal::segment_name(n));
            report.wal_segments += 1;
            match wal::read_segment(&*inner.options.vfs, &path) {
                Ok(replay) => {
                    report.wal_batches += replay.batches.len() as u64;
                    // The newest segment is being appended to: its end may be mid-write.
                    if let (Some(at), false) = (replay.torn_at, Some(n) == newest || replay.headerless) {
                        report.problems.push(format!("{}: damaged at byte {at}", path.display()));
                    }
                }
                Err(e) => report.problems.push(format!("{}: {}", path.display(), e.message())),
            }
        }
        // Read and decode the file directly: Manifest::load would also remove a MANIFEST.tmp,
        // which a concurrent install may be writing.
        let path = inner.dir.join(manifest::MANIFEST_FILE);
        match inner.options.vfs.read(&path) {
            Ok(bytes) => {
                if let Err(e) = manifest::decode_file(&bytes) {
                    report.problems.push(format!("{}: {}", path.display(), e.message()));
                }
            }
            Err(e) => report.problems.push(format!("{}: {e}", path.display())),
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::{Durability, Options};

    #[test]
    fn verify_passes_a_healthy_database_and_names_a_damaged_sst() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let options = Options { durability: Durability::None, obsolete_file_retention_ms: 0, ..Options::default() };
        let db = Db::create(&path, options).unwrap();
        for i in 0..2000u32 {
            db.put(1, format!("k{i:05}").into_bytes(), vec![b'v'; 100], None).unwrap();
        }
        db.compact().unwrap();
        for i in 0..10u32 {
            db.put(1, format!("w{i}").into_bytes(), vec![1], None).unwrap();
        }
        let report = db.verify().unwrap();
        assert!(report.problems.is_empty(), "{report:?}");
        assert!(report.sst_entries >= 2000, "{report:?}");
        assert!(report.wal_batches >= 10, "{report:?}");

        let sst = std::fs::read_dir(&path)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.extension().is_some_and(|x| x == "sst") && std::fs::metadata(p).unwrap().len() > 4096)
            .unwrap();
        let mut bytes = std::fs::read(&sst).unwrap();
        bytes[100] ^= 0xFF;
        std::fs::write(&sst, &bytes).unwrap();
        // The reader may have the block cached: verify reads the files afresh.
        let report = db.verify().unwrap();
        assert_eq!(report.problems.len(), 1, "{report:?}");
        assert!(report.problems[0].contains(sst.file_name().unwrap().to_str().unwrap()), "{report:?}");
    }
}
