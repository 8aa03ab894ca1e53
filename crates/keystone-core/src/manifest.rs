//! The manifest: which SST files are live, at which level, for which keyspace, and the engine
//! counters (version.rs holds the in-memory `Version`). It is the file `MANIFEST` in the
//! database directory:
//!
//! ```text
//! MANIFEST := header | record+
//! header   := magic "KSTMAN" (6 bytes) | format version:u16 LE (= 1)
//! record   := crc32c:u32 LE | length:u32 LE | edit (length bytes)
//!             crc32c covers the length field and the edit
//!
//! edit     := field* | end            every integer is a varint (varint.rs)
//! field    := tag | body
//!   tag 1  log_number                 (at most once)
//!   tag 2  next_file_number           (at most once)
//!   tag 3  last_seq                   (at most once)
//!   tag 4  deleted file  := keyspace | level | file_number
//!   tag 5  added file    := file_number | keyspace | level | size | entries | min_seq | max_seq
//!                           | smallest_key | largest_key     (keys: varint length | bytes)
//! end      := tag 0, which must be the edit's last byte
//! ```
//!
//! An unknown tag is corruption: a new field means a new format version. The end tag makes
//! every strict prefix of an edit invalid, so a cut edit can never decode as a shorter one.
//! The state is the empty version with every record's edit applied in order (`Version::apply`,
//! whose invariant checks therefore run both before a state is written and after it is read).
//! Today each install writes one record, a snapshot of the whole version; the manifest stays
//! small (one line per live SST), and a single record cannot be half-appended.
//!
//! Crash safety. `install` (and `create`) never modify `MANIFEST` in place. They
//! 1. write `MANIFEST.tmp` (header + one snapshot record of the new state), truncating any
//!    leftover; 2. fsync it; 3. rename it over `MANIFEST`; 4. fsync the directory.
//!
//! What a crash leaves, and why each state opens correctly:
//! - during 1 or 2: `MANIFEST` is the old file, complete and fsynced by the install before
//!   (for `create`, absent: load says there is no manifest, and the database was never
//!   created). `MANIFEST.tmp` is absent, partial, garbage or complete. Load reads only
//!   `MANIFEST`, so it gets the old state, and removes `MANIFEST.tmp` (never trusted, however
//!   complete it looks).
//! - after 2, before 3: the same, with a complete `MANIFEST.tmp`: the old state. Install had
//!   not returned, so the engine has not acted on the new state.
//! - after 3, before 4: rename is atomic, so `MANIFEST` names either the old file or the new
//!   one, and both are complete and fsynced (the new one's data was fsynced in 2, before the
//!   rename was issued). Old or new state; either is correct since install had not returned.
//! - after 4: the new state, durably.
//!
//! So a torn `MANIFEST` is impossible: a `MANIFEST` that fails its checks was damaged after it
//! was written, and load reports it as corruption instead of guessing. The engine's part of the
//! contract: delete the SSTs and WAL segments an edit makes obsolete only after `install`
//! returns Ok, and treat SSTs that no version lists (outputs of an install that did not
//! finish) as garbage to delete.
//!
//! Concurrency: a `Manifest` has one owner (the engine's version lock); `install` takes
//! `&mut self` and does blocking I/O.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, ErrorCode, Result};
use crate::varint::{self, Reader};
use crate::version::{FileMeta, Version};
use crate::vfs::{CreateMode, Vfs};
use crate::wal::sync_dir;

pub const MANIFEST_FILE: &str = "MANIFEST";
pub const MANIFEST_TMP_FILE: &str = "MANIFEST.tmp";
pub const MANIFEST_MAGIC: &[u8; 6] = b"KSTMAN";
pub const MANIFEST_FORMAT_VERSION: u16 = 1;
const HEADER_LEN: usize = 8;
const RECORD_HEADER_LEN: usize = 8;

const TAG_END: u64 = 0;
const TAG_LOG_NUMBER: u64 = 1;
const TAG_NEXT_FILE_NUMBER: u64 = 2;
const TAG_LAST_SEQ: u64 = 3;
const TAG_DELETED: u64 = 4;
const TAG_ADDED: u64 = 5;

