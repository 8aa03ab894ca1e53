//! Entry points for cargo fuzz; not API.
//!
//! Compiled with the `fuzzing` feature (and in this crate's own tests). Each function takes
//! arbitrary bytes, runs one decoder or parser on them and returns nothing: an error is a fine
//! answer, a panic is a bug. Where a decoded value can be encoded again, the round trip is
//! asserted, so a mismatch panics and libFuzzer reports it. The targets live in `fuzz/`
//! (`cargo +nightly fuzz run <target>`); see docs/RELIABILITY.md.
//!
//! Checksums stop a fuzzer at the first CRC, so the WAL, SST and manifest entry points also
//! run the decoder on a copy whose checksums are recomputed, which lets mutations reach the
//! record, block and edit parsers behind them.

#![allow(clippy::panic, reason = "a failed round trip must panic so that libFuzzer reports it")]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use crate::batch::WriteBatch;
use crate::expr::{
    apply_update, eval_condition, parse_condition, parse_filter, parse_key_condition, parse_projection, parse_update,
    project, ExpressionAttributes,
};
use crate::item::{decode_item, encode_item, Item, Value};
use crate::item_size::{check_item, item_size};
use crate::manifest::{decode_file, VersionEdit, MANIFEST_MAGIC};
use crate::number::Decimal;
use crate::sst::fuzz_access::{
    unseal_block, Block, BlockHandle, BloomFilter, Footer, Properties, FOOTER_LEN, TRAILER_LEN,
};
use crate::sst::SstReader;
use crate::version::Version;
use crate::wal;

/// At most this many entries are walked per block or file, to bound one execution's time.
const MAX_STEPS: usize = 100_000;

/// Sets the little-endian u32 at `at` if it lies inside `buf`.
fn put_u32(buf: &mut [u8], at: usize, v: u32) {
    if let Some(dst) = at.checked_add(4).and_then(|end| buf.get_mut(at..end)) {
        dst.copy_from_slice(&v.to_le_bytes());
    }
}

fn u32_at(buf: &[u8], at: usize) -> Option<u32> {
    let b = buf.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(b.try_into().ok()?))
}

// ---------------------------------------------------------------------------------------------
// WAL

/// A WAL segment's bytes, as recovery reads them (`wal::parse_segment`, the core of
/// `wal::read_segment`): raw, and with every record's checksum recomputed.
pub fn wal_segment(data: &[u8]) {
    let _ = wal::parse_segment(data, "wal_000001.log");
    let mut fixed = data.to_vec();
    // record := crc32c:u32 | length:u32 | type:u8 | payload; crc covers type and payload.
    let mut pos = 8usize;
    while let Some(len) = u32_at(&fixed, pos + 4) {
        let Some(end) = (pos + 9).checked_add(len as usize).filter(|&e| e <= fixed.len()) else { break };
        let crc = crc32c::crc32c(fixed.get(pos + 8..end).unwrap_or_default());
        put_u32(&mut fixed, pos, crc);
        pos = end;
    }
    if let Ok(replay) = wal::parse_segment(&fixed, "wal_000001.log") {
        for (seq, batch) in &replay.batches {
            let mut out = Vec::new();
            batch.encode_into(*seq, &mut out);
            if WriteBatch::decode(&out).ok().as_ref() != Some(&(*seq, batch.clone())) {
                panic!("a replayed batch does not survive encode/decode: {batch:?}");
            }
        }
    }
}

/// The file version, through a real file: slower, so the `wal_segment` target does not use it.
pub fn wal_segment_file(data: &[u8]) {
    let path = scratch_dir().join(wal::segment_name(1));
    if std::fs::write(&path, data).is_ok() {
        let _ = wal::read_segment(&crate::vfs::RealFs, &path);
    }
}

