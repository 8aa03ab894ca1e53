//! The item codec: how an item crosses the JS↔Rust boundary and how it is stored as a value.
//!
//! An item is encoded once in JavaScript (`src/codec.ts`), decoded here only as far as the
//! engine needs (the key attributes), and stored as the same bytes. The layout:
//!
//! ```text
//! item   := version:u8 (= 1) | map-body
//! value  := tag:u8 | body
//!
//! tag  type  body
//! 0x01 S     varint len | UTF-8 bytes
//! 0x02 N     varint len | ASCII decimal (DynamoDB number text, up to 38 significant digits)
//! 0x03 B     varint len | bytes
//! 0x04 BOOL  (false, no body)
//! 0x05 BOOL  (true, no body)
//! 0x06 NULL  (no body)
//! 0x07 M     map-body
//! 0x08 L     varint count | value*
//! 0x09 SS    varint count | (varint len | UTF-8 bytes)*
//! 0x0A NS    varint count | (varint len | ASCII decimal)*
//! 0x0B BS    varint count | (varint len | bytes)*
//!
//! map-body := varint count | (varint len | UTF-8 name | value)*
//! ```
//!
//! Varints are LEB128 (`varint.rs`). Numbers stay decimal text so no digit is ever rounded
//! through a double.

use crate::error::{Error, Result};
use crate::varint::{put_u64, Reader};

pub const ITEM_FORMAT_VERSION: u8 = 1;
/// DynamoDB nests documents at most 32 levels deep.
pub const MAX_DEPTH: usize = 32;

pub(crate) const T_S: u8 = 0x01;
pub(crate) const T_N: u8 = 0x02;
pub(crate) const T_B: u8 = 0x03;
pub(crate) const T_FALSE: u8 = 0x04;
pub(crate) const T_TRUE: u8 = 0x05;
pub(crate) const T_NULL: u8 = 0x06;
pub(crate) const T_M: u8 = 0x07;
pub(crate) const T_L: u8 = 0x08;
pub(crate) const T_SS: u8 = 0x09;
pub(crate) const T_NS: u8 = 0x0A;
pub(crate) const T_BS: u8 = 0x0B;

/// A DynamoDB attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    S(String),
    N(String),
    B(Vec<u8>),
    Bool(bool),
    Null,
    M(Vec<(String, Value)>),
    L(Vec<Value>),
    Ss(Vec<String>),
    Ns(Vec<String>),
    Bs(Vec<Vec<u8>>),
}

/// An item: attribute names and values, in the order they were written.
pub type Item = Vec<(String, Value)>;

pub fn decode_item(buf: &[u8]) -> Result<Item> {
    let mut r = Reader::new(buf, "item");
    let version = r.u8()?;
    if version != ITEM_FORMAT_VERSION {
        return Err(Error::validation(format!(
            "item encoding version {version} is not supported (expected {ITEM_FORMAT_VERSION})"
        )));
    }
    let item = decode_map(&mut r, 1)?;
    if !r.is_empty() {
        return Err(Error::validation(format!("item has {} trailing bytes", buf.len() - r.position())));
    }
    Ok(item)
}

pub fn encode_item(item: &[(String, Value)]) -> Vec<u8> {
    let mut out = vec![ITEM_FORMAT_VERSION];
    encode_map(&mut out, item);
    out
}

fn utf8(bytes: &[u8], what: &str) -> Result<String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| Error::validation(format!("{what} is not valid UTF-8")))
}

/// Decodes a map whose values sit at `depth` (top-level attributes are at depth 1).
fn decode_map(r: &mut Reader<'_>, depth: usize) -> Result<Vec<(String, Value)>> {
    let n = r.varint()?;
    let mut out = Vec::new();
    for _ in 0..n {
        let name = utf8(r.len_prefixed()?, "an attribute name")?;
        let v = decode_value(r, depth)?;
        out.push((name, v));
    }
    Ok(out)
}

fn decode_set<T>(r: &mut Reader<'_>, mut f: impl FnMut(&[u8]) -> Result<T>) -> Result<Vec<T>> {
    let n = r.varint()?;
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(f(r.len_prefixed()?)?);
    }
    Ok(out)
}

