//! The put fast path: most items are flat (top-level strings, numbers, binaries, booleans and
//! nulls), and for those PutItem's checks and the engine key can be had by walking the encoded
//! bytes once, without building an `Item` (its names and values are a dozen allocations).
//!
//! GetItem's and DeleteItem's key objects take the same way ([`flat_key`]), and so does the
//! last evaluated key of a Query or Scan page ([`flat_key_item`]).
//!
//! [`flat_put_key`] either accepts an item exactly as the general path would (same checks, same
//! key, stored bytes unchanged) or returns `None` and leaves it to the general path
//! (`items::prepare_encoded`), which also writes every error message: anything unusual (a
//! nested value, a set, a number not in canonical form, a repeated name, an item near the size
//! limit, a key of the wrong type, damage) goes there. The model is `item_size.rs` (the rules)
//! and `item.rs` (the layout); a test checks the two paths agree on generated items.

use crate::catalog::TableDef;
use crate::item::{ITEM_FORMAT_VERSION, T_B, T_FALSE, T_N, T_NULL, T_S, T_TRUE};
use crate::item_size::{decimal_size, MAX_ATTRIBUTE_NAME_BYTES, MAX_ITEM_BYTES};
use crate::items::{looks_canonical, short_canonical};
use crate::key::KeyValue;
use crate::number::Decimal;
use crate::varint::{put_u64, Reader};

/// More attributes than this go the general way (the repeated-name check here is quadratic).
const MAX_FLAT_ATTRIBUTES: usize = 32;

/// One top-level attribute of a flat item: its name and its value's tag and body.
struct Attribute<'a> {
    name: &'a [u8],
    tag: u8,
    body: &'a [u8],
}

/// The engine key of a flat, valid, canonical item, or `None` for the general path.
pub(crate) fn flat_put_key(def: &TableDef, data: &[u8]) -> Option<Vec<u8>> {
    key_of(def, &flat_attributes(data)?)
}

/// The engine key of a key object (what GetItem and DeleteItem receive) that is flat and holds
/// exactly the table's key attributes, or `None` for the general path (`items::key_for`), which
/// also writes the error messages.
pub(crate) fn flat_key(def: &TableDef, data: &[u8]) -> Option<Vec<u8>> {
    let attrs = flat_attributes(data)?;
    // `key_of` needs every key attribute and the names are distinct, so as many attributes as
    // the key has means exactly the key's attributes.
    if attrs.len() != 1 + usize::from(def.key.sort.is_some()) {
        return None;
    }
    key_of(def, &attrs)
}

/// The key object of a flat item, encoded as `encode_item(&def.key.key_of(item))` encodes it
/// (partition attribute, then sort attribute), or `None` for that general path. A Query or Scan
/// page's last evaluated key is made this way, without decoding the whole item.
pub(crate) fn flat_key_item(def: &TableDef, data: &[u8]) -> Option<Vec<u8>> {
    let attrs = flat_attributes(data)?;
    let names = std::iter::once(&def.key.partition.name).chain(def.key.sort.as_ref().map(|s| &s.name));
    let mut out = vec![ITEM_FORMAT_VERSION];
    put_u64(&mut out, 1 + u64::from(def.key.sort.is_some()));
    for name in names {
        let a = attrs.iter().find(|a| a.name == name.as_bytes())?;
        if !matches!(a.tag, T_S | T_N | T_B) {
            return None;
        }
        put_u64(&mut out, a.name.len() as u64);
        out.extend_from_slice(a.name);
        out.push(a.tag);
        put_u64(&mut out, a.body.len() as u64);
        out.extend_from_slice(a.body);
    }
    Some(out)
}

