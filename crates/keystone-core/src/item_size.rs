//! DynamoDB's item size and the checks PutItem makes before it stores an item.
//!
//! # Size
//!
//! DynamoDB's rule ("DynamoDB item sizes and formats", Developer Guide): an item's size is the
//! sum of its attribute names and values, with these value sizes:
//!
//! ```text
//! type       bytes
//! S          UTF-8 length
//! N          ceil(significant digits / 2) + 1      (zero: 1)
//! B          raw length (not base64)
//! BOOL, NULL 1
//! M          3 + Σ (UTF-8 key length + value + 1)  per entry
//! L          3 + Σ (value + 1)                     per element
//! SS, BS     Σ member lengths
//! NS         Σ member number sizes
//! ```
//!
//! The docs give the number size as "approximately 1 byte per two significant digits + 1 byte";
//! we take the approximation literally, rounding the half byte of an odd count up. They are
//! silent on zero (no significant digits after trimming): we count 1 byte. A number text that
//! does not parse (only possible before [`check_item`] ran) is sized by its ASCII digits.
//! "Each List or Map element also requires 1 byte of overhead" gives the `+ 1` per element; a
//! map entry's key counts like an attribute name. Sets have no documented overhead.
//!
//! # Checks ([`check_item`])
//!
//! From the Developer Guide's "Constraints" and "Supported data types and naming rules":
//!
//! - the item is at most 400 KB, with 1 KB = 1024 bytes: [`ErrorCode::ItemTooLarge`];
//! - every number, alone or in a set, is a valid DynamoDB number (see `number.rs`);
//! - sets are not empty ("DynamoDB doesn't support empty sets") and their members are unique
//!   ("Each value within a set must be unique"); numbers are compared numerically, so `1` and
//!   `1.0` are duplicates. Empty strings and binaries are allowed, in sets too;
//! - documents nest at most 32 levels ("DynamoDB supports nested attributes up to 32 levels
//!   deep"), counted as in `item.rs`: a top-level attribute's value is level 1;
//! - attribute names are at least one character and "less than 64 KB": 1..=65535 UTF-8 bytes.
//!   The docs speak of attribute names; we apply the same rule to map keys, which are the names
//!   of nested attributes;
//! - a name appears once per map (the docs are silent; DynamoDB's JSON form cannot express a
//!   repeat, so a repeat here is a caller bug we refuse rather than resolve).
//!
//! Strings and binaries have no length limit of their own beyond the item's. Everything but size
//! is `Validation`, and each message starts with the attribute path, e.g. `doc.items[3].price`.

use std::collections::{HashMap, HashSet};

use crate::error::quoted;
use crate::error::{Error, ErrorCode, Result};
use crate::item::{Value, MAX_DEPTH};
use crate::number::Decimal;

/// DynamoDB's item size limit: 400 KB, counted in binary units.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;
/// Attribute names must be "less than 64 KB" of UTF-8.
pub const MAX_ATTRIBUTE_NAME_BYTES: usize = 64 * 1024 - 1;
/// Fixed overhead of a List or Map, whatever it holds.
const CONTAINER_OVERHEAD_BYTES: usize = 3;
/// Overhead of each List element or Map entry.
const ELEMENT_OVERHEAD_BYTES: usize = 1;
/// Size of a BOOL or NULL value.
const FLAG_VALUE_BYTES: usize = 1;

/// The item's size as DynamoDB counts it for the 400 KB limit.
pub fn item_size(item: &[(String, Value)]) -> usize {
    item.iter().fold(0, |total, (name, value)| total.saturating_add(name.len()).saturating_add(value_size(value)))
}