fn decode_value(r: &mut Reader<'_>, depth: usize) -> Result<Value> {
    if depth > MAX_DEPTH {
        return Err(Error::validation(format!("item nests deeper than {MAX_DEPTH} levels")));
    }
    Ok(match r.u8()? {
        T_S => Value::S(utf8(r.len_prefixed()?, "a string")?),
        T_N => Value::N(utf8(r.len_prefixed()?, "a number")?),
        T_B => Value::B(r.len_prefixed()?.to_vec()),
        T_FALSE => Value::Bool(false),
        T_TRUE => Value::Bool(true),
        T_NULL => Value::Null,
        T_M => Value::M(decode_map(r, depth + 1)?),
        T_L => {
            let n = r.varint()?;
            let mut out = Vec::new();
            for _ in 0..n {
                out.push(decode_value(r, depth + 1)?);
            }
            Value::L(out)
        }
        T_SS => Value::Ss(decode_set(r, |b| utf8(b, "a string set member"))?),
        T_NS => Value::Ns(decode_set(r, |b| utf8(b, "a number set member"))?),
        T_BS => Value::Bs(decode_set(r, |b| Ok(b.to_vec()))?),
        tag => return Err(Error::validation(format!("unknown attribute type tag 0x{tag:02x}"))),
    })
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_u64(out, b.len() as u64);
    out.extend_from_slice(b);
}

fn encode_map(out: &mut Vec<u8>, m: &[(String, Value)]) {
    put_u64(out, m.len() as u64);
    for (k, v) in m {
        put_bytes(out, k.as_bytes());
        encode_value(out, v);
    }
}

fn encode_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::S(s) => {
            out.push(T_S);
            put_bytes(out, s.as_bytes());
        }
        Value::N(n) => {
            out.push(T_N);
            put_bytes(out, n.as_bytes());
        }
        Value::B(b) => {
            out.push(T_B);
            put_bytes(out, b);
        }
        Value::Bool(false) => out.push(T_FALSE),
        Value::Bool(true) => out.push(T_TRUE),
        Value::Null => out.push(T_NULL),
        Value::M(m) => {
            out.push(T_M);
            encode_map(out, m);
        }
        Value::L(l) => {
            out.push(T_L);
            put_u64(out, l.len() as u64);
            for x in l {
                encode_value(out, x);
            }
        }
        Value::Ss(s) => {
            out.push(T_SS);
            put_u64(out, s.len() as u64);
            s.iter().for_each(|x| put_bytes(out, x.as_bytes()));
        }
        Value::Ns(s) => {
            out.push(T_NS);
            put_u64(out, s.len() as u64);
            s.iter().for_each(|x| put_bytes(out, x.as_bytes()));
        }
        Value::Bs(s) => {
            out.push(T_BS);
            put_u64(out, s.len() as u64);
            s.iter().for_each(|x| put_bytes(out, x));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn sample() -> Item {
        vec![
            ("pk".into(), Value::S("user#1".into())),
            ("age".into(), Value::N("30".into())),
            ("blob".into(), Value::B(vec![0, 255, 7])),
            ("ok".into(), Value::Bool(true)),
            ("no".into(), Value::Bool(false)),
            ("nothing".into(), Value::Null),
            ("tags".into(), Value::Ss(vec!["a".into(), "b".into()])),
            ("nums".into(), Value::Ns(vec!["1".into(), "-2.5".into()])),
            ("bins".into(), Value::Bs(vec![vec![1], vec![2, 3]])),
            ("doc".into(), Value::M(vec![("list".into(), Value::L(vec![Value::N("1".into()), Value::S("x".into())]))])),
        ]
    }

    #[test]
    fn every_type_round_trips() {
        let item = sample();
        let bytes = encode_item(&item);
        assert_eq!(decode_item(&bytes).ok(), Some(item));
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let bytes = encode_item(&sample());
        for cut in 0..bytes.len() {
            assert!(decode_item(bytes.get(..cut).unwrap_or_default()).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn nesting_past_the_depth_limit_is_rejected() {
        let mut v = Value::Null;
        for _ in 0..MAX_DEPTH {
            v = Value::L(vec![v]);
        }
        let err = decode_item(&encode_item(&[("deep".into(), v)])).err().map(|e| e.code());
        assert_eq!(err, Some(ErrorCode::Validation));
    }

    #[test]
    fn unknown_version_is_rejected() {
        let mut bytes = encode_item(&sample());
        bytes[0] = 9;
        assert!(decode_item(&bytes).is_err());
    }
}
