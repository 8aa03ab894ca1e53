//! Opening a database directory: the live SSTs from the MANIFEST (or, when there is none, from
//! the SSTs' own descriptions), then the WAL replayed on top into a fresh memtable.
//!
//! Without a MANIFEST (a restored file-copy backup of `*.sst` + `wal_*.log`, or a database
//! from before SSTs existed) every SST is placed in L0, where files may overlap and a read takes
//! the newest version across all of them; the next compaction sorts them into levels. Such a
//! copy may hold both the inputs and some outputs of a compaction that ran during the copy:
//! harmless, since versions are told apart by sequence number, never by file.
//!
//! WAL replay skips, per keyspace, entries whose sequence number is at or below the newest one
//! already in that keyspace's SSTs: flushes run oldest memtable first and each keyspace's part
//! of a flush is one atomically renamed file, so everything at or below that number is in an
//! SST, and replaying it again would put an old version in front of newer SST data.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::manifest::{Manifest, VersionEdit};
use crate::memtable::Memtable;
use crate::sst::SstReader;
use crate::tables::parse_sst_name;
use crate::version::{FileMeta, Version};
use crate::vfs::Vfs;
use crate::wal;

pub struct Recovered {
    pub manifest: Manifest,
    pub memtable: Memtable,
    /// The highest sequence number in the database.
    pub last_seq: u64,
    /// The newest WAL segment found (new writes go to the one after it).
    pub newest_segment: Option<u64>,
    /// Batches replayed from the WAL.
    pub replayed_batches: usize,
}

/// Numbers of the `*.sst` files in `dir`, removing `*.sst.tmp` files a crash left behind.
fn list_ssts(vfs: &dyn Vfs, dir: &Path) -> Result<Vec<u64>> {
    let mut out = Vec::new();
    let names = vfs.list(dir).map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
    for name in &names {
        if name.ends_with(".sst.tmp") {
            let _ = vfs.remove(&dir.join(name));
        } else if let Some(n) = parse_sst_name(name) {
            out.push(n);
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// True if `dir` holds keystonedb files.
pub fn holds_database(vfs: &dyn Vfs, dir: &Path) -> Result<bool> {
    Ok(vfs.exists(&dir.join(crate::manifest::MANIFEST_FILE))
        || !wal::list_segments(vfs, dir)?.is_empty()
        || !list_ssts(vfs, dir)?.is_empty())
}

/// Builds a version from the SSTs' self-descriptions (all in L0) and writes it as the MANIFEST.
fn rebuild_manifest(vfs: &Arc<dyn Vfs>, dir: &Path, ssts: &[u64]) -> Result<Manifest> {
    let mut edit = VersionEdit::default();
    let mut last_seq = 0;
    for &n in ssts {
        let path = dir.join(crate::tables::sst_name(n));
        let reader = SstReader::open(&**vfs, &path, None)?;
        let info = reader.info();
        last_seq = last_seq.max(info.max_seq);
        // The name is what the copy kept; trust it over the number recorded inside.
        edit.added.push(FileMeta { file_number: n, ..FileMeta::from_info(info, 0) });
    }
    edit.next_file_number = Some(ssts.last().map_or(1, |n| n + 1));
    edit.last_seq = Some(last_seq);
    let mut version = Version::default();
    version.apply(&edit)?;
    if !ssts.is_empty() {
        tracing::warn!(dir = %dir.display(), files = ssts.len(), "no MANIFEST: rebuilt it from the SST files");
    }
    Manifest::create(vfs, dir, &version)
}

pub fn recover(vfs: &Arc<dyn Vfs>, dir: &Path, memtable_bytes: usize) -> Result<Recovered> {
    let ssts = list_ssts(&**vfs, dir)?;
    let manifest = match Manifest::open(vfs, dir)? {
        Some(m) => m,
        None => rebuild_manifest(vfs, dir, &ssts)?,
    };
    let version = manifest.current();

    // SSTs the manifest does not list: outputs of a flush or compaction a crash cut short, or
    // obsolete files whose deletion was still pending.
    let live: std::collections::HashSet<u64> = version.all_files().map(|f| f.file_number).collect();
    for n in ssts.iter().filter(|n| !live.contains(n)) {
        let path = dir.join(crate::tables::sst_name(*n));
        vfs.remove(&path).map_err(|e| Error::io(format!("removing unused {}", path.display()), e))?;
    }

    let mut flushed: HashMap<u32, u64> = HashMap::new();
    for f in version.all_files() {
        let e = flushed.entry(f.keyspace).or_insert(0);
        *e = (*e).max(f.max_seq);
    }

    let memtable = Memtable::with_expected_bytes(memtable_bytes);
    let mut last_seq = version.last_seq;
    let segments = wal::list_segments(&**vfs, dir)?;
    let newest = segments.last().copied();
    let mut replayed = 0;
    for &n in &segments {
        let path = dir.join(wal::segment_name(n));
        if n < version.log_number {
            vfs.remove(&path).map_err(|e| Error::io(format!("removing flushed {}", path.display()), e))?;
            continue;
        }
        let replay = wal::read_segment(&**vfs, &path)?;
        if replay.headerless {
            // Records are appended only after the header is fsynced, so this file never held
            // a write. Left in place it would sit between segments that do.
            tracing::warn!(segment = %path.display(), "removing a WAL segment whose creation a crash cut short");
            vfs.remove(&path).map_err(|e| Error::io(format!("removing {}", path.display()), e))?;
            continue;
        }
        for (base_seq, batch) in replay.batches {
            replayed += 1;
            let mut unflushed = Vec::with_capacity(batch.len());
            for (i, e) in batch.entries.into_iter().enumerate() {
                let seq = base_seq + i as u64;
                last_seq = last_seq.max(seq);
                if seq > flushed.get(&e.keyspace).copied().unwrap_or(0) {
                    unflushed.push((seq, e));
                }
            }
            memtable.insert(unflushed);
        }
        if let Some(at) = replay.torn_at {
            if Some(n) != newest {
                return Err(Error::corruption(format!(
                    "{} is damaged at byte {at} but is not the newest WAL segment; \
                     the writes after that point cannot be recovered automatically",
                    path.display()
                )));
            }
            if replay.zero_tail {
                tracing::debug!(segment = %path.display(), at, "cutting the WAL's preallocated zeros");
            } else {
                tracing::warn!(segment = %path.display(), at, "dropping the torn tail of the WAL");
            }
            wal::truncate_segment(&**vfs, &path, at)?;
        }
    }
    Ok(Recovered { manifest, memtable, last_seq, newest_segment: newest, replayed_batches: replayed })
}