/// One value's size, nested values included. Iterative, so any depth is safe to measure.
pub fn value_size(value: &Value) -> usize {
    let mut total: usize = 0;
    let mut pending = vec![value];
    while let Some(v) = pending.pop() {
        let own = match v {
            Value::S(s) => s.len(),
            Value::N(n) => number_size(n),
            Value::B(b) => b.len(),
            Value::Bool(_) | Value::Null => FLAG_VALUE_BYTES,
            Value::M(entries) => {
                pending.extend(entries.iter().map(|(_, v)| v));
                entries.iter().fold(CONTAINER_OVERHEAD_BYTES, |acc, (key, _)| {
                    acc.saturating_add(key.len()).saturating_add(ELEMENT_OVERHEAD_BYTES)
                })
            }
            Value::L(elements) => {
                pending.extend(elements.iter());
                elements.len().saturating_mul(ELEMENT_OVERHEAD_BYTES).saturating_add(CONTAINER_OVERHEAD_BYTES)
            }
            Value::Ss(members) => members.iter().fold(0usize, |acc, s| acc.saturating_add(s.len())),
            Value::Ns(members) => members.iter().fold(0usize, |acc, n| acc.saturating_add(number_size(n))),
            Value::Bs(members) => members.iter().fold(0usize, |acc, b| acc.saturating_add(b.len())),
        };
        total = total.saturating_add(own);
    }
    total
}

fn number_size(text: &str) -> usize {
    match Decimal::parse(text) {
        Ok(d) => decimal_size(&d),
        Err(_) => text.bytes().filter(u8::is_ascii_digit).count().div_ceil(2) + 1,
    }
}

/// The size of a valid number.
pub(crate) fn decimal_size(d: &Decimal) -> usize {
    d.significant_digits().div_ceil(2) + 1
}

/// Validates an item as DynamoDB's PutItem does (rules in the header).
pub fn check_item(item: &[(String, Value)]) -> Result<()> {
    check_map(item, None)?;
    let size = item_size(item);
    if size > MAX_ITEM_BYTES {
        return Err(Error::new(
            ErrorCode::ItemTooLarge,
            format!(
                "item is {size} bytes, over DynamoDB's limit of {MAX_ITEM_BYTES} bytes (400 KB); \
                 attribute names count toward the size"
            ),
        ));
    }
    Ok(())
}

/// Checks the entries of the item (`parent` is None) or of the map at `parent`, whose entries
/// sit at `depth(parent) + 1`.
fn check_map(entries: &[(String, Value)], parent: Option<(&str, usize)>) -> Result<()> {
    let depth = parent.map_or(1, |(_, d)| d + 1);
    let mut seen = HashSet::with_capacity(entries.len());
    for (name, value) in entries {
        let path = match parent {
            None => quoted(name),
            Some((p, _)) => format!("{p}.{}", quoted(name)),
        };
        let what = if parent.is_none() { "attribute name" } else { "map key" };
        if name.is_empty() {
            return Err(match parent {
                None => Error::validation("an attribute name is empty; DynamoDB names need at least one character"),
                Some((p, _)) => Error::validation(format!(
                    "attribute `{p}`: a map key is empty; DynamoDB names need at least one character"
                )),
            });
        }
        if name.len() > MAX_ATTRIBUTE_NAME_BYTES {
            return Err(Error::validation(format!(
                "attribute `{path}`: the {what} is {} bytes; DynamoDB allows at most {MAX_ATTRIBUTE_NAME_BYTES}",
                name.len()
            )));
        }
        if !seen.insert(name.as_str()) {
            return Err(Error::validation(format!("attribute `{path}`: the {what} appears more than once")));
        }
        check_value(value, &path, depth)?;
    }
    Ok(())
}