/// `WriteBatch::decode`, and the round trip of what decodes.
pub fn write_batch(data: &[u8]) {
    let Ok((seq, batch)) = WriteBatch::decode(data) else { return };
    let _ = batch.encoded_len_bound();
    let mut out = Vec::new();
    batch.encode_into(seq, &mut out);
    match WriteBatch::decode(&out) {
        Ok((s, b)) if s == seq && b == batch => {}
        other => panic!("write batch round trip: {batch:?} at {seq} came back as {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// SST

/// Walks a block from the start, and seeks to and looks up every key it saw plus a few others.
fn walk_block(block: Arc<Block>, extra_key: &[u8]) {
    let mut it = crate::sst::fuzz_access::BlockIter::new(Arc::clone(&block));
    let mut keys = Vec::new();
    if it.seek_to_first().is_ok() {
        for _ in 0..MAX_STEPS {
            if !it.valid() {
                break;
            }
            if keys.len() < 32 {
                keys.push((it.key().to_vec(), it.seq()));
            }
            let _ = BlockHandle::decode(it.value());
            let _ = (it.kind(), it.value().len());
            if it.advance().is_err() {
                break;
            }
        }
    }
    keys.push((Vec::new(), u64::MAX));
    keys.push((extra_key.to_vec(), 0));
    keys.push((vec![0xff; 8], u64::MAX));
    for (key, seq) in keys {
        for s in [seq, u64::MAX, 0] {
            let mut it = crate::sst::fuzz_access::BlockIter::new(Arc::clone(&block));
            if it.seek(&key, s).is_ok() && it.valid() {
                let _ = it.advance();
            }
            let _ = block.lookup(&key, s);
        }
    }
}

/// Every SST decoder that works on bytes in memory: a block (raw, and as a stored block with
/// its trailer checksum recomputed, which reaches lz4 and zstd), a footer, a properties block
/// and a bloom filter.
pub fn sst_block(data: &[u8]) {
    if let Ok(block) = Block::parse(data.to_vec()) {
        let _ = block.size_bytes();
        walk_block(Arc::new(block), data.get(..8).unwrap_or_default());
    }

    let _ = unseal_block(data);
    if data.len() >= TRAILER_LEN {
        let mut stored = data.to_vec();
        let checked = stored.len() - 4;
        let crc = crc32c::crc32c(stored.get(..checked).unwrap_or_default());
        put_u32(&mut stored, checked, crc);
        if let Ok(contents) = unseal_block(&stored) {
            if let Ok(block) = Block::parse(contents) {
                walk_block(Arc::new(block), b"");
            }
        }
    }

    let _ = Footer::decode(data);
    if data.len() >= FOOTER_LEN {
        let mut footer = data.get(data.len() - FOOTER_LEN..).unwrap_or_default().to_vec();
        let crc = crc32c::crc32c(footer.get(..52).unwrap_or_default());
        put_u32(&mut footer, 52, crc);
        let _ = Footer::decode(&footer);
    }

    let _ = Properties::decode(data, data.len() as u64);

    if let Ok(filter) = BloomFilter::parse(data.to_vec()) {
        for key in [data, b"", b"key/00001", data.get(..data.len() / 2).unwrap_or_default()] {
            let _ = filter.may_contain(key);
        }
    }
}

/// A scratch directory for this process (in /dev/shm when there is one, to spare the disk).
fn scratch_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let shm = PathBuf::from("/dev/shm");
        let base = if shm.is_dir() { shm } else { std::env::temp_dir() };
        let dir = base.join(format!("keystone-fuzz-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        dir
    })
    .clone()
}

/// Recomputes the stored block's trailer checksum for `handle`, if it lies within `limit`.
fn fix_block(buf: &mut [u8], handle: BlockHandle, limit: usize) -> bool {
    let (Ok(offset), Ok(size)) = (usize::try_from(handle.offset), usize::try_from(handle.size)) else {
        return false;
    };
    let Some(end) = offset.checked_add(size).and_then(|e| e.checked_add(TRAILER_LEN)).filter(|&e| e <= limit) else {
        return false;
    };
    let crc = crc32c::crc32c(buf.get(offset..end - 4).unwrap_or_default());
    put_u32(buf, end - 4, crc);
    true
}

/// Makes every checksum of an SST image match: the footer's, the meta blocks' and those of
/// the data blocks the index points at.
fn fix_sst_checksums(buf: &mut [u8]) {
    let Some(footer_at) = buf.len().checked_sub(FOOTER_LEN) else { return };
    let crc = crc32c::crc32c(buf.get(footer_at..footer_at + 52).unwrap_or_default());
    put_u32(buf, footer_at + 52, crc);
    let Ok(footer) = Footer::decode(buf.get(footer_at..).unwrap_or_default()) else { return };
    for h in [footer.properties, footer.filter, footer.index] {
        fix_block(buf, h, footer_at);
    }
    let data_end = [footer.index.offset, footer.filter.offset, footer.properties.offset].into_iter().min().unwrap_or(0);
    let data_end = usize::try_from(data_end).unwrap_or(usize::MAX).min(footer_at);
    let index_bytes = usize::try_from(footer.index.offset)
        .ok()
        .zip(footer.index.stored_len().and_then(|l| usize::try_from(l).ok()))
        .and_then(|(o, l)| buf.get(o..o.checked_add(l)?));
    let Some(Ok(index)) = index_bytes.map(unseal_block) else { return };
    let Ok(index) = Block::parse(index) else { return };
    let mut it = crate::sst::fuzz_access::BlockIter::new(Arc::new(index));
    if it.seek_to_first().is_err() {
        return;
    }
    for _ in 0..MAX_STEPS {
        if !it.valid() {
            break;
        }
        if let Ok(h) = BlockHandle::decode(it.value()) {
            fix_block(buf, h, data_end);
        }
        if it.advance().is_err() {
            break;
        }
    }
}

/// A whole SST file: written to a scratch file, opened, iterated in full and probed with
/// `get` and `seek`. The first byte chooses the mode: bit 0 set = recompute every checksum
/// first; the file is the rest.
pub fn sst_file(data: &[u8]) {
    let Some((&mode, file)) = data.split_first() else { return };
    let mut file = file.to_vec();
    if mode & 1 == 1 {
        fix_sst_checksums(&mut file);
    }
    let path = scratch_dir().join("000001.sst");
    if std::fs::write(&path, &file).is_err() {
        return;
    }
    let Ok(reader) = SstReader::open(&crate::vfs::RealFs, &path, None) else { return };
    let info = reader.info().clone();
    let mut keys = vec![info.smallest_key.clone(), info.largest_key.clone(), Vec::new(), b"key/00001".to_vec()];
    for entry in reader.iter().take(MAX_STEPS) {
        match entry {
            Ok((key, _, _, _)) => {
                if keys.len() < 64 {
                    keys.push(key);
                }
            }
            Err(_) => break,
        }
    }
    for key in &keys {
        for snapshot in [u64::MAX, info.max_seq, info.min_seq, 0] {
            let _ = reader.get(key, snapshot);
        }
        let mut it = reader.iter();
        if it.seek(key).is_ok() {
            let _ = it.take(4).count();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Manifest

/// `VersionEdit::decode` and `manifest::decode_file`: the bytes as an edit, as a whole file, and
/// wrapped as the single record of a file with a correct header and checksum. What decodes
/// must round-trip.
pub fn manifest(data: &[u8]) {
    if let Ok(edit) = VersionEdit::decode(data) {
        let again = VersionEdit::decode(&edit.encode());
        if again.as_ref().ok() != Some(&edit) {
            panic!("manifest edit round trip: {edit:?} came back as {again:?}");
        }
    }
    check_version(decode_file(data));

    let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
    let mut file = Vec::with_capacity(data.len() + 16);
    file.extend_from_slice(MANIFEST_MAGIC);
    file.extend_from_slice(&crate::manifest::MANIFEST_FORMAT_VERSION.to_le_bytes());
    let crc = crc32c::crc32c_append(crc32c::crc32c(&len.to_le_bytes()), data);
    file.extend_from_slice(&crc.to_le_bytes());
    file.extend_from_slice(&len.to_le_bytes());
    file.extend_from_slice(data);
    check_version(decode_file(&file));
}

fn check_version(decoded: crate::error::Result<Version>) {
    let Ok(version) = decoded else { return };
    let Ok(bytes) = crate::manifest::encode_file(&version) else { return };
    match decode_file(&bytes) {
        Ok(v) if v == version => {}
        other => panic!("manifest round trip: {version:?} came back as {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Items and numbers

/// `decode_item`, then `check_item` and `item_size` on what decoded, and the encode round trip.
pub fn item_codec(data: &[u8]) {
    let Ok(item) = decode_item(data) else { return };
    let _ = check_item(&item);
    let _ = item_size(&item);
    round_trip_item(&item);
}

fn round_trip_item(item: &[(String, Value)]) {
    let encoded = encode_item(item);
    match decode_item(&encoded) {
        Ok(back) if back.as_slice() == item => {}
        other => panic!("item round trip: {item:?} came back as {other:?}"),
    }
}

fn check_number(d: &Decimal) {
    let text = d.to_canonical_string();
    match Decimal::parse(&text) {
        Ok(back) if &back == d => {}
        other => panic!("canonical text {text:?} of {d:?} parses as {other:?}"),
    }
    let mut sortable = Vec::new();
    d.encode_sortable(&mut sortable);
    match Decimal::decode_sortable(&sortable) {
        Ok(back) if &back == d => {}
        other => panic!("sortable encoding {sortable:?} of {d:?} decodes as {other:?}"),
    }
    if &d.negate().negate() != d {
        panic!("{d:?} negated twice is not itself");
    }
    let _ = d.to_string();
}

fn sortable(d: &Decimal) -> Vec<u8> {
    let mut out = Vec::new();
    d.encode_sortable(&mut out);
    out
}

/// `Decimal::parse` on UTF-8 input, with the canonical-text and sortable-encoding round trips.
/// Input with a `,` is two numbers: their order must match their encodings' byte order, and
/// `add` must commute.
pub fn number(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = Decimal::decode_sortable(data);
    let mut parts = text.splitn(2, ',');
    let a = parts.next().map(Decimal::parse);
    let b = parts.next().map(Decimal::parse);
    if let Some(Ok(a)) = &a {
        check_number(a);
    }
    if let (Some(Ok(a)), Some(Ok(b))) = (&a, &b) {
        check_number(b);
        if a.cmp(b) != sortable(a).cmp(&sortable(b)) {
            panic!("{a:?} vs {b:?}: order {:?} but encodings order the other way", a.cmp(b));
        }
        let (ab, ba) = (a.add(b).ok(), b.add(a).ok());
        if ab != ba {
            panic!("{a:?} + {b:?} = {ab:?} but {b:?} + {a:?} = {ba:?}");
        }
        for r in [ab, a.sub(b).ok()].into_iter().flatten() {
            check_number(&r);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Expressions

fn n(s: &str) -> Value {
    Value::N(s.to_string())
}

fn s(v: &str) -> Value {
    Value::S(v.to_string())
}

struct ExprFixture {
    names: HashMap<String, String>,
    values: HashMap<String, Value>,
    item: Item,
}

fn expr_fixture() -> &'static ExprFixture {
    static FIXTURE: OnceLock<ExprFixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let names = [("#n", "name"), ("#p", "pk"), ("#s", "sk"), ("#a", "a"), ("#l", "l")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let values = [
            (":v", n("1")),
            (":w", s("x")),
            (":x", Value::L(vec![])),
            (":e", Value::L(vec![n("7")])),
            (":n", n("2")),
            (":big", n("9.9999999999999999999999999999999999999E+125")),
            (":s", Value::Ss(vec!["a".into(), "b".into()])),
            (":ns", Value::Ns(vec!["1".into(), "2.5".into()])),
            (":bs", Value::Bs(vec![vec![1], vec![2, 3]])),
            (":t", s("N")),
            (":b", Value::B(vec![0, 1, 2])),
            (":m", Value::M(vec![("k".into(), s("v"))])),
            (":null", Value::Null),
            (":true", Value::Bool(true)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let item = vec![
            ("pk".to_string(), s("user#1")),
            ("sk".to_string(), n("10")),
            ("a".to_string(), n("1")),
            ("l".to_string(), Value::L(vec![n("1"), s("two"), Value::L(vec![Value::Null])])),
            (
                "name".to_string(),
                Value::M(vec![("y".into(), Value::Null), ("z".into(), Value::M(vec![("q".into(), n("3"))]))]),
            ),
            ("ss".to_string(), Value::Ss(vec!["a".into(), "c".into()])),
            ("ns".to_string(), Value::Ns(vec!["1".into(), "3".into()])),
            ("bs".to_string(), Value::Bs(vec![vec![1]])),
            ("b".to_string(), Value::B(vec![9, 9])),
            ("flag".to_string(), Value::Bool(false)),
            ("status".to_string(), s("active")),
        ];
        ExprFixture { names, values, item }
    })
}

/// Every expression parser on UTF-8 input, with fixed placeholder maps; what parses is
/// evaluated, applied or projected against a fixed item.
pub fn expressions(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let fx = expr_fixture();
    let attrs = || ExpressionAttributes::new(&fx.names, &fx.values);

    let a = attrs();
    if let Ok(c) = parse_condition(text, &a) {
        let _ = eval_condition(&c, &fx.item);
        let _ = eval_condition(&c, &[]);
    }
    let _ = a.check_unused();
    let a = attrs();
    if let Ok(c) = parse_filter(text, &a) {
        let _ = eval_condition(&c, &fx.item);
    }
    let a = attrs();
    if let Ok(u) = parse_update(text, &a) {
        for start in [fx.item.clone(), Vec::new()] {
            let mut item = start.clone();
            match apply_update(&u, &mut item) {
                Ok(_) => {
                    let _ = check_item(&item);
                    round_trip_item(&item);
                }
                Err(_) if item != start => panic!("a failed update changed the item: {text:?}"),
                Err(_) => {}
            }
        }
    }
    let a = attrs();
    if let Ok(p) = parse_projection(text, &a) {
        round_trip_item(&project(&fx.item, &p));
    }
    let a = attrs();
    let _ = parse_key_condition(text, &a, "pk", Some("sk"));
    let _ = parse_key_condition(text, &a, "pk", None);
}

#[cfg(test)]
mod tests {
    //! Every seed runs through its entry point here (so `cargo test` keeps the entry points
    //! working); `write_seed_corpus` writes the seeds to `fuzz/corpus/<target>/seed-*`.

    use super::*;
    use crate::manifest::encode_file;
    use crate::sst::{Compression, EntryKind, SstWriteOptions, SstWriter};
    use crate::version::FileMeta;

    type Target = (&'static str, fn(&[u8]), Vec<Vec<u8>>);

    fn batch(i: u32) -> WriteBatch {
        let mut b = WriteBatch::new();
        for k in 0..i {
            b.put(k % 3, format!("key{k}").into_bytes(), vec![k as u8; k as usize]);
        }
        b.delete(1, b"gone".to_vec());
        b
    }

    fn wal_seeds() -> Vec<Vec<u8>> {
        let header = || {
            let mut h = wal::WAL_MAGIC.to_vec();
            h.extend_from_slice(&wal::WAL_FORMAT_VERSION.to_le_bytes());
            h
        };
        let mut out = vec![header()];
        for n in [1u32, 3] {
            let mut seg = header();
            for i in 0..n {
                wal::encode_record(&batch(i + 1), u64::from(i) * 10 + 1, &mut seg);
            }
            out.push(seg);
        }
        out
    }

    fn batch_seeds() -> Vec<Vec<u8>> {
        [0u32, 1, 4]
            .into_iter()
            .map(|i| {
                let mut out = Vec::new();
                batch(i).encode_into(u64::from(i) + 1, &mut out);
                out
            })
            .collect()
    }

    fn block_seeds() -> Vec<Vec<u8>> {
        use crate::sst::fuzz_access::seal_block;
        let mut out = Vec::new();
        for interval in [1usize, 4] {
            let mut b = crate::sst::fuzz_access::BlockBuilder::new(interval);
            for k in 0..10u32 {
                let kind = if k % 4 == 3 { EntryKind::Delete } else { EntryKind::Put };
                let value = if kind == EntryKind::Put { format!("value {k} ").repeat(3).into_bytes() } else { vec![] };
                b.add(format!("key/{k:05}").as_bytes(), 100 - u64::from(k), kind, &value).unwrap();
            }
            out.push(b.finish());
        }
        let contents = out[0].clone();
        for c in [Compression::None, Compression::Lz4, Compression::Zstd] {
            out.push(seal_block(&contents, c).unwrap().0);
        }
        out
    }

    fn sst_image(dir: &std::path::Path, number: u64, entries: u32, compression: Compression) -> Vec<u8> {
        let path = dir.join(format!("{number:06}.sst"));
        let opts = SstWriteOptions {
            keyspace: 3,
            level: 1,
            file_number: number,
            block_size_bytes: 128,
            compression,
            ..SstWriteOptions::default()
        };
        let mut w = SstWriter::create(&path, opts).unwrap();
        for k in 0..entries {
            let key = format!("key/{k:05}").into_bytes();
            w.add(&key, 50, EntryKind::Put, format!("v{k} ").repeat(5).as_bytes()).unwrap();
            if k % 3 == 0 {
                w.add(&key, 40, EntryKind::Delete, b"").unwrap();
            }
        }
        w.finish().unwrap();
        std::fs::read(&path).unwrap()
    }

    fn sst_file_seeds() -> Vec<Vec<u8>> {
        let dir = tempfile::tempdir().unwrap();
        let mut out = Vec::new();
        for (i, (entries, c)) in
            [(1, Compression::None), (12, Compression::Lz4), (12, Compression::Zstd)].into_iter().enumerate()
        {
            let image = sst_image(dir.path(), i as u64 + 1, entries, c);
            // Mode 1 (fix checksums) for the mutator to work behind the CRCs, mode 0 raw.
            for mode in [1u8, 0] {
                if mode == 0 && i > 0 {
                    continue;
                }
                let mut seed = vec![mode];
                seed.extend_from_slice(&image);
                out.push(seed);
            }
        }
        out
    }

    fn sst_block_seeds() -> Vec<Vec<u8>> {
        let dir = tempfile::tempdir().unwrap();
        let image = sst_image(dir.path(), 1, 12, Compression::None);
        let mut out = block_seeds();
        out.push(image[image.len() - FOOTER_LEN..].to_vec());
        let footer = Footer::decode(&image[image.len() - FOOTER_LEN..]).unwrap();
        for h in [footer.properties, footer.filter] {
            // The contents, without the trailer.
            out.push(image[h.offset as usize..(h.offset + h.size) as usize].to_vec());
        }
        out
    }

    fn file(number: u64, keyspace: u32, level: u32, keys: (&str, &str)) -> FileMeta {
        FileMeta {
            file_number: number,
            keyspace,
            level,
            size: 1000 + number,
            entries: 10,
            min_seq: number,
            max_seq: number + 5,
            smallest_key: keys.0.as_bytes().to_vec(),
            largest_key: keys.1.as_bytes().to_vec(),
        }
    }

    fn manifest_seeds() -> Vec<Vec<u8>> {
        let add = VersionEdit {
            added: vec![file(3, 1, 0, ("a", "m")), file(4, 1, 0, ("b", "z")), file(5, 2, 1, ("k", "p"))],
            log_number: Some(2),
            next_file_number: Some(9),
            last_seq: Some(40),
            ..VersionEdit::default()
        };
        let delete = VersionEdit {
            deleted: vec![(1, 0, 3)],
            added: vec![file(6, 1, 1, ("a", "m"))],
            next_file_number: Some(10),
            ..VersionEdit::default()
        };
        let mut v = Version::default();
        v.apply(&add).unwrap();
        let mut out = vec![add.encode(), delete.encode(), encode_file(&v).unwrap()];
        v.apply(&delete).unwrap();
        out.push(encode_file(&v).unwrap());
        out
    }

    fn item_seeds() -> Vec<Vec<u8>> {
        let fx = expr_fixture();
        vec![
            encode_item(&[]),
            encode_item(&fx.item),
            encode_item(&[("pk".into(), s("k")), ("n".into(), n("-1.5E-3"))]),
            encode_item(&[("deep".into(), Value::M(vec![("a".into(), Value::L(vec![Value::M(vec![])]))]))]),
        ]
    }

    fn text_seeds(texts: &[&str]) -> Vec<Vec<u8>> {
        texts.iter().map(|t| t.as_bytes().to_vec()).collect()
    }

    fn targets() -> Vec<Target> {
        vec![
            ("wal_segment", wal_segment, wal_seeds()),
            ("write_batch", write_batch, batch_seeds()),
            ("sst_block", sst_block, sst_block_seeds()),
            ("sst_file", sst_file, sst_file_seeds()),
            ("manifest", manifest, manifest_seeds()),
            ("item_codec", item_codec, item_seeds()),
            (
                "number",
                number,
                text_seeds(&["0", "-12.5e3", "123456789012345678901234567890.12345678", "1E-130,-1E125", "7,0.07"]),
            ),
            (
                "expressions",
                expressions,
                text_seeds(&[
                    "a = :v AND (b < :w OR NOT c BETWEEN :v AND :w)",
                    "attribute_exists(#n.z.q) AND size(l) > :v",
                    "contains(ss, :w) OR begins_with(status, :w) OR attribute_type(a, :t)",
                    "a IN (:v, :n, :big) AND NOT (sk <> :v)",
                    "SET a = a + :v, l[1] = if_not_exists(x, :w), l = list_append(l, :e) REMOVE name.y ADD ns :ns DELETE ss :s",
                    "a, l[2][0], name.z, #n",
                    "pk = :w AND sk BETWEEN :v AND :n",
                    "#p = :w AND begins_with(#s, :w)",
                ]),
            ),
        ]
    }

    /// The only test that uses the scratch directory, so it can remove it at the end.
    #[test]
    fn every_seed_runs_through_its_entry_point_and_valid_seeds_decode() {
        for (name, run, seeds) in targets() {
            assert!(!seeds.is_empty(), "{name}");
            for seed in seeds {
                run(&seed);
            }
        }
        wal_segment_file(&wal_seeds()[1]);

        assert_eq!(wal::parse_segment(&wal_seeds()[2], "x").unwrap().batches.len(), 3);
        let seeds = sst_file_seeds();
        let path = scratch_dir().join("seed-check.sst");
        std::fs::write(&path, &seeds[0][1..]).unwrap();
        assert_eq!(SstReader::open(&crate::vfs::RealFs, &path, None).unwrap().iter().count(), 2);
        assert!(decode_file(&manifest_seeds()[3]).is_ok());
        std::fs::remove_dir_all(scratch_dir()).unwrap();
    }

    /// The seeds committed in `fuzz/corpus` are exactly what these generators make, so a format
    /// change cannot leave the fuzzers starting from stale inputs.
    /// `KSTONE_WRITE_FUZZ_SEEDS=1 cargo test -p keystone-core committed_fuzz_seeds` rewrites them.
    #[test]
    fn committed_fuzz_seeds_match_their_generators() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
        let write = std::env::var_os("KSTONE_WRITE_FUZZ_SEEDS").is_some();
        for (name, _, seeds) in targets() {
            let dir = root.join(name);
            for (i, seed) in seeds.iter().enumerate() {
                let path = dir.join(format!("seed-{i:02}"));
                if write {
                    std::fs::create_dir_all(&dir).unwrap();
                    std::fs::write(&path, seed).unwrap();
                } else {
                    let committed = std::fs::read(&path).unwrap_or_default();
                    assert!(committed == *seed, "{} is stale: rerun with KSTONE_WRITE_FUZZ_SEEDS=1", path.display());
                }
            }
        }
    }
}