/// A change to a `Version`: files deleted, then files added, then counters set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionEdit {
    pub added: Vec<FileMeta>,
    /// (keyspace, level, file_number) of each file that stops being live.
    pub deleted: Vec<(u32, u32, u64)>,
    /// WAL segments with a number below this are fully flushed.
    pub log_number: Option<u64>,
    pub next_file_number: Option<u64>,
    pub last_seq: Option<u64>,
}

impl VersionEdit {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (tag, value) in [
            (TAG_LOG_NUMBER, self.log_number),
            (TAG_NEXT_FILE_NUMBER, self.next_file_number),
            (TAG_LAST_SEQ, self.last_seq),
        ] {
            if let Some(v) = value {
                varint::put_u64(&mut out, tag);
                varint::put_u64(&mut out, v);
            }
        }
        for &(keyspace, level, number) in &self.deleted {
            for v in [TAG_DELETED, keyspace.into(), level.into(), number] {
                varint::put_u64(&mut out, v);
            }
        }
        for f in &self.added {
            let fixed =
                [TAG_ADDED, f.file_number, f.keyspace.into(), f.level.into(), f.size, f.entries, f.min_seq, f.max_seq];
            for v in fixed {
                varint::put_u64(&mut out, v);
            }
            for key in [&f.smallest_key, &f.largest_key] {
                varint::put_u64(&mut out, key.len() as u64);
                out.extend_from_slice(key);
            }
        }
        varint::put_u64(&mut out, TAG_END);
        out
    }

    /// Decodes an edit. Any input that `encode` cannot have produced is an error, never a panic.
    pub fn decode(buf: &[u8]) -> Result<VersionEdit> {
        let mut r = Reader::new(buf, "manifest edit");
        let mut edit = VersionEdit::default();
        loop {
            let at = r.position();
            match r.varint()? {
                TAG_END if r.is_empty() => return Ok(edit),
                TAG_END => {
                    return Err(Error::corruption(format!("manifest edit has bytes after its end at byte {at}")))
                }
                TAG_LOG_NUMBER => set_once(&mut edit.log_number, r.varint()?, "log_number", at)?,
                TAG_NEXT_FILE_NUMBER => set_once(&mut edit.next_file_number, r.varint()?, "next_file_number", at)?,
                TAG_LAST_SEQ => set_once(&mut edit.last_seq, r.varint()?, "last_seq", at)?,
                TAG_DELETED => edit.deleted.push((read_u32(&mut r)?, read_u32(&mut r)?, r.varint()?)),
                TAG_ADDED => {
                    let file = FileMeta {
                        file_number: r.varint()?,
                        keyspace: read_u32(&mut r)?,
                        level: read_u32(&mut r)?,
                        size: r.varint()?,
                        entries: r.varint()?,
                        min_seq: r.varint()?,
                        max_seq: r.varint()?,
                        smallest_key: r.len_prefixed()?.to_vec(),
                        largest_key: r.len_prefixed()?.to_vec(),
                    };
                    file.check()?;
                    edit.added.push(file);
                }
                tag => return Err(Error::corruption(format!("manifest edit has unknown tag {tag} at byte {at}"))),
            }
        }
    }
}

fn set_once(slot: &mut Option<u64>, v: u64, name: &str, at: usize) -> Result<()> {
    if slot.replace(v).is_some() {
        return Err(Error::corruption(format!("manifest edit sets {name} twice (byte {at})")));
    }
    Ok(())
}

fn read_u32(r: &mut Reader<'_>) -> Result<u32> {
    let at = r.position();
    u32::try_from(r.varint()?)
        .map_err(|_| Error::corruption(format!("manifest edit has a keyspace or level above u32 at byte {at}")))
}

/// The whole `MANIFEST` file for `version`: header and one snapshot record.
pub fn encode_file(version: &Version) -> Result<Vec<u8>> {
    let edit = version.snapshot_edit().encode();
    let len = u32::try_from(edit.len())
        .map_err(|_| Error::validation(format!("the manifest snapshot is {} bytes, above 4 GiB", edit.len())))?;
    let mut out = Vec::with_capacity(HEADER_LEN + RECORD_HEADER_LEN + edit.len());
    out.extend_from_slice(MANIFEST_MAGIC);
    out.extend_from_slice(&MANIFEST_FORMAT_VERSION.to_le_bytes());
    let len = len.to_le_bytes();
    let mut crc = crc32c::crc32c(&len);
    crc = crc32c::crc32c_append(crc, &edit);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&len);
    out.extend_from_slice(&edit);
    Ok(out)
}

