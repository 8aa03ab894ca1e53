//! Table keys: how an item's key attributes become the engine key it is stored under.
//!
//! ```text
//! engine key := stripe:u16 BE | escaped(partition key bytes) | 0x00 0x01
//!
//! stripe  = top 16 bits of crc32c(partition key bytes): spreads partitions evenly, so a
//!           parallel Scan segment is a contiguous stripe range.
//! escaped = every 0x00 byte written as 0x00 0xFF, so the 0x00 0x01 terminator sorts before any
//!           continuation and one partition's keys are contiguous.
//! ```
//!
//! The terminator leaves room for a sort-key suffix with the same order-preserving rule.

use crate::error::{Error, Result};
use crate::item::Value;

/// DynamoDB's limit on a partition key value.
pub const MAX_PARTITION_KEY_BYTES: usize = 2048;

/// The type of a key attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    S,
    B,
}

/// Which attributes form an item's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySchema {
    pub partition_key: String,
    pub partition_type: KeyType,
}

impl KeySchema {
    /// The default table's schema: a string attribute named `pk`.
    pub fn default_table() -> Self {
        KeySchema { partition_key: "pk".into(), partition_type: KeyType::S }
    }

    /// The engine key of `item`, which must carry the key attributes with the right types.
    pub fn engine_key(&self, item: &[(String, Value)]) -> Result<Vec<u8>> {
        let name = &self.partition_key;
        let value = item
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
            .ok_or_else(|| Error::validation(format!("the item has no partition key attribute `{name}`")))?;
        let bytes: &[u8] = match (self.partition_type, value) {
            (KeyType::S, Value::S(s)) => s.as_bytes(),
            (KeyType::B, Value::B(b)) => b,
            (KeyType::S, _) => return Err(Error::validation(format!("partition key `{name}` must be a string (S)"))),
            (KeyType::B, _) => return Err(Error::validation(format!("partition key `{name}` must be binary (B)"))),
        };
        if bytes.is_empty() {
            return Err(Error::validation(format!("partition key `{name}` must not be empty")));
        }
        if bytes.len() > MAX_PARTITION_KEY_BYTES {
            return Err(Error::validation(format!(
                "partition key `{name}` is {} bytes; the limit is {MAX_PARTITION_KEY_BYTES}",
                bytes.len()
            )));
        }
        Ok(encode_partition(bytes))
    }
}

fn encode_partition(bytes: &[u8]) -> Vec<u8> {
    let stripe = (crc32c::crc32c(bytes) >> 16) as u16;
    let mut out = Vec::with_capacity(bytes.len() + 4);
    out.extend_from_slice(&stripe.to_be_bytes());
    for &b in bytes {
        out.push(b);
        if b == 0 {
            out.push(0xFF);
        }
    }
    out.extend_from_slice(&[0x00, 0x01]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn item(v: Value) -> Vec<(String, Value)> {
        vec![("pk".into(), v), ("x".into(), Value::N("1".into()))]
    }

    #[test]
    fn same_partition_gives_same_key_and_different_partitions_differ() {
        let s = KeySchema::default_table();
        let a = s.engine_key(&item(Value::S("user#1".into()))).ok();
        let b = s.engine_key(&item(Value::S("user#1".into()))).ok();
        let c = s.engine_key(&item(Value::S("user#2".into()))).ok();
        assert!(a.is_some());
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn a_key_with_a_zero_byte_does_not_collide_with_its_prefix() {
        let s = KeySchema { partition_key: "pk".into(), partition_type: KeyType::B };
        let a = s.engine_key(&item(Value::B(vec![1, 0]))).ok();
        let b = s.engine_key(&item(Value::B(vec![1]))).ok();
        assert_ne!(a, b);
    }

    #[test]
    fn missing_wrong_type_empty_and_oversized_keys_are_validation_errors() {
        let s = KeySchema::default_table();
        let cases = vec![
            vec![("other".to_string(), Value::S("x".into()))],
            item(Value::N("1".into())),
            item(Value::S(String::new())),
            item(Value::S("x".repeat(MAX_PARTITION_KEY_BYTES + 1))),
        ];
        for c in cases {
            assert_eq!(s.engine_key(&c).err().map(|e| e.code()), Some(ErrorCode::Validation));
        }
        assert!(s.engine_key(&item(Value::S("x".repeat(MAX_PARTITION_KEY_BYTES)))).is_ok());
    }
}
