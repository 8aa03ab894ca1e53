//! Table keys: how an item's key attributes become the engine key it is stored under.
//!
//! ```text
//! engine key := stripe:u16 BE | escaped(partition bytes) | 0x00 0x01 | sort component
//!
//! partition bytes = S: UTF-8, B: the bytes, N: the canonical number text
//! stripe          = top 16 bits of crc32c(partition bytes): spreads partitions evenly, so a
//!                   parallel Scan segment is a contiguous stripe range
//! escaped         = every 0x00 byte written as 0x00 0xFF, so the 0x00 0x01 terminator sorts
//!                   before any continuation and one partition's items are contiguous
//! sort component  = (tables with a sort key only) S: UTF-8, B: the bytes,
//!                   N: order-preserving number encoding (number.rs); nothing follows it
//! ```
//!
//! Within a partition, items therefore sort as DynamoDB sorts them: S by UTF-8 bytes, B
//! bytewise, N numerically.

use std::borrow::Cow;

use crate::error::{Error, Result};
use crate::item::Value;
use crate::items::short_canonical;
use crate::number::Decimal;

/// DynamoDB's limits on key values, in bytes.
pub const MAX_PARTITION_KEY_BYTES: usize = 2048;
pub const MAX_SORT_KEY_BYTES: usize = 1024;

/// The type of a key attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    S,
    N,
    B,
}

impl KeyType {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::S => "S",
            KeyType::N => "N",
            KeyType::B => "B",
        }
    }

    pub fn parse(s: &str) -> Result<KeyType> {
        match s {
            "S" => Ok(KeyType::S),
            "N" => Ok(KeyType::N),
            "B" => Ok(KeyType::B),
            other => Err(Error::validation(format!("a key attribute's type must be 'S', 'N' or 'B', not '{other}'"))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyAttribute {
    pub name: String,
    pub key_type: KeyType,
}

/// Which attributes form an item's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySchema {
    pub partition: KeyAttribute,
    pub sort: Option<KeyAttribute>,
}

/// A key attribute's value, borrowed: from a decoded [`Value`] or straight from the bytes of an
/// encoded item (`fast_put.rs`), so computing a key allocates only the key itself.
#[derive(Debug, Clone, Copy)]
pub(crate) enum KeyValue<'a> {
    S(&'a str),
    N(&'a str),
    B(&'a [u8]),
    /// A value of a type no key attribute can have.
    Other,
}

impl<'a> From<&'a Value> for KeyValue<'a> {
    fn from(v: &'a Value) -> Self {
        match v {
            Value::S(s) => KeyValue::S(s),
            Value::N(n) => KeyValue::N(n),
            Value::B(b) => KeyValue::B(b),
            _ => KeyValue::Other,
        }
    }
}

/// The bytes a key value contributes, checked against its declared type and size limit.
fn key_bytes<'a>(attr: &KeyAttribute, value: KeyValue<'a>, role: &str, max: usize) -> Result<Cow<'a, [u8]>> {
    let name = &attr.name;
    let bytes = match (attr.key_type, value) {
        (KeyType::S, KeyValue::S(s)) => Cow::Borrowed(s.as_bytes()),
        (KeyType::B, KeyValue::B(b)) => Cow::Borrowed(b),
        (KeyType::N, KeyValue::N(n)) if short_canonical(n) => Cow::Borrowed(n.as_bytes()),
        (KeyType::N, KeyValue::N(n)) => {
            let d = Decimal::parse(n).map_err(|e| Error::validation(format!("{role} `{name}`: {}", e.message())))?;
            return Ok(Cow::Owned(d.to_canonical_string().into_bytes()));
        }
        (t, _) => {
            return Err(Error::validation(format!(
                "{role} `{name}` must be of type {} ({})",
                t.as_str(),
                match t {
                    KeyType::S => "a string",
                    KeyType::N => "a number",
                    KeyType::B => "binary",
                }
            )))
        }
    };
    if bytes.is_empty() {
        return Err(Error::validation(format!("{role} `{name}` must not be empty")));
    }
    if bytes.len() > max {
        return Err(Error::validation(format!("{role} `{name}` is {} bytes; the limit is {max}", bytes.len())));
    }
    Ok(bytes)
}

fn find<'a>(item: &'a [(String, Value)], name: &str) -> Option<&'a Value> {
    item.iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

