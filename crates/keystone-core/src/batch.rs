//! Write batches: the unit of atomicity. A batch is logged as one WAL record, so after a crash
//! it is there whole or not at all.
//!
//! ```text
//! batch := base_seq:u64 LE | count:u32 LE | entry*
//! entry := kind:u8 (1 put, 2 delete) | keyspace:u32 LE | varint key_len | key
//!          [| varint value_len | value]        (puts only)
//! ```
//!
//! Entry `i` gets sequence number `base_seq + i`.

use crate::error::{Error, Result};
use crate::varint::{put_u64, Reader};

/// A keyspace (column family): every table, index and the metadata live in their own.
pub type Keyspace = u32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Put,
    Delete,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub kind: OpKind,
    pub keyspace: Keyspace,
    pub key: Vec<u8>,
    /// Empty for deletes.
    pub value: Vec<u8>,
}

/// Puts and deletes that commit together.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteBatch {
    pub(crate) entries: Vec<Entry>,
}

impl WriteBatch {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn put(&mut self, keyspace: Keyspace, key: Vec<u8>, value: Vec<u8>) {
        self.entries.push(Entry { kind: OpKind::Put, keyspace, key, value });
    }

    pub fn delete(&mut self, keyspace: Keyspace, key: Vec<u8>) {
        self.entries.push(Entry { kind: OpKind::Delete, keyspace, key, value: Vec::new() });
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Bytes of keys and values, for memory accounting.
    /// At least what [`WriteBatch::encode_into`] writes (lengths counted at their largest), so
    /// a buffer reserved with it never grows while the batch is encoded.
    pub fn encoded_len_bound(&self) -> usize {
        12 + self.entries.iter().map(|e| 1 + 4 + 10 + e.key.len() + 10 + e.value.len()).sum::<usize>()
    }

    pub fn encode_into(&self, base_seq: u64, out: &mut Vec<u8>) {
        out.extend_from_slice(&base_seq.to_le_bytes());
        out.extend_from_slice(&(self.entries.len() as u32).to_le_bytes());
        for e in &self.entries {
            out.push(match e.kind {
                OpKind::Put => 1,
                OpKind::Delete => 2,
            });
            out.extend_from_slice(&e.keyspace.to_le_bytes());
            put_u64(out, e.key.len() as u64);
            out.extend_from_slice(&e.key);
            if e.kind == OpKind::Put {
                put_u64(out, e.value.len() as u64);
                out.extend_from_slice(&e.value);
            }
        }
    }

    /// Decodes a batch logged by [`WriteBatch::encode_into`]; returns its base sequence number.
    pub fn decode(buf: &[u8]) -> Result<(u64, WriteBatch)> {
        let mut r = Reader::new(buf, "write batch");
        let base_seq = r.u64_le()?;
        let count = r.u32_le()?;
        let mut entries = Vec::new();
        for _ in 0..count {
            let kind = match r.u8()? {
                1 => OpKind::Put,
                2 => OpKind::Delete,
                k => return Err(Error::corruption(format!("write batch has unknown entry kind {k}"))),
            };
            let keyspace = r.u32_le()?;
            let key = r.len_prefixed()?.to_vec();
            let value = if kind == OpKind::Put { r.len_prefixed()?.to_vec() } else { Vec::new() };
            entries.push(Entry { kind, keyspace, key, value });
        }
        if !r.is_empty() {
            return Err(Error::corruption("write batch has trailing bytes"));
        }
        Ok((base_seq, WriteBatch { entries }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_round_trips_with_its_sequence_number() {
        let mut b = WriteBatch::new();
        b.put(1, b"a".to_vec(), b"1".to_vec());
        b.delete(2, b"b".to_vec());
        b.put(1, Vec::new(), Vec::new());
        let mut out = Vec::new();
        b.encode_into(42, &mut out);
        let (seq, back) = WriteBatch::decode(&out).unwrap_or_default();
        assert_eq!(seq, 42);
        assert_eq!(back, b);
    }

    #[test]
    fn the_encoded_length_bound_holds_for_any_sizes() {
        let mut b = WriteBatch::new();
        for (n, len) in [0usize, 1, 127, 128, 16_383, 16_384, 300_000].into_iter().enumerate() {
            b.put(n as u32, vec![1; len % 3000], vec![2; len]);
            b.delete(u32::MAX, vec![3; len % 200]);
            let mut out = Vec::new();
            b.encode_into(u64::MAX, &mut out);
            assert!(out.len() <= b.encoded_len_bound(), "{} > {}", out.len(), b.encoded_len_bound());
            assert!(b.encoded_len_bound() - out.len() <= 20 * b.len(), "the bound is loose");
        }
    }

    #[test]
    fn truncated_batch_is_corruption() {
        let mut b = WriteBatch::new();
        b.put(1, b"key".to_vec(), b"value".to_vec());
        let mut out = Vec::new();
        b.encode_into(1, &mut out);
        for cut in 0..out.len() {
            assert!(WriteBatch::decode(out.get(..cut).unwrap_or_default()).is_err());
        }
    }
}