fn check_value(value: &Value, path: &str, depth: usize) -> Result<()> {
    let at = |message: String| Error::validation(format!("attribute `{path}`: {message}"));
    if depth > MAX_DEPTH {
        return Err(at(format!("nesting is deeper than DynamoDB's limit of {MAX_DEPTH} levels")));
    }
    match value {
        Value::S(_) | Value::B(_) | Value::Bool(_) | Value::Null => Ok(()),
        Value::N(text) => Decimal::parse(text).map(|_| ()).map_err(|e| at(e.message().to_string())),
        Value::M(entries) => check_map(entries, Some((path, depth))),
        Value::L(elements) => {
            for (i, element) in elements.iter().enumerate() {
                check_value(element, &format!("{path}[{i}]"), depth + 1)?;
            }
            Ok(())
        }
        Value::Ss(members) => {
            non_empty(members.len(), "string", path)?;
            let mut seen = HashSet::with_capacity(members.len());
            match members.iter().find(|m| !seen.insert(m.as_str())) {
                Some(dup) => Err(at(format!("the string set contains `{}` more than once", quoted(dup)))),
                None => Ok(()),
            }
        }
        Value::Bs(members) => {
            non_empty(members.len(), "binary", path)?;
            let mut seen = HashSet::with_capacity(members.len());
            match members.iter().find(|m| !seen.insert(m.as_slice())) {
                Some(dup) => Err(at(format!("the binary set contains a {}-byte value more than once", dup.len()))),
                None => Ok(()),
            }
        }
        Value::Ns(members) => {
            non_empty(members.len(), "number", path)?;
            let mut seen: HashMap<Decimal, &str> = HashMap::with_capacity(members.len());
            for text in members {
                let n = Decimal::parse(text).map_err(|e| at(e.message().to_string()))?;
                if let Some(earlier) = seen.insert(n, text) {
                    return Err(at(format!(
                        "the number set contains `{}` and `{}`, which are the same number",
                        quoted(earlier),
                        quoted(text)
                    )));
                }
            }
            Ok(())
        }
    }
}

