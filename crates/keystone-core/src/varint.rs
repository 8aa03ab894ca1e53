//! LEB128 variable-length unsigned integers, as used by every on-disk and boundary format here:
//! seven bits per byte, least significant group first, high bit set on all but the last byte.

use crate::error::{Error, Result};

pub fn put_u64(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A cursor over a byte slice that decodes fixed and variable-length fields and reports
/// running out of bytes as corruption of `what`, never as a panic.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8], what: &'static str) -> Self {
        Reader { buf, pos: 0, what }
    }

    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    fn short(&self) -> Error {
        Error::corruption(format!("{} is truncated at byte {}", self.what, self.pos))
    }

    pub fn u8(&mut self) -> Result<u8> {
        let b = *self.buf.get(self.pos).ok_or_else(|| self.short())?;
        self.pos += 1;
        Ok(b)
    }

    #[inline]
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or_else(|| self.short())?;
        let s = self.buf.get(self.pos..end).ok_or_else(|| self.short())?;
        self.pos = end;
        Ok(s)
    }

    #[inline]
    pub fn u32_le(&mut self) -> Result<u32> {
        let b = self.bytes(4)?.try_into().map_err(|_| self.short())?;
        Ok(u32::from_le_bytes(b))
    }

    pub fn u64_le(&mut self) -> Result<u64> {
        let b = self.bytes(8)?.try_into().map_err(|_| self.short())?;
        Ok(u64::from_le_bytes(b))
    }

    #[inline]
    pub fn varint(&mut self) -> Result<u64> {
        // Most varints here (key and value lengths, small counts) fit one byte.
        if let Some(&b) = self.buf.get(self.pos) {
            if b < 0x80 {
                self.pos += 1;
                return Ok(u64::from(b));
            }
        }
        self.varint_long()
    }

    fn varint_long(&mut self) -> Result<u64> {
        let mut v: u64 = 0;
        let mut shift = 0;
        while let Some(&b) = self.buf.get(self.pos) {
            self.pos += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
            shift += 7;
            if shift > 63 {
                return Err(Error::corruption(format!("{} has an overlong varint at byte {}", self.what, self.pos)));
            }
        }
        Err(self.short())
    }

    /// A varint length followed by that many bytes.
    pub fn len_prefixed(&mut self) -> Result<&'a [u8]> {
        let n = self.varint()?;
        let n = usize::try_from(n).map_err(|_| self.short())?;
        self.bytes(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_boundary_values() {
        for v in [0u64, 1, 127, 128, 300, 16_383, 16_384, u32::MAX as u64, u64::MAX] {
            let mut out = Vec::new();
            put_u64(&mut out, v);
            let mut r = Reader::new(&out, "test");
            assert_eq!(r.varint().ok(), Some(v));
            assert!(r.is_empty());
        }
    }

    #[test]
    fn truncated_varint_is_corruption_not_panic() {
        let mut r = Reader::new(&[0x80, 0x80], "test");
        let err = r.varint().err().map(|e| e.code());
        assert_eq!(err, Some(crate::error::ErrorCode::Corruption));
    }
}
