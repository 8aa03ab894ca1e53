//! Equality and order of attribute values as expressions see them.
//!
//! Equality is DynamoDB's: same type and same content, numbers compared numerically ("1.0" = "1"),
//! sets and maps regardless of order, lists element by element. Order (`<`, BETWEEN) exists only
//! between two values of the same scalar type: N numerically, S by UTF-8 bytes, B by bytes.

use std::cmp::Ordering;

use crate::item::Value;
use crate::number::Decimal;

/// Numeric order of two number texts; `None` if either is not a valid number.
pub(super) fn compare_numbers(a: &str, b: &str) -> Option<Ordering> {
    Some(Decimal::parse(a).ok()?.cmp(&Decimal::parse(b).ok()?))
}

fn number_eq(a: &str, b: &str) -> bool {
    a == b || compare_numbers(a, b) == Some(Ordering::Equal)
}

/// The order of two values of the same scalar type (N, S, B); `None` for anything else.
pub(super) fn compare_values(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::N(x), Value::N(y)) => compare_numbers(x, y),
        (Value::S(x), Value::S(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (Value::B(x), Value::B(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// Same members, regardless of order (sets hold no duplicates).
fn same_members<T>(a: &[T], b: &[T], eq: impl Fn(&T, &T) -> bool) -> bool {
    a.len() == b.len() && a.iter().all(|x| b.iter().any(|y| eq(x, y)))
}

/// DynamoDB equality; values of different types are never equal.
pub(super) fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::N(x), Value::N(y)) => number_eq(x, y),
        (Value::Ns(x), Value::Ns(y)) => same_members(x, y, |p, q| number_eq(p, q)),
        (Value::Ss(x), Value::Ss(y)) => same_members(x, y, |p, q| p == q),
        (Value::Bs(x), Value::Bs(y)) => same_members(x, y, |p, q| p == q),
        (Value::L(x), Value::L(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| values_equal(p, q)),
        (Value::M(x), Value::M(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.iter().any(|(k2, v2)| k == k2 && values_equal(v, v2)))
        }
        _ => a == b,
    }
}

/// True if the number set `set` holds a member numerically equal to `n`.
pub(super) fn number_set_contains(set: &[String], n: &str) -> bool {
    set.iter().any(|m| number_eq(m, n))
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                let ix = ((n >> (18 - 6 * i)) & 63) as usize;
                out.push(char::from(BASE64.get(ix).copied().unwrap_or(b'=')));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// DynamoDB's rendering of a scalar in error messages: `{N:5}`, `{S:abc}`, `{B:AQI=}`.
pub(super) fn describe(v: &Value) -> String {
    match v {
        Value::S(s) => format!("{{S:{s}}}"),
        Value::N(n) => format!("{{N:{n}}}"),
        Value::B(b) => format!("{{B:{}}}", base64(b)),
        Value::Bool(b) => format!("{{BOOL:{b}}}"),
        Value::Null => "{NULL:true}".to_string(),
        other => format!("{{{}}}", super::ast::TypeName::of(other).as_str()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_compare_numerically_not_textually() {
        assert_eq!(compare_values(&Value::N("10".into()), &Value::N("9".into())), Some(Ordering::Greater));
        assert!(values_equal(&Value::N("1.0".into()), &Value::N("1".into())));
        assert_eq!(compare_values(&Value::N("1".into()), &Value::S("1".into())), None);
    }

    #[test]
    fn sets_and_maps_ignore_order() {
        assert!(values_equal(&Value::Ss(vec!["a".into(), "b".into()]), &Value::Ss(vec!["b".into(), "a".into()])));
        let m1 = Value::M(vec![("a".into(), Value::Null), ("b".into(), Value::Bool(true))]);
        let m2 = Value::M(vec![("b".into(), Value::Bool(true)), ("a".into(), Value::Null)]);
        assert!(values_equal(&m1, &m2));
        assert!(!values_equal(
            &Value::L(vec![Value::Null, Value::Bool(true)]),
            &Value::L(vec![Value::Bool(true), Value::Null])
        ));
    }

    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }
}