impl KeySchema {
    /// The default table's schema: a string attribute named `pk`.
    pub fn default_table() -> Self {
        KeySchema { partition: KeyAttribute { name: "pk".into(), key_type: KeyType::S }, sort: None }
    }

    /// The engine key of `item` (or of a key object), which must carry the key attributes.
    pub fn engine_key(&self, item: &[(String, Value)]) -> Result<Vec<u8>> {
        let pk_name = &self.partition.name;
        let pk = find(item, pk_name)
            .ok_or_else(|| Error::validation(format!("the item has no partition key attribute `{pk_name}`")))?;
        let mut key = Vec::new();
        self.write_partition_prefix(pk.into(), &mut key)?;
        if let Some(sort) = &self.sort {
            let sk = find(item, &sort.name)
                .ok_or_else(|| Error::validation(format!("the item has no sort key attribute `{}`", sort.name)))?;
            self.write_sort_component(sk.into(), &mut key)?;
        }
        Ok(key)
    }

    /// A key object must hold the key attributes and nothing else (as DynamoDB's `Key`).
    pub fn check_key_object(&self, key: &[(String, Value)]) -> Result<()> {
        let expected = 1 + usize::from(self.sort.is_some());
        if let Some((extra, _)) = key.iter().find(|(k, _)| !self.is_key_attribute(k)) {
            return Err(Error::validation(format!(
                "the key has attribute `{extra}`, which is not part of the table's key ({})",
                self.describe()
            )));
        }
        if key.len() != expected {
            return Err(Error::validation(format!(
                "the key must give exactly the key attributes ({})",
                self.describe()
            )));
        }
        Ok(())
    }

    pub fn is_key_attribute(&self, name: &str) -> bool {
        self.partition.name == name || self.sort.as_ref().is_some_and(|s| s.name == name)
    }

    /// "pk (S)" or "pk (S), sk (N)".
    pub fn describe(&self) -> String {
        let p = format!("{} ({})", self.partition.name, self.partition.key_type.as_str());
        match &self.sort {
            Some(s) => format!("{p}, {} ({})", s.name, s.key_type.as_str()),
            None => p,
        }
    }

    /// The key attributes of `item`, in schema order: what `lastEvaluatedKey` returns.
    pub fn key_of(&self, item: &[(String, Value)]) -> Vec<(String, Value)> {
        std::iter::once(&self.partition)
            .chain(self.sort.as_ref())
            .filter_map(|a| find(item, &a.name).map(|v| (a.name.clone(), v.clone())))
            .collect()
    }

    /// Every engine key of the partition `pk` starts with these bytes.
    pub fn partition_prefix(&self, pk: &Value) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.write_partition_prefix(pk.into(), &mut out)?;
        Ok(out)
    }

    /// Appends the partition prefix of `pk` to `out`.
    pub(crate) fn write_partition_prefix(&self, pk: KeyValue, out: &mut Vec<u8>) -> Result<()> {
        let bytes = key_bytes(&self.partition, pk, "partition key", MAX_PARTITION_KEY_BYTES)?;
        let stripe = (crc32c::crc32c(&bytes) >> 16) as u16;
        // Room for a sort component too, so a whole engine key is usually one allocation.
        out.reserve(bytes.len() + 4 + 24);
        out.extend_from_slice(&stripe.to_be_bytes());
        for &b in bytes.iter() {
            out.push(b);
            if b == 0 {
                out.push(0xFF);
            }
        }
        out.extend_from_slice(&[0x00, 0x01]);
        Ok(())
    }

    /// The order-preserving encoding of a sort key value (it follows the partition prefix).
    pub fn sort_component(&self, sk: &Value) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.write_sort_component(sk.into(), &mut out)?;
        Ok(out)
    }

    /// Appends the sort component of `sk` to `out`.
    pub(crate) fn write_sort_component(&self, sk: KeyValue, out: &mut Vec<u8>) -> Result<()> {
        let Some(sort) = &self.sort else {
            return Err(Error::validation("the table has no sort key"));
        };
        if let (KeyType::N, KeyValue::N(n)) = (sort.key_type, sk) {
            let d = Decimal::parse(n)
                .map_err(|e| Error::validation(format!("sort key `{}`: {}", sort.name, e.message())))?;
            d.encode_sortable(out);
            return Ok(());
        }
        out.extend_from_slice(&key_bytes(sort, sk, "sort key", MAX_SORT_KEY_BYTES)?);
        Ok(())
    }
}