/// The top-level attributes of a flat, valid, canonical item within the size limit.
fn flat_attributes(data: &[u8]) -> Option<Vec<Attribute<'_>>> {
    let mut r = Reader::new(data, "item");
    if r.u8().ok()? != ITEM_FORMAT_VERSION {
        return None;
    }
    let count = usize::try_from(r.varint().ok()?).ok()?;
    if count > MAX_FLAT_ATTRIBUTES {
        return None;
    }
    let mut attrs: Vec<Attribute> = Vec::with_capacity(count);
    let mut size = 0usize;
    for _ in 0..count {
        let name_len = usize::try_from(r.varint().ok()?).ok()?;
        let name = r.bytes(name_len).ok()?;
        if name.is_empty() || name.len() > MAX_ATTRIBUTE_NAME_BYTES || std::str::from_utf8(name).is_err() {
            return None;
        }
        if attrs.iter().any(|a| a.name == name) {
            return None;
        }
        let tag = r.u8().ok()?;
        let body: &[u8] = match tag {
            T_S | T_N | T_B => {
                let len = usize::try_from(r.varint().ok()?).ok()?;
                r.bytes(len).ok()?
            }
            T_FALSE | T_TRUE | T_NULL => &[],
            _ => return None,
        };
        size = size.checked_add(name.len())?.checked_add(match tag {
            T_S => {
                std::str::from_utf8(body).ok()?;
                body.len()
            }
            T_N => {
                let text = std::str::from_utf8(body).ok()?;
                if short_canonical(text) {
                    short_canonical_size(text)
                } else if looks_canonical(text) {
                    decimal_size(&Decimal::parse(text).ok()?)
                } else {
                    return None;
                }
            }
            T_B => body.len(),
            _ => 1,
        })?;
        attrs.push(Attribute { name, tag, body });
    }
    if !r.is_empty() || size > MAX_ITEM_BYTES {
        return None;
    }
    Some(attrs)
}

/// The size of a number in short canonical text (see `items::short_canonical`), without parsing
/// it: its significant digits are its digits less leading and trailing zeros.
fn short_canonical_size(text: &str) -> usize {
    let digits = || text.bytes().filter(u8::is_ascii_digit);
    let significant = match digits().position(|b| b != b'0') {
        None => 0,
        Some(leading) => digits().count() - leading - digits().rev().position(|b| b != b'0').unwrap_or(0),
    };
    significant.div_ceil(2) + 1
}

