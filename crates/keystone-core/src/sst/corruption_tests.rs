//! Damaged SSTs: every flipped byte and every truncation is either read correctly or reported
//! as `Corruption`; never a wrong answer, never a panic.

use std::fs;
use std::path::Path;
use std::sync::Arc;

use super::block::{Block, BlockIter};
use super::format::{BlockHandle, Footer, FOOTER_LEN, TRAILER_LEN};
use super::testutil::{entries, opts, write};
use super::*;
use crate::error::{ErrorCode, Result};

const SNAPSHOTS: [u64; 4] = [u64::MAX, 250, 150, 50];

fn is_corruption<T>(r: &Result<T>) -> bool {
    r.as_ref().err().map(|e| e.code()) == Some(ErrorCode::Corruption)
}

fn expected(all: &[SstEntry], key: &[u8], snapshot: u64) -> Option<Found> {
    all.iter().find(|(k, s, _, _)| k == key && *s <= snapshot).map(|(_, s, kind, v)| Found {
        seq: *s,
        kind: *kind,
        value: v.clone(),
    })
}

/// Reads everything from `path` every way the engine does and checks each answer is right or
/// a Corruption error. Returns how many Corruption errors it met.
fn check_reads(path: &Path, all: &[SstEntry], info: &SstInfo, what: &str) -> usize {
    let opened = SstReader::open(&crate::vfs::RealFs, path, Some(Arc::new(BlockCache::new(1 << 20))));
    let r = match opened {
        Ok(r) => r,
        Err(e) => {
            assert_eq!(e.code(), ErrorCode::Corruption, "{what}: open failed with {e}");
            return 1;
        }
    };
    assert_eq!(r.info(), info, "{what}: properties changed");
    let mut errors = 0;
    let mut keys: Vec<&[u8]> = all.iter().map(|e| e.0.as_slice()).collect();
    keys.dedup();
    for key in keys {
        for snapshot in SNAPSHOTS {
            let got = r.get(key, snapshot);
            if is_corruption(&got) {
                errors += 1;
            } else {
                assert_eq!(got.unwrap(), expected(all, key, snapshot), "{what}: get {key:?}@{snapshot}");
            }
        }
        let mut absent = key.to_vec();
        absent.push(b'~');
        let got = r.get(&absent, u64::MAX);
        assert!(is_corruption(&got) || got.as_ref().is_ok_and(|f| f.is_none()), "{what}: absent key found");
    }
    for start in [None, Some(all.len() / 2)] {
        let mut it = r.iter();
        let from = start.unwrap_or(0);
        if let Some(i) = start {
            let seek = it.seek(&all[i].0);
            if is_corruption(&seek) {
                errors += 1;
                continue;
            }
            seek.unwrap();
        }
        let mut n = from;
        for item in it.by_ref() {
            match item {
                Ok(entry) => assert_eq!(Some(&entry), all.get(n), "{what}: entry {n}"),
                Err(e) => {
                    assert_eq!(e.code(), ErrorCode::Corruption, "{what}: iteration failed with {e}");
                    errors += 1;
                    break;
                }
            }
            n += 1;
        }
        assert!(it.next().is_none(), "{what}: iteration went on after its end or an error");
        assert!(n == all.len() || errors > 0, "{what}: iteration stopped early without an error");
    }
    errors
}

#[test]
fn every_flipped_byte_is_detected_and_never_returns_wrong_data() {
    let dir = tempfile::tempdir().unwrap();
    let all = entries(12);
    for (n, c) in [Compression::None, Compression::Lz4, Compression::Zstd].into_iter().enumerate() {
        let (path, info) = write(dir.path(), &all, opts(n as u64 + 1, c));
        assert_eq!(check_reads(&path, &all, &info, "intact"), 0);
        let good = fs::read(&path).unwrap();
        assert!(block_ranges(&good).len() >= 3 + 3, "{c:?}: the file should span several data blocks");
        let damaged = dir.path().join("damaged.sst");
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x10;
            fs::write(&damaged, &bad).unwrap();
            // Every byte is covered by a checksum that some read verifies, so each flip must
            // be reported at least once.
            let errors = check_reads(&damaged, &all, &info, &format!("{c:?} byte {i} of {}", good.len()));
            assert!(errors > 0, "{c:?}: flip of byte {i} went unnoticed");
        }
    }
}

#[test]
fn every_truncation_fails_to_open_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let all = entries(12);
    let (path, _) = write(dir.path(), &all, opts(1, Compression::Lz4));
    let good = fs::read(&path).unwrap();
    for cut in 0..good.len() {
        fs::write(&path, &good[..cut]).unwrap();
        let err = SstReader::open(&crate::vfs::RealFs, &path, None).err().map(|e| e.code());
        assert_eq!(err, Some(ErrorCode::Corruption), "cut at {cut}");
    }
    let mut longer = good.clone();
    longer.extend_from_slice(&[0; 3]);
    fs::write(&path, &longer).unwrap();
    assert_eq!(SstReader::open(&crate::vfs::RealFs, &path, None).err().map(|e| e.code()), Some(ErrorCode::Corruption));
}

#[test]
fn arbitrary_garbage_files_are_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("000001.sst");
    let mut x: u64 = 0x853C_49E6_748F_EA9B;
    for len in (0..400).chain([4096, 65_536]) {
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        fs::write(&path, &bytes).unwrap();
        let err = SstReader::open(&crate::vfs::RealFs, &path, None).err().map(|e| e.code());
        assert_eq!(err, Some(ErrorCode::Corruption), "{len} random bytes");
    }
}

/// Every block of the file as (offset, payload size), from its footer and index.
fn block_ranges(file: &[u8]) -> Vec<(usize, usize)> {
    let footer = Footer::decode(&file[file.len() - FOOTER_LEN..]).unwrap();
    let mut out: Vec<(usize, usize)> =
        [footer.index, footer.filter, footer.properties].iter().map(|h| (h.offset as usize, h.size as usize)).collect();
    let (i, s) = out[0];
    let index = super::format::unseal_block(&file[i..i + s + TRAILER_LEN]).unwrap();
    let mut it = BlockIter::new(Arc::new(Block::parse(index).unwrap()));
    it.seek_to_first().unwrap();
    while it.valid() {
        let h = BlockHandle::decode(it.value()).unwrap();
        out.push((h.offset as usize, h.size as usize));
        it.advance().unwrap();
    }
    out
}

#[test]
fn damage_behind_a_recomputed_checksum_never_panics() {
    // What a checksum cannot catch (a bug, or a forged file) must still not crash the process.
    let dir = tempfile::tempdir().unwrap();
    let all = entries(12);
    let (path, _) = write(dir.path(), &all, opts(1, Compression::None));
    let good = fs::read(&path).unwrap();
    for (offset, size) in block_ranges(&good) {
        for i in offset..offset + size {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut bad = good.clone();
                bad[i] ^= flip;
                let crc = crc32c::crc32c(&bad[offset..offset + size + 1]);
                bad[offset + size + 1..offset + size + TRAILER_LEN].copy_from_slice(&crc.to_le_bytes());
                fs::write(&path, &bad).unwrap();
                let Ok(r) = SstReader::open(&crate::vfs::RealFs, &path, None) else { continue };
                for (k, _, _, _) in &all {
                    let _ = r.get(k, u64::MAX);
                    let _ = r.get(k, 150);
                }
                let mut it = r.iter();
                let _ = it.seek(&all[all.len() / 2].0);
                let _ = it.by_ref().take(all.len() + 5).count();
                let _ = r.iter().take(all.len() * 2).count();
            }
        }
    }
}