/// The smallest byte string greater than every string that starts with `prefix`, or `None` if
/// there is none (all bytes 0xFF).
pub fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut out = prefix.to_vec();
    while let Some(last) = out.pop() {
        if last < 0xFF {
            out.push(last + 1);
            return Some(out);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn item(v: Value) -> Vec<(String, Value)> {
        vec![("pk".into(), v), ("x".into(), Value::N("1".into()))]
    }

    fn with_sort(t: KeyType) -> KeySchema {
        KeySchema {
            partition: KeyAttribute { name: "pk".into(), key_type: KeyType::S },
            sort: Some(KeyAttribute { name: "sk".into(), key_type: t }),
        }
    }

    #[test]
    fn a_number_partition_key_is_its_canonical_text_whether_or_not_it_is_parsed() {
        let attr = KeyAttribute { name: "pk".into(), key_type: KeyType::N };
        let mut texts: Vec<String> = ["0", "1", "-1", "10", "1000", "0.5", "-0.001", "1.5"].map(String::from).to_vec();
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..3000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let int = x % 10u64.pow((x % 19) as u32 + 1);
            let frac = (x >> 32) % 10_000;
            texts.push(format!(
                "{}{int}.{frac:0w$}",
                if x.is_multiple_of(3) { "-" } else { "" },
                w = ((x >> 50) % 5) as usize
            ));
            texts.push(format!("{int}{}", "0".repeat(((x >> 45) % 25) as usize)));
        }
        texts.extend(["9".repeat(38), "9".repeat(39), format!("1{}", "0".repeat(126)), "-0".into(), "01".into()]);
        for t in &texts {
            let got =
                key_bytes(&attr, KeyValue::N(t), "partition key", MAX_PARTITION_KEY_BYTES).map(|b| b.into_owned());
            let want = Decimal::parse(t).map(|d| d.to_canonical_string().into_bytes());
            assert_eq!(got.ok(), want.ok(), "{t}");
        }
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
        let s = KeySchema { partition: KeyAttribute { name: "pk".into(), key_type: KeyType::B }, sort: None };
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
        let sorted = with_sort(KeyType::S);
        let key = |sk: String| vec![("pk".to_string(), Value::S("p".into())), ("sk".to_string(), Value::S(sk))];
        assert!(sorted.engine_key(&key("y".repeat(MAX_SORT_KEY_BYTES))).is_ok());
        assert!(sorted.engine_key(&key("y".repeat(MAX_SORT_KEY_BYTES + 1))).is_err());
    }

    #[test]
    fn numeric_sort_keys_order_numerically_and_equal_numbers_give_equal_keys() {
        let s = with_sort(KeyType::N);
        let key = |n: &str| {
            s.engine_key(&[("pk".to_string(), Value::S("p".into())), ("sk".to_string(), Value::N(n.into()))]).unwrap()
        };
        let ordered = ["-1e10", "-2.5", "-1", "-0.001", "0", "0.001", "1", "1.5", "2", "10", "1e20"];
        for w in ordered.windows(2) {
            assert!(key(w[0]) < key(w[1]), "{} < {}", w[0], w[1]);
        }
        assert_eq!(key("1.0"), key("1"));
        assert_eq!(key("100"), key("1e2"));
    }

    #[test]
    fn key_objects_must_hold_exactly_the_key_attributes() {
        let s = with_sort(KeyType::S);
        let pk = ("pk".to_string(), Value::S("p".into()));
        let sk = ("sk".to_string(), Value::S("s".into()));
        assert!(s.check_key_object(&[pk.clone(), sk.clone()]).is_ok());
        assert!(s.check_key_object(std::slice::from_ref(&pk)).is_err());
        assert!(s.check_key_object(&[pk, sk, ("x".to_string(), Value::Null)]).is_err());
    }

    #[test]
    fn prefix_successor_bounds_every_extension() {
        assert_eq!(prefix_successor(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_successor(&[1, 0xFF]), Some(vec![2]));
        assert_eq!(prefix_successor(&[0xFF, 0xFF]), None);
    }
}