/// The version a `MANIFEST` file's bytes describe. Every failure is a corruption error
/// whose message does not yet name the file (`load` adds that).
pub fn decode_file(buf: &[u8]) -> Result<Version> {
    let mut r = Reader::new(buf, "MANIFEST");
    if r.bytes(MANIFEST_MAGIC.len())? != MANIFEST_MAGIC {
        return Err(Error::corruption("it is not a keystonedb MANIFEST (bad magic)"));
    }
    let format = u16::from_le_bytes([r.u8()?, r.u8()?]);
    if format != MANIFEST_FORMAT_VERSION {
        return Err(Error::corruption(format!("format version {format}, expected {MANIFEST_FORMAT_VERSION}")));
    }
    if r.is_empty() {
        return Err(Error::corruption("it holds no records"));
    }
    let mut version = Version::default();
    while !r.is_empty() {
        let at = r.position();
        let crc = r.u32_le()?;
        let len = r.u32_le()?;
        let edit = r.bytes(usize::try_from(len).unwrap_or(usize::MAX))?;
        if crc32c::crc32c_append(crc32c::crc32c(&len.to_le_bytes()), edit) != crc {
            return Err(Error::corruption(format!("checksum mismatch in the record at byte {at}")));
        }
        let edit = VersionEdit::decode(edit)
            .map_err(|e| Error::corruption(format!("record at byte {at}: {}", e.message())))?;
        version.apply(&edit).map_err(|e| Error::corruption(format!("record at byte {at}: {}", e.message())))?;
    }
    Ok(version)
}

/// The manifest of one open database: the current version and the file that records it.
pub struct Manifest {
    vfs: Arc<dyn Vfs>,
    dir: PathBuf,
    current: Version,
    /// Set when an install failed part-way: the file may hold the old or the new state, so no
    /// further install is safe until the database is reopened (and the file read again).
    poisoned: bool,
}

impl Manifest {
    /// Writes the first `MANIFEST` of a new database. Fails if one already exists.
    pub fn create(vfs: &Arc<dyn Vfs>, dir: &Path, version: &Version) -> Result<Manifest> {
        let path = dir.join(MANIFEST_FILE);
        if vfs.exists(&path) {
            return Err(Error::new(ErrorCode::AlreadyExists, format!("{} already exists", path.display())));
        }
        let mut checked = Version::default();
        checked.apply(&version.snapshot_edit())?;
        write_file(&**vfs, dir, &checked_file(&checked)?)?;
        Ok(Manifest { vfs: Arc::clone(vfs), dir: dir.to_path_buf(), current: checked, poisoned: false })
    }

    /// Reads the live state from `dir`, or `None` if it has no `MANIFEST`. Removes a
    /// `MANIFEST.tmp` left by a crash during an install: it never holds an installed state.
    pub fn load(vfs: &dyn Vfs, dir: &Path) -> Result<Option<Version>> {
        let tmp = dir.join(MANIFEST_TMP_FILE);
        match vfs.remove(&tmp) {
            Ok(()) => tracing::info!("removed {}, left by an install that did not finish", tmp.display()),
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(format!("removing {}", tmp.display()), e)),
        }
        let path = dir.join(MANIFEST_FILE);
        let bytes = match vfs.read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
        };
        decode_file(&bytes).map(Some).map_err(|e| {
            Error::corruption(format!(
                "{} is damaged: {}. The database can be reopened from its SST and WAL files if this MANIFEST \
                 is moved out of the directory.",
                path.display(),
                e.message()
            ))
        })
    }

    /// `load`, keeping the manifest open for installs.
    pub fn open(vfs: &Arc<dyn Vfs>, dir: &Path) -> Result<Option<Manifest>> {
        Ok(Manifest::load(&**vfs, dir)?.map(|current| Manifest {
            vfs: Arc::clone(vfs),
            dir: dir.to_path_buf(),
            current,
            poisoned: false,
        }))
    }

    pub fn current(&self) -> &Version {
        &self.current
    }

    /// Makes the current version with `edit` applied the durable state (see the header for
    /// why a crash at any point leaves the old or the new state). An edit that breaks an
    /// invariant is refused before anything is written. After an I/O error the manifest is
    /// poisoned: the file holds the old or the new state, and only a reopen can tell which.
    pub fn install(&mut self, edit: &VersionEdit) -> Result<()> {
        if self.poisoned {
            return Err(Error::new(
                ErrorCode::Poisoned,
                format!("an earlier install of {} failed; reopen the database", self.dir.join(MANIFEST_FILE).display()),
            ));
        }
        let mut next = self.current.clone();
        next.apply(edit)?;
        let bytes = checked_file(&next)?;
        if let Err(e) = write_file(&*self.vfs, &self.dir, &bytes) {
            self.poisoned = true;
            return Err(e);
        }
        self.current = next;
        Ok(())
    }
}

