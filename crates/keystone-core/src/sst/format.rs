//! The physical framing shared by every block of an SST: the block trailer (compression type and
//! checksum), the block handle that points at a block, and the fixed-size footer.
//!
//! ```text
//! stored block := payload | type:u8 | crc32c:u32 LE          (trailer = last 5 bytes)
//! payload      := contents                                   type 0 (none)
//!               | uncompressed_len:varint | lz4 block         type 1 (lz4_flex block format)
//!               | uncompressed_len:varint | zstd frame        type 2
//! crc32c covers payload and type, so a flipped type byte is caught like a flipped data byte.
//!
//! handle       := offset:varint | size:varint                size = payload bytes, no trailer
//!
//! footer (64 bytes, the last bytes of the file):
//! +------------------+------------------+-------------------+------------------+
//! | index off u64 LE | index size u64   | filter off u64    | filter size u64  |
//! +------------------+------------------+-------------------+------------------+
//! | props off u64    | props size u64   | version u32 LE    | crc32c u32 LE    |
//! +------------------+------------------+-------------------+------------------+
//! | magic u64 LE "KSTSST\0\x01"                                                |
//! +-----------------------------------------------------------------------------+
//! the footer crc32c covers the 52 bytes before it.
//! ```

use crate::error::{Error, Result};
use crate::varint::{self, Reader};

pub const TRAILER_LEN: usize = 5;
pub const FOOTER_LEN: usize = 64;
pub const SST_MAGIC: u64 = u64::from_le_bytes(*b"KSTSST\x00\x01");
pub const SST_FORMAT_VERSION: u32 = 1;
/// No block we write decompresses to more than this; a larger claim is damage, and refusing it
/// keeps a crafted file from making us allocate without bound.
pub const MAX_BLOCK_BYTES: usize = 1 << 30;
/// zstd's own default: a good ratio at a few hundred MB/s, which keeps flushes I/O-bound.
const ZSTD_LEVEL: i32 = 3;

const TYPE_NONE: u8 = 0;
const TYPE_LZ4: u8 = 1;
const TYPE_ZSTD: u8 = 2;

/// How data blocks are compressed. A block that does not shrink is stored uncompressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    None,
    #[default]
    Lz4,
    Zstd,
}

/// Where a block's payload lies in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BlockHandle {
    pub offset: u64,
    pub size: u64,
}

impl BlockHandle {
    pub fn encode(&self, out: &mut Vec<u8>) {
        varint::put_u64(out, self.offset);
        varint::put_u64(out, self.size);
    }

    pub fn decode(buf: &[u8]) -> Result<BlockHandle> {
        let mut r = Reader::new(buf, "block handle");
        let h = BlockHandle { offset: r.varint()?, size: r.varint()? };
        if !r.is_empty() {
            return Err(Error::corruption("block handle has trailing bytes"));
        }
        Ok(h)
    }

    /// The payload plus trailer, as stored.
    pub fn stored_len(&self) -> Option<u64> {
        self.size.checked_add(TRAILER_LEN as u64)
    }
}