/// The engine key the key attributes among `attrs` make, if they are there with the right types.
fn key_of(def: &TableDef, attrs: &[Attribute]) -> Option<Vec<u8>> {
    let value_of = |name: &str| -> Option<KeyValue> {
        let a = attrs.iter().find(|a| a.name == name.as_bytes())?;
        match a.tag {
            T_S => Some(KeyValue::S(std::str::from_utf8(a.body).ok()?)),
            T_N => Some(KeyValue::N(std::str::from_utf8(a.body).ok()?)),
            T_B => Some(KeyValue::B(a.body)),
            _ => None,
        }
    };
    let mut key = Vec::new();
    def.key.write_partition_prefix(value_of(&def.key.partition.name)?, &mut key).ok()?;
    if let Some(sort) = &def.key.sort {
        def.key.write_sort_component(value_of(&sort.name)?, &mut key).ok()?;
    }
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::{encode_item, Value};
    use crate::items::prepare_encoded;
    use crate::key::{KeyAttribute, KeySchema, KeyType};

    fn table(sort: Option<KeyType>) -> TableDef {
        let key = KeySchema {
            partition: KeyAttribute { name: "pk".into(), key_type: KeyType::S },
            sort: sort.map(|t| KeyAttribute { name: "sk".into(), key_type: t }),
        };
        TableDef { name: "t".into(), keyspace: 1, key, created_at_ms: 0 }
    }

    /// The general path's verdict: the engine key and stored bytes, or an error.
    fn general(def: &TableDef, data: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
        let item = crate::item::decode_item(data).ok()?;
        let (item, bytes) = prepare_encoded(item, Some(data.to_vec())).ok()?;
        Some((def.key.engine_key(&item).ok()?, bytes))
    }

    #[test]
    fn agrees_with_the_general_path_on_generated_items() {
        let names = ["pk", "sk", "a", "b", "pk", "é", ""];
        let numbers =
            ["0", "1", "-1", "10", "1.5", "-0", "01", "1.50", "1e3", "x", "0.001", &"9".repeat(38), &"9".repeat(39)];
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n) as usize
        };
        let (mut fast, mut fast_keys, mut fast_key_items, mut checked) = (0, 0, 0, 0);
        for round in 0..20_000 {
            let def = table([None, Some(KeyType::N), Some(KeyType::S), Some(KeyType::B)][round % 4]);
            let mut item = Vec::new();
            // Most rounds start from a well-keyed item; the rest are entirely random.
            if round % 5 != 0 {
                item.push(("pk".to_string(), Value::S(format!("p{}", next(3)))));
                let sk = match def.key.sort.as_ref().map(|s| s.key_type) {
                    Some(KeyType::N) => Some(Value::N(numbers[next(numbers.len() as u64)].to_string())),
                    Some(KeyType::S) => Some(Value::S("s".into())),
                    Some(KeyType::B) => Some(Value::B(vec![1, 0])),
                    None => None,
                };
                if let Some(sk) = sk {
                    item.push(("sk".to_string(), sk));
                }
            }
            for _ in 0..next(6) {
                let value = match next(8) {
                    0 | 1 => Value::S(["", "v", "user", "x\u{0}y"][next(4)].to_string()),
                    2 | 3 => Value::N(numbers[next(numbers.len() as u64)].to_string()),
                    4 => Value::B(vec![0, 1, 2][..next(3)].to_vec()),
                    5 => Value::Bool(next(2) == 0),
                    6 => Value::Null,
                    _ => Value::L(vec![Value::Null]),
                };
                item.push((names[next(names.len() as u64)].to_string(), value));
            }
            let data = encode_item(&item);
            let want = general(&def, &data);
            if let Some(key) = flat_put_key(&def, &data) {
                fast += 1;
                assert_eq!(want, Some((key, data.clone())), "item {item:?}");
            }
            checked += 1;
            // The same attributes as a key object: the general key path's verdict.
            let want_key = crate::item::decode_item(&data)
                .ok()
                .filter(|k| def.key.check_key_object(k).is_ok())
                .and_then(|k| def.key.engine_key(&k).ok());
            if let Some(key) = flat_key(&def, &data) {
                fast_keys += 1;
                assert_eq!(want_key, Some(key), "key object {item:?}");
            }
            // A stored item's key object, as a page's last evaluated key.
            if let Some(key_item) = flat_key_item(&def, &data) {
                fast_key_items += 1;
                let want = crate::item::decode_item(&data).map(|i| encode_item(&def.key.key_of(&i)));
                assert_eq!(want.ok(), Some(key_item), "key item of {item:?}");
            }
        }
        assert!(fast > checked / 20, "the fast path took only {fast} of {checked} items");
        assert!(fast_keys > checked / 50, "the key fast path took only {fast_keys} of {checked} objects");
        assert!(fast_key_items > checked / 20, "the key item path took only {fast_key_items} of {checked} items");
    }

    #[test]
    fn counts_a_short_canonical_numbers_size_as_parsing_it_does() {
        let mut texts: Vec<String> = ["0", "1", "-1", "10", "1000", "-1000", "0.001", "0.5", "100.25", "-0.000100"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..5000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let int = (x % 10u64.pow((x % 19) as u32 + 1)).to_string();
            let frac = format!("{:0width$}", (x >> 20) % 1000, width = ((x >> 40) % 4) as usize);
            let zeros = "0".repeat(((x >> 50) % 30) as usize);
            let sign = if x.is_multiple_of(2) { "-" } else { "" };
            texts.push(format!("{sign}{int}{zeros}"));
            texts.push(format!("{sign}{int}.{frac}"));
            texts.push(format!("{sign}0.{zeros}{int}"));
        }
        texts.push("9".repeat(38));
        texts.push(format!("0.{}1", "0".repeat(36)));
        let mut checked = 0;
        for t in texts.iter().filter(|t| short_canonical(t)) {
            let want = Decimal::parse(t).map(|d| decimal_size(&d)).ok();
            assert_eq!(Some(short_canonical_size(t)), want, "{t}");
            checked += 1;
        }
        assert!(checked > 5000, "only {checked} canonical texts");
        assert!(!short_canonical(&"9".repeat(39)), "39 digits may be over DynamoDB's precision: parse them");
    }

    #[test]
    fn takes_a_typical_item_and_leaves_the_unusual_to_the_general_path() {
        let def = table(Some(KeyType::N));
        let item = vec![
            ("pk".to_string(), Value::S("user#1".into())),
            ("sk".to_string(), Value::N("42".into())),
            ("name".to_string(), Value::S("User Number 1".into())),
            ("active".to_string(), Value::Bool(true)),
        ];
        let data = encode_item(&item);
        assert_eq!(flat_put_key(&def, &data), general(&def, &data).map(|(k, _)| k));
        assert!(flat_put_key(&def, &data).is_some());
        let mut trailing = data.clone();
        trailing.push(0);
        assert_eq!(flat_put_key(&def, &trailing), None);
        for cut in 0..data.len() {
            assert_eq!(flat_put_key(&def, &data[..cut]), None, "cut at {cut}");
        }
        let big = vec![
            ("pk".to_string(), Value::S("p".into())),
            ("sk".to_string(), Value::N("1".into())),
            ("v".to_string(), Value::S("x".repeat(MAX_ITEM_BYTES))),
        ];
        assert_eq!(flat_put_key(&def, &encode_item(&big)), None);
    }
}