/// `encode_file`, then the checks load will run on its bytes, which must give back `version`
/// exactly: what is checked after reading is checked before writing.
fn checked_file(version: &Version) -> Result<Vec<u8>> {
    let bytes = encode_file(version)?;
    let reread = decode_file(&bytes)
        .map_err(|e| Error::corruption(format!("refusing to write a MANIFEST that would not load: {}", e.message())))?;
    if reread != *version {
        return Err(Error::corruption("refusing to write a MANIFEST that would load as a different version"));
    }
    Ok(bytes)
}

/// Steps 1–4 of the header: temp file, fsync, rename, fsync the directory.
fn write_file(vfs: &dyn Vfs, dir: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = dir.join(MANIFEST_TMP_FILE);
    let path = dir.join(MANIFEST_FILE);
    let what = || format!("writing {}", tmp.display());
    let file = vfs.create(&tmp, CreateMode::Truncate).map_err(|e| Error::io(what(), e))?;
    file.append(bytes).map_err(|e| Error::io(what(), e))?;
    file.sync().map_err(|e| Error::io(format!("fsync of {}", tmp.display()), e))?;
    drop(file);
    vfs.rename(&tmp, &path).map_err(|e| Error::io(format!("renaming {} to {}", tmp.display(), path.display()), e))?;
    sync_dir(vfs, dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::tests::file;
    use std::fs;

    fn full_edit() -> VersionEdit {
        VersionEdit {
            added: vec![
                file(7, 1, 0, (3, 9), ("apple", "pear")),
                file(u64::MAX - 1, u32::MAX, 6, (0, u64::MAX), ("", "")),
                FileMeta {
                    smallest_key: vec![0, 255, 7],
                    largest_key: vec![1; 300],
                    ..file(8, 2, 1, (1, 1), ("", ""))
                },
            ],
            deleted: vec![(1, 0, 3), (u32::MAX, u32::MAX, u64::MAX)],
            log_number: Some(0),
            next_file_number: Some(u64::MAX),
            last_seq: Some(1 << 40),
        }
    }

    /// A version with files in two keyspaces, and the edit a compaction would install on it.
    fn old_and_edit() -> (Version, VersionEdit) {
        let mut v = Version::default();
        v.apply(&VersionEdit {
            added: vec![
                file(2, 1, 0, (1, 5), ("a", "m")),
                file(3, 1, 0, (6, 9), ("c", "z")),
                file(4, 1, 1, (1, 2), ("a", "k")),
                file(5, 2, 0, (7, 8), ("q", "r")),
            ],
            log_number: Some(6),
            next_file_number: Some(10),
            last_seq: Some(9),
            ..VersionEdit::default()
        })
        .unwrap();
        let edit = VersionEdit {
            added: vec![file(10, 1, 1, (1, 9), ("a", "h")), file(11, 1, 1, (1, 9), ("i", "z"))],
            deleted: vec![(1, 0, 2), (1, 0, 3), (1, 1, 4)],
            next_file_number: Some(12),
            last_seq: Some(15),
            ..VersionEdit::default()
        };
        (v, edit)
    }

    /// Deterministic bytes for fuzz-style tests (xorshift64).
    fn noise(seed: &mut u64) -> u64 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        *seed
    }

    #[test]
    fn edits_round_trip() {
        for edit in [VersionEdit::default(), full_edit(), old_and_edit().1] {
            assert_eq!(VersionEdit::decode(&edit.encode()).unwrap(), edit);
        }
    }

    #[test]
    fn every_truncation_of_an_edit_is_an_error() {
        let bytes = full_edit().encode();
        for cut in 0..bytes.len() {
            let err = VersionEdit::decode(&bytes[..cut]).unwrap_err();
            assert_eq!(err.code(), ErrorCode::Corruption, "cut at {cut}");
        }
    }

    #[test]
    fn random_bytes_are_an_error_not_a_panic() {
        let mut seed = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            let len = (noise(&mut seed) % 64) as usize + 2;
            let bytes: Vec<u8> = (0..len).map(|_| noise(&mut seed) as u8).collect();
            assert!(VersionEdit::decode(&bytes).is_err(), "{bytes:?}");
        }
    }

    #[test]
    fn damaged_edits_never_panic() {
        let bytes = full_edit().encode();
        let mut seed = 42;
        for i in 0..bytes.len() {
            for _ in 0..8 {
                let mut damaged = bytes.clone();
                damaged[i] = noise(&mut seed) as u8;
                let _ = VersionEdit::decode(&damaged);
            }
        }
    }

    #[test]
    fn decode_rejects_unknown_tags_repeated_counters_bad_files_and_trailing_bytes() {
        let cases: [&[u8]; 6] = [
            &[9, 0],                                     // unknown tag
            &[1, 5, 1, 6, 0],                            // log_number twice
            &[4, 1, 0x80, 0x80, 0x80, 0x80, 0x10, 2, 0], // level above u32
            &[5, 1, 1, 0, 0, 0, 9, 2, 0, 0, 0],          // min_seq above max_seq
            &[0, 0],                                     // bytes after the end
            &[],                                         // no end
        ];
        for bytes in cases {
            assert_eq!(VersionEdit::decode(bytes).unwrap_err().code(), ErrorCode::Corruption, "{bytes:?}");
        }
    }

    #[test]
    fn install_then_load_returns_the_installed_version() {
        let dir = tempfile::tempdir().unwrap();
        let (old, edit) = old_and_edit();
        let mut m = Manifest::create(&crate::vfs::real(), dir.path(), &old).unwrap();
        assert_eq!(Manifest::load(&crate::vfs::RealFs, dir.path()).unwrap(), Some(old.clone()));
        m.install(&edit).unwrap();
        let mut expected = old;
        expected.apply(&edit).unwrap();
        assert_eq!(m.current(), &expected);
        assert_eq!(Manifest::load(&crate::vfs::RealFs, dir.path()).unwrap(), Some(expected.clone()));

        let mut reopened = Manifest::open(&crate::vfs::real(), dir.path()).unwrap().unwrap();
        let flush = VersionEdit {
            added: vec![file(12, 2, 0, (16, 20), ("a", "b"))],
            log_number: Some(8),
            next_file_number: Some(13),
            last_seq: Some(20),
            ..VersionEdit::default()
        };
        reopened.install(&flush).unwrap();
        expected.apply(&flush).unwrap();
        assert_eq!(Manifest::load(&crate::vfs::RealFs, dir.path()).unwrap(), Some(expected));
        assert!(!dir.path().join(MANIFEST_TMP_FILE).exists());
    }

    #[test]
    fn a_directory_without_a_manifest_loads_as_none() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Manifest::load(&crate::vfs::RealFs, dir.path()).unwrap(), None);
        assert!(Manifest::open(&crate::vfs::real(), dir.path()).unwrap().is_none());
    }

    #[test]
    fn create_refuses_to_overwrite_an_existing_manifest() {
        let dir = tempfile::tempdir().unwrap();
        Manifest::create(&crate::vfs::real(), dir.path(), &Version::default()).unwrap();
        let err = Manifest::create(&crate::vfs::real(), dir.path(), &old_and_edit().0).err().unwrap();
        assert_eq!(err.code(), ErrorCode::AlreadyExists);
        assert_eq!(Manifest::load(&crate::vfs::RealFs, dir.path()).unwrap(), Some(Version::default()));
    }

    #[test]
    fn a_crash_at_any_step_of_install_loads_the_old_or_the_new_state() {
        let dir = tempfile::tempdir().unwrap();
        let (old, edit) = old_and_edit();
        Manifest::create(&crate::vfs::real(), dir.path(), &old).unwrap();
        let mut new = old.clone();
        new.apply(&edit).unwrap();
        let new_bytes = encode_file(&new).unwrap();
        let tmp = dir.path().join(MANIFEST_TMP_FILE);

        // Steps 1–2: MANIFEST.tmp partly written, unsynced garbage, or complete but not renamed.
        let mut leftovers: Vec<Vec<u8>> = (0..=new_bytes.len()).map(|cut| new_bytes[..cut].to_vec()).collect();
        leftovers.push(vec![0xa5; 4096]);
        for leftover in leftovers {
            fs::write(&tmp, &leftover).unwrap();
            assert_eq!(
                Manifest::load(&crate::vfs::RealFs, dir.path()).unwrap().as_ref(),
                Some(&old),
                "tmp of {} bytes",
                leftover.len()
            );
            assert!(!tmp.exists(), "a leftover MANIFEST.tmp is removed on load");
        }

        // Step 3 done (MANIFEST is the new file), step 4 not: the new state.
        fs::write(&tmp, &new_bytes).unwrap();
        fs::rename(&tmp, dir.path().join(MANIFEST_FILE)).unwrap();
        assert_eq!(Manifest::load(&crate::vfs::RealFs, dir.path()).unwrap(), Some(new));
    }

    #[test]
    fn a_damaged_manifest_is_corruption_that_names_the_file_and_the_way_out() {
        let dir = tempfile::tempdir().unwrap();
        Manifest::create(&crate::vfs::real(), dir.path(), &old_and_edit().0).unwrap();
        let path = dir.path().join(MANIFEST_FILE);
        let good = fs::read(&path).unwrap();
        let mut damaged: Vec<Vec<u8>> = (0..good.len()).map(|cut| good[..cut].to_vec()).collect();
        for byte in 0..good.len() {
            for flip in [0x01, 0x80, 0xff] {
                let mut d = good.clone();
                d[byte] ^= flip;
                damaged.push(d);
            }
        }
        let mut trailing = good.clone();
        trailing.push(0);
        damaged.push(trailing);
        for bytes in damaged {
            fs::write(&path, &bytes).unwrap();
            let err = Manifest::load(&crate::vfs::RealFs, dir.path()).unwrap_err();
            assert_eq!(err.code(), ErrorCode::Corruption);
            assert!(err.message().contains(&path.display().to_string()), "{}", err.message());
            assert!(err.message().contains("SST and WAL files"), "{}", err.message());
        }
    }

    #[test]
    fn an_edit_that_breaks_an_invariant_is_refused_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let (old, _) = old_and_edit();
        let mut m = Manifest::create(&crate::vfs::real(), dir.path(), &old).unwrap();
        let before = fs::read(dir.path().join(MANIFEST_FILE)).unwrap();
        let bad = [
            VersionEdit { added: vec![file(2, 1, 0, (1, 1), ("a", "b"))], ..VersionEdit::default() },
            VersionEdit { deleted: vec![(2, 0, 4)], ..VersionEdit::default() },
        ];
        for edit in bad {
            assert!(m.install(&edit).is_err());
            assert_eq!(m.current(), &old);
            assert_eq!(fs::read(dir.path().join(MANIFEST_FILE)).unwrap(), before);
            assert!(!dir.path().join(MANIFEST_TMP_FILE).exists());
        }
        // A refused edit does not poison: the next good one installs.
        m.install(&VersionEdit { log_number: Some(7), ..VersionEdit::default() }).unwrap();
    }

    #[test]
    fn an_install_that_fails_on_io_poisons_the_manifest() {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("db");
        fs::create_dir(&dir).unwrap();
        let mut m = Manifest::create(&crate::vfs::real(), &dir, &Version::default()).unwrap();
        fs::remove_dir_all(&dir).unwrap();
        let edit = VersionEdit { log_number: Some(1), ..VersionEdit::default() };
        assert_eq!(m.install(&edit).unwrap_err().code(), ErrorCode::Io);
        fs::create_dir(&dir).unwrap();
        assert_eq!(m.install(&edit).unwrap_err().code(), ErrorCode::Poisoned);
    }
}