/// Compresses `contents` as asked (falling back to none if that does not shrink it) and appends
/// the trailer. Returns the stored bytes and the payload size for the handle.
pub fn seal_block(contents: &[u8], compression: Compression) -> Result<(Vec<u8>, u64)> {
    if contents.len() > MAX_BLOCK_BYTES {
        return Err(Error::validation(format!(
            "an SST block of {} bytes exceeds the limit of {MAX_BLOCK_BYTES}",
            contents.len()
        )));
    }
    let compressed = match compression {
        Compression::None => None,
        Compression::Lz4 => Some((TYPE_LZ4, lz4_flex::block::compress(contents))),
        Compression::Zstd => zstd::bulk::compress(contents, ZSTD_LEVEL).ok().map(|c| (TYPE_ZSTD, c)),
    };
    let mut out = Vec::with_capacity(contents.len() + TRAILER_LEN + 10);
    let kind = match compressed {
        Some((kind, body)) if body.len() + 10 < contents.len() => {
            varint::put_u64(&mut out, contents.len() as u64);
            out.extend_from_slice(&body);
            kind
        }
        _ => {
            out.extend_from_slice(contents);
            TYPE_NONE
        }
    };
    let payload_len = out.len() as u64;
    out.push(kind);
    let crc = crc32c::crc32c(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    Ok((out, payload_len))
}

/// Verifies the trailer of a stored block (payload + trailer) and returns its contents,
/// decompressed. Errors are corruption; the caller adds the file and offset.
pub fn unseal_block(stored: &[u8]) -> Result<Vec<u8>> {
    let payload_len = stored.len().checked_sub(TRAILER_LEN).ok_or_else(|| Error::corruption("block is truncated"))?;
    let (checked, crc_bytes) = stored.split_at(payload_len + 1);
    let expected = u32::from_le_bytes(crc_bytes.try_into().map_err(|_| Error::corruption("block is truncated"))?);
    if crc32c::crc32c(checked) != expected {
        return Err(Error::corruption("block checksum mismatch"));
    }
    let (payload, kind) = checked.split_at(payload_len);
    let kind = kind.first().copied().unwrap_or(u8::MAX);
    if kind == TYPE_NONE {
        return Ok(payload.to_vec());
    }
    let mut r = Reader::new(payload, "compressed block");
    let len = usize::try_from(r.varint()?).unwrap_or(usize::MAX);
    if len > MAX_BLOCK_BYTES {
        return Err(Error::corruption(format!("block claims {len} uncompressed bytes")));
    }
    let body = r.bytes(payload.len() - r.position())?;
    let out = match kind {
        TYPE_LZ4 => {
            let mut out = vec![0u8; len];
            let n = lz4_flex::block::decompress_into(body, &mut out)
                .map_err(|e| Error::corruption(format!("lz4 block does not decompress: {e}")))?;
            out.truncate(n);
            out
        }
        TYPE_ZSTD => zstd::bulk::decompress(body, len)
            .map_err(|e| Error::corruption(format!("zstd block does not decompress: {e}")))?,
        other => return Err(Error::corruption(format!("unknown block compression type {other}"))),
    };
    if out.len() != len {
        return Err(Error::corruption(format!("block decompressed to {} bytes, expected {len}", out.len())));
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footer {
    pub index: BlockHandle,
    pub filter: BlockHandle,
    pub properties: BlockHandle,
}

impl Footer {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(FOOTER_LEN);
        for h in [self.index, self.filter, self.properties] {
            out.extend_from_slice(&h.offset.to_le_bytes());
            out.extend_from_slice(&h.size.to_le_bytes());
        }
        out.extend_from_slice(&SST_FORMAT_VERSION.to_le_bytes());
        let crc = crc32c::crc32c(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&SST_MAGIC.to_le_bytes());
        out
    }

    pub fn decode(buf: &[u8]) -> Result<Footer> {
        if buf.len() != FOOTER_LEN {
            return Err(Error::corruption("footer is truncated"));
        }
        let mut r = Reader::new(buf, "footer");
        let mut handles = [BlockHandle::default(); 3];
        for h in &mut handles {
            *h = BlockHandle { offset: r.u64_le()?, size: r.u64_le()? };
        }
        let version = r.u32_le()?;
        let crc = r.u32_le()?;
        let magic = r.u64_le()?;
        if magic != SST_MAGIC {
            return Err(Error::corruption("not a keystonedb SST (bad magic)"));
        }
        if crc32c::crc32c(buf.get(..52).unwrap_or_default()) != crc {
            return Err(Error::corruption("footer checksum mismatch"));
        }
        if version != SST_FORMAT_VERSION {
            return Err(Error::corruption(format!("SST format version {version}, expected {SST_FORMAT_VERSION}")));
        }
        let [index, filter, properties] = handles;
        Ok(Footer { index, filter, properties })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn compressible() -> Vec<u8> {
        (0..4000u32).flat_map(|i| format!("user#{:04}|", i % 50).into_bytes()).collect()
    }

    #[test]
    fn every_compression_round_trips_and_shrinks_compressible_data() {
        let data = compressible();
        for c in [Compression::None, Compression::Lz4, Compression::Zstd] {
            let (stored, size) = seal_block(&data, c).unwrap();
            assert_eq!(stored.len() as u64, size + TRAILER_LEN as u64);
            if c != Compression::None {
                assert!(stored.len() < data.len() / 2, "{c:?} stored {} bytes", stored.len());
            }
            assert_eq!(unseal_block(&stored).unwrap(), data);
        }
    }

    #[test]
    fn incompressible_block_is_stored_raw() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let data: Vec<u8> = (0..2000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        for c in [Compression::Lz4, Compression::Zstd] {
            let (stored, _) = seal_block(&data, c).unwrap();
            assert_eq!(stored[stored.len() - TRAILER_LEN], TYPE_NONE);
            assert_eq!(unseal_block(&stored).unwrap(), data);
        }
    }

    #[test]
    fn any_flipped_byte_of_a_stored_block_is_corruption() {
        for c in [Compression::None, Compression::Lz4, Compression::Zstd] {
            let (stored, _) = seal_block(&compressible()[..600], c).unwrap();
            for i in 0..stored.len() {
                let mut bad = stored.clone();
                bad[i] ^= 0x40;
                assert_eq!(unseal_block(&bad).err().map(|e| e.code()), Some(ErrorCode::Corruption), "{c:?} byte {i}");
            }
            for cut in 0..stored.len() {
                assert!(unseal_block(&stored[..cut]).is_err(), "{c:?} cut {cut}");
            }
        }
    }

    #[test]
    fn footer_round_trips_and_rejects_damage() {
        let f = Footer {
            index: BlockHandle { offset: 1, size: 2 },
            filter: BlockHandle { offset: 3, size: 4 },
            properties: BlockHandle { offset: 5, size: 6 },
        };
        let bytes = f.encode();
        assert_eq!(bytes.len(), FOOTER_LEN);
        assert_eq!(Footer::decode(&bytes).unwrap(), f);
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 1;
            assert_eq!(Footer::decode(&bad).err().map(|e| e.code()), Some(ErrorCode::Corruption), "byte {i}");
        }
    }
}