fn non_empty(len: usize, kind: &str, path: &str) -> Result<()> {
    if len == 0 {
        return Err(Error::validation(format!("attribute `{path}`: an empty {kind} set cannot be stored")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> Value {
        Value::S(text.to_string())
    }

    fn n(text: &str) -> Value {
        Value::N(text.to_string())
    }

    fn item(entries: Vec<(&str, Value)>) -> Vec<(String, Value)> {
        entries.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }

    fn rejected(entries: Vec<(&str, Value)>) -> (ErrorCode, String) {
        let e = check_item(&item(entries)).expect_err("item was accepted");
        (e.code(), e.message().to_string())
    }

    fn invalid(entries: Vec<(&str, Value)>, expected: &str) {
        let (code, message) = rejected(entries);
        assert_eq!(code, ErrorCode::Validation, "{message}");
        assert!(message.contains(expected), "{message:?} lacks {expected:?}");
    }

    fn nested(depth: usize, list: bool) -> Value {
        // `depth` containers deep: the innermost Null sits at level depth + 1.
        let mut v = Value::Null;
        for _ in 0..depth {
            v = if list { Value::L(vec![v]) } else { Value::M(vec![("k".to_string(), v)]) };
        }
        v
    }

    #[test]
    fn each_type_is_sized_by_the_documented_rule() {
        assert_eq!(item_size(&item(vec![("name", s("héllo"))])), 4 + 6);
        assert_eq!(item_size(&item(vec![("e", s(""))])), 1);
        assert_eq!(item_size(&item(vec![("b", Value::B(vec![0; 10]))])), 1 + 10);
        assert_eq!(item_size(&item(vec![("t", Value::Bool(true)), ("z", Value::Null)])), 2 + 2);
        // Numbers: ceil(significant digits / 2) + 1, leading and trailing zeros trimmed.
        assert_eq!(value_size(&n("7")), 2);
        assert_eq!(value_size(&n("12")), 2);
        assert_eq!(value_size(&n("123")), 3);
        assert_eq!(value_size(&n("-0012300.00")), 3);
        assert_eq!(value_size(&n("1e100")), 2);
        assert_eq!(value_size(&n("0")), 1);
        assert_eq!(value_size(&n(&"9".repeat(38))), 20);
        // Containers: 3 bytes, plus 1 per element, plus keys for maps.
        assert_eq!(value_size(&Value::L(vec![])), 3);
        assert_eq!(value_size(&Value::M(vec![])), 3);
        assert_eq!(value_size(&Value::L(vec![s("ab"), Value::Null])), 3 + (2 + 1) + (1 + 1));
        assert_eq!(value_size(&Value::M(vec![("key".into(), s("ab"))])), 3 + 3 + 2 + 1);
        assert_eq!(value_size(&Value::M(vec![("l".into(), Value::L(vec![n("1")]))])), 3 + 1 + (3 + 2 + 1) + 1);
        // Sets: the sum of their members.
        assert_eq!(value_size(&Value::Ss(vec!["ab".into(), "".into(), "c".into()])), 3);
        assert_eq!(value_size(&Value::Ns(vec!["1".into(), "123".into()])), 2 + 3);
        assert_eq!(value_size(&Value::Bs(vec![vec![1, 2], vec![3]])), 3);
    }

    #[test]
    fn deep_values_are_measured_without_recursion() {
        let deep = nested(200_000, true);
        assert_eq!(value_size(&deep), 200_000 * 4 + 1);
        std::mem::forget(deep); // dropping it recursively would overflow the test thread's stack
    }

    #[test]
    fn item_of_exactly_400_kb_is_accepted_and_one_byte_more_is_too_large() {
        let at_limit = item(vec![("a", s(&"x".repeat(MAX_ITEM_BYTES - 1)))]);
        assert_eq!(item_size(&at_limit), MAX_ITEM_BYTES);
        assert!(check_item(&at_limit).is_ok());
        let (code, message) = rejected(vec![("a", s(&"x".repeat(MAX_ITEM_BYTES)))]);
        assert_eq!(code, ErrorCode::ItemTooLarge);
        assert_eq!(
            message,
            "item is 409601 bytes, over DynamoDB's limit of 409600 bytes (400 KB); attribute names count toward the size"
        );
        // Names and container overhead count too: 1 + 3 + (1 + len + 1) = MAX_ITEM_BYTES.
        let len = MAX_ITEM_BYTES - 6;
        let doc = |len: usize| Value::M(vec![("k".into(), Value::B(vec![0; len]))]);
        assert!(check_item(&item(vec![("d", doc(len))])).is_ok());
        assert_eq!(rejected(vec![("d", doc(len + 1))]).0, ErrorCode::ItemTooLarge);
    }

    #[test]
    fn strings_and_binaries_may_be_empty_or_fill_the_item() {
        assert!(check_item(&item(vec![("s", s("")), ("b", Value::B(vec![]))])).is_ok());
        assert!(check_item(&item(vec![("ss", Value::Ss(vec!["".into()])), ("bs", Value::Bs(vec![vec![]]))])).is_ok());
        assert!(check_item(&item(vec![("b", Value::B(vec![7; MAX_ITEM_BYTES - 1]))])).is_ok());
    }

    #[test]
    fn numbers_are_checked_alone_in_sets_and_nested() {
        let digits38 = "1".repeat(38);
        let digits39 = "1".repeat(39);
        assert!(check_item(&item(vec![("n", n(&digits38)), ("ns", Value::Ns(vec![digits38.clone()]))])).is_ok());
        invalid(vec![("n", n(&digits39))], "attribute `n`: number");
        invalid(vec![("n", n(&digits39))], "has 39 significant digits; DynamoDB keeps at most 38");
        invalid(vec![("ns", Value::Ns(vec!["1".into(), digits39.clone()]))], "attribute `ns`: number");
        invalid(vec![("n", n("1.2.3"))], "attribute `n`: number `1.2.3` is not a valid number");
        invalid(vec![("n", n("NaN"))], "is not a valid number");
        assert!(check_item(&item(vec![("n", n("9.9e125")), ("m", n("-1e-130"))])).is_ok());
        invalid(vec![("n", n("1e126"))], "out of range (overflow");
        invalid(vec![("n", n("1e-131"))], "out of range (underflow");
        let doc = Value::M(vec![("list".into(), Value::L(vec![n("1"), n("x")]))]);
        invalid(vec![("doc", doc)], "attribute `doc.list[1]`: number `x` is not a valid number");
    }

    #[test]
    fn empty_sets_are_rejected_and_one_member_is_enough() {
        assert!(check_item(&item(vec![
            ("ss", Value::Ss(vec!["a".into()])),
            ("ns", Value::Ns(vec!["1".into()])),
            ("bs", Value::Bs(vec![vec![1]])),
        ]))
        .is_ok());
        invalid(vec![("tags", Value::Ss(vec![]))], "attribute `tags`: an empty string set cannot be stored");
        invalid(vec![("ns", Value::Ns(vec![]))], "an empty number set cannot be stored");
        invalid(vec![("bs", Value::Bs(vec![]))], "an empty binary set cannot be stored");
        let doc = Value::M(vec![("inner".into(), Value::Ss(vec![]))]);
        invalid(vec![("doc", doc)], "attribute `doc.inner`: an empty string set");
    }

    #[test]
    fn duplicate_set_members_are_rejected_numbers_compared_numerically() {
        assert!(check_item(&item(vec![
            ("ss", Value::Ss(vec!["a".into(), "A".into(), "".into()])),
            ("ns", Value::Ns(vec!["1".into(), "10".into(), "0.1".into(), "-1".into()])),
            ("bs", Value::Bs(vec![vec![1], vec![1, 0], vec![]])),
        ]))
        .is_ok());
        invalid(vec![("ss", Value::Ss(vec!["a".into(), "b".into(), "a".into()]))], "contains `a` more than once");
        invalid(
            vec![("ns", Value::Ns(vec!["1".into(), "1.0".into()]))],
            "attribute `ns`: the number set contains `1` and `1.0`, which are the same number",
        );
        invalid(vec![("ns", Value::Ns(vec!["-0".into(), "0e5".into()]))], "the same number");
        invalid(vec![("bs", Value::Bs(vec![vec![1, 2], vec![1, 2]]))], "a 2-byte value more than once");
    }

    #[test]
    fn nesting_of_32_levels_is_accepted_and_33_rejected() {
        for list in [false, true] {
            // 31 containers: the innermost value is at level 32.
            assert!(check_item(&item(vec![("deep", nested(31, list))])).is_ok(), "list: {list}");
            invalid(vec![("deep", nested(32, list))], "nesting is deeper than DynamoDB's limit of 32 levels");
        }
        let (_, message) = rejected(vec![("deep", nested(32, true))]);
        assert!(message.starts_with(&format!("attribute `deep{}`", "[0]".repeat(32))), "{message}");
        // An item that passes is one the codec accepts back.
        let ok = item(vec![("deep", nested(31, false))]);
        assert!(crate::item::decode_item(&crate::item::encode_item(&ok)).is_ok());
    }

    #[test]
    fn attribute_names_need_one_to_65535_bytes() {
        assert!(check_item(&item(vec![("a", Value::Null)])).is_ok());
        invalid(vec![("", Value::Null)], "an attribute name is empty");
        let longest = "n".repeat(MAX_ATTRIBUTE_NAME_BYTES);
        assert!(check_item(&item(vec![(longest.as_str(), Value::Null)])).is_ok());
        let too_long = "n".repeat(MAX_ATTRIBUTE_NAME_BYTES + 1);
        invalid(
            vec![(too_long.as_str(), Value::Null)],
            "the attribute name is 65536 bytes; DynamoDB allows at most 65535",
        );
        // Map keys follow the same rule.
        invalid(vec![("m", Value::M(vec![("".into(), Value::Null)]))], "attribute `m`: a map key is empty");
        invalid(vec![("m", Value::M(vec![(too_long.clone(), Value::Null)]))], "the map key is 65536 bytes");
        assert!(check_item(&item(vec![("m", Value::M(vec![(longest.clone(), Value::Null)]))])).is_ok());
    }

    #[test]
    fn repeated_names_are_rejected() {
        invalid(
            vec![("a", Value::Null), ("a", Value::Null)],
            "attribute `a`: the attribute name appears more than once",
        );
        let doc = Value::M(vec![("k".into(), Value::Null), ("k".into(), Value::Null)]);
        invalid(vec![("doc", doc)], "attribute `doc.k`: the map key appears more than once");
    }
}
