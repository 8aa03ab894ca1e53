//! Query and Scan: one page at a time, as DynamoDB pages them.
//!
//! A page ends after `limit` items were evaluated or about 1 MB was read (measured on stored
//! bytes, which track DynamoDB's item size within a few percent), and then carries
//! `last_evaluated_key` — the key attributes of the last evaluated item — to resume from. The
//! filter runs after the limit, so `count` (items returned) can be below `scanned_count`.
//!
//! A Query reads one partition: a contiguous engine-key range (key.rs) narrowed by the sort
//! key condition. A Scan segment `s` of `n` reads the stripes `[s·65536/n, (s+1)·65536/n)`:
//! segments are disjoint and together cover the table. A descending Query reads its range
//! forward and returns it reversed (the engine has no reverse iterator yet).

use std::collections::HashMap;
use std::ops::Bound;

use crate::catalog::TableDef;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::expr::{self, Comparator, ExpressionAttributes, SortKeyCondition};
use crate::item::{decode_item, encode_item, Value};
use crate::key::prefix_successor;
use crate::range::RangeIter;
use crate::varint::put_u64;

/// DynamoDB's page size limit.
pub const PAGE_BYTES: usize = 1 << 20;
/// DynamoDB's limit on parallel scan segments.
pub const MAX_TOTAL_SEGMENTS: u32 = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Select {
    AllAttributes,
    SpecificAttributes,
    Count,
}

impl Select {
    pub fn parse(s: Option<&str>) -> Result<Select> {
        Ok(match s {
            None | Some("ALL_ATTRIBUTES") => Select::AllAttributes,
            Some("SPECIFIC_ATTRIBUTES") => Select::SpecificAttributes,
            Some("COUNT") => Select::Count,
            Some(other) => {
                return Err(Error::validation(format!(
                    "select must be ALL_ATTRIBUTES, SPECIFIC_ATTRIBUTES or COUNT, not '{other}'"
                )))
            }
        })
    }
}

/// What Query and Scan have in common.
pub struct ReadRequest {
    pub filter: Option<String>,
    pub projection: Option<String>,
    pub names: HashMap<String, String>,
    /// Encoded item: placeholder → value.
    pub values: Option<Vec<u8>>,
    pub limit: Option<usize>,
    /// Encoded key object.
    pub exclusive_start_key: Option<Vec<u8>>,
    pub select: Select,
}

pub struct QueryRequest {
    pub key_condition: String,
    pub forward: bool,
    pub read: ReadRequest,
}

pub struct ScanRequest {
    /// (segment, total segments)
    pub segment: Option<(u32, u32)>,
    pub read: ReadRequest,
}

/// One page: items as `varint length | encoded item`, back to back.
#[derive(Debug, Default)]
pub struct Page {
    pub items: Vec<u8>,
    pub count: u32,
    pub scanned_count: u32,
    pub last_evaluated_key: Option<Vec<u8>>,
}

struct Plan {
    filter: Option<expr::Condition>,
    projection: Option<expr::Projection>,
}

fn parse_common(
    r: &ReadRequest,
    values: &HashMap<String, Value>,
    key_condition: impl FnOnce(&ExpressionAttributes<'_>) -> Result<Option<expr::KeyCondition>>,
) -> Result<(Plan, Option<expr::KeyCondition>)> {
    let attrs = ExpressionAttributes::new(&r.names, values);
    attrs.validate_keys()?;
    let kc = key_condition(&attrs)?;
    let filter = r.filter.as_deref().map(|f| expr::parse_filter(f, &attrs)).transpose()?;
    let projection = r.projection.as_deref().map(|p| expr::parse_projection(p, &attrs)).transpose()?;
    attrs.check_unused()?;
    if r.select == Select::Count && projection.is_some() {
        return Err(Error::validation("select COUNT cannot be combined with a projectionExpression"));
    }
    if r.select == Select::SpecificAttributes && projection.is_none() {
        return Err(Error::validation("select SPECIFIC_ATTRIBUTES needs a projectionExpression"));
    }
    Ok((Plan { filter, projection }, kc))
}

fn tighten_low(current: Bound<Vec<u8>>, candidate: Bound<Vec<u8>>) -> Bound<Vec<u8>> {
    let key = |b: &Bound<Vec<u8>>| match b {
        Bound::Included(k) | Bound::Excluded(k) => Some(k.clone()),
        Bound::Unbounded => None,
    };
    match (key(&current), key(&candidate)) {
        (_, None) => current,
        (None, _) => candidate,
        (Some(a), Some(b)) if b > a || (b == a && matches!(candidate, Bound::Excluded(_))) => candidate,
        _ => current,
    }
}

impl Db {
    /// The engine key of an exclusive start key, checked against the schema.
    fn start_key(def: &TableDef, r: &ReadRequest) -> Result<Option<Vec<u8>>> {
        let Some(bytes) = &r.exclusive_start_key else { return Ok(None) };
        let key = decode_item(bytes)?;
        def.key.check_key_object(&key).map_err(|e| Error::validation(format!("exclusiveStartKey: {}", e.message())))?;
        Ok(Some(def.key.engine_key(&key)?))
    }

    /// Evaluates items in key order until the limit or the page size is reached.
    fn page(def: &TableDef, plan: &Plan, r: &ReadRequest, items: &mut dyn Pairs) -> Result<Page> {
        let mut page = Page::default();
        // Room for a limited page's items up front: growing the buffer item by item copies it
        // several times. Most items are over 128 bytes; a short estimate just grows once more.
        page.items.reserve(r.limit.unwrap_or(0).min(1024) * 128);
        let mut read_bytes = 0usize;
        while let Some((_, bytes)) = items.next_pair()? {
            page.scanned_count += 1;
            read_bytes += bytes.len();
            let needs_decode = plan.filter.is_some() || plan.projection.is_some();
            let decoded = if needs_decode { Some(decode_item(bytes)?) } else { None };
            let keep = match (&plan.filter, &decoded) {
                (Some(f), Some(item)) => expr::eval_condition(f, item)?,
                _ => true,
            };
            if keep {
                page.count += 1;
                if r.select != Select::Count {
                    let projected = match (&plan.projection, &decoded) {
                        (Some(p), Some(item)) => Some(encode_item(&expr::project(item, p))),
                        _ => None,
                    };
                    let out = projected.as_deref().unwrap_or(bytes);
                    put_u64(&mut page.items, out.len() as u64);
                    page.items.extend_from_slice(out);
                }
            }
            if r.limit.is_some_and(|l| page.scanned_count as usize >= l) || read_bytes >= PAGE_BYTES {
                page.last_evaluated_key = Some(match (crate::fast_put::flat_key_item(def, bytes), decoded) {
                    (Some(key), _) => key,
                    (None, Some(item)) => encode_item(&def.key.key_of(&item)),
                    (None, None) => encode_item(&def.key.key_of(&decode_item(bytes)?)),
                });
                break;
            }
        }
        Ok(page)
    }

    pub fn query(&self, table: &str, q: &QueryRequest) -> Result<Page> {
        let def = self.catalog()?.get(table)?;
        let values = crate::items::decode_values(q.read.values.as_deref())?;
        let (plan, kc) = parse_common(&q.read, &values, |attrs| {
            let sort = def.key.sort.as_ref().map(|s| s.name.as_str());
            expr::parse_key_condition(&q.key_condition, attrs, &def.key.partition.name, sort).map(Some)
        })?;
        let kc = kc.ok_or_else(|| Error::validation("query needs a keyConditionExpression"))?;
        let prefix = def.key.partition_prefix(&kc.partition_value)?;
        let mut low = Bound::Included(prefix.clone());
        let mut high = prefix_successor(&prefix).map_or(Bound::Unbounded, Bound::Excluded);
        let with = |v: &Value| -> Result<Vec<u8>> { Ok([prefix.as_slice(), &def.key.sort_component(v)?].concat()) };
        match &kc.sort {
            None => {}
            Some(SortKeyCondition::Compare(op, v)) => {
                let k = with(v)?;
                match op {
                    Comparator::Eq => {
                        low = Bound::Included(k.clone());
                        high = Bound::Included(k);
                    }
                    Comparator::Lt => high = Bound::Excluded(k),
                    Comparator::Le => high = Bound::Included(k),
                    Comparator::Gt => low = Bound::Excluded(k),
                    Comparator::Ge => low = Bound::Included(k),
                    Comparator::Ne => {
                        return Err(Error::validation("Invalid KeyConditionExpression: Unsupported operator: <>"))
                    }
                }
            }
            Some(SortKeyCondition::Between(a, b)) => {
                let (a, b) = (with(a)?, with(b)?);
                if a > b {
                    return Err(Error::validation(
                        "Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound",
                    ));
                }
                low = Bound::Included(a);
                high = Bound::Included(b);
            }
            Some(SortKeyCondition::BeginsWith(v)) => {
                let raw: &[u8] = match v {
                    Value::S(s) => s.as_bytes(),
                    Value::B(b) => b,
                    _ => return Err(Error::validation("begins_with needs a string or binary sort key")),
                };
                def.key.sort_component(v)?;
                let start = [prefix.as_slice(), raw].concat();
                high = prefix_successor(&start).map_or(Bound::Unbounded, Bound::Excluded);
                low = Bound::Included(start);
            }
        }
        if let Some(start) = Self::start_key(&def, &q.read)? {
            if !start.starts_with(&prefix) {
                return Err(Error::validation("exclusiveStartKey is not in the queried partition"));
            }
            if q.forward {
                low = tighten_low(low, Bound::Excluded(start));
            } else {
                high = match &high {
                    Bound::Included(h) | Bound::Excluded(h) if *h < start => high,
                    _ => Bound::Excluded(start),
                };
            }
        }
        let mut range = self.inner().range(def.keyspace, as_ref(&low), as_ref(&high))?;
        if q.forward {
            Self::page(&def, &plan, &q.read, &mut range)
        } else {
            let all: Vec<_> = range.collect::<Result<_>>()?;
            Self::page(&def, &plan, &q.read, &mut Reversed { pairs: all, current: None })
        }
    }

    pub fn scan(&self, table: &str, s: &ScanRequest) -> Result<Page> {
        let def = self.catalog()?.get(table)?;
        let values = crate::items::decode_values(s.read.values.as_deref())?;
        let (plan, _) = parse_common(&s.read, &values, |_| Ok(None))?;
        let (mut low, high) = match s.segment {
            None => (Bound::Unbounded, Bound::Unbounded),
            Some((segment, total)) => {
                if total == 0 || total > MAX_TOTAL_SEGMENTS {
                    return Err(Error::validation(format!(
                        "totalSegments must be from 1 to {MAX_TOTAL_SEGMENTS}, not {total}"
                    )));
                }
                if segment >= total {
                    return Err(Error::validation(format!(
                        "segment must be less than totalSegments ({total}), not {segment}"
                    )));
                }
                let stripe = |s: u32| (u64::from(s) * 65_536 / u64::from(total)) as u32;
                let (lo, hi) = (stripe(segment), stripe(segment + 1));
                let bound = |s: u32| Bound::Excluded((s as u16).to_be_bytes().to_vec());
                let low = Bound::Included((lo as u16).to_be_bytes().to_vec());
                (
                    if lo >= 65_536 { Bound::Unbounded } else { low },
                    if hi >= 65_536 { Bound::Unbounded } else { bound(hi) },
                )
            }
        };
        if let Some(start) = Self::start_key(&def, &s.read)? {
            low = tighten_low(low, Bound::Excluded(start));
        }
        let mut range = self.inner().range(def.keyspace, as_ref(&low), as_ref(&high))?;
        Self::page(&def, &plan, &s.read, &mut range)
    }
}

/// Pairs in the order a page evaluates them, each lent until the next call.
trait Pairs {
    fn next_pair(&mut self) -> Result<Option<(&[u8], &[u8])>>;
}

impl Pairs for RangeIter {
    fn next_pair(&mut self) -> Result<Option<(&[u8], &[u8])>> {
        RangeIter::next_pair(self)
    }
}

/// A range read whole and handed out last first (a descending Query).
struct Reversed {
    pairs: Vec<(Vec<u8>, Vec<u8>)>,
    current: Option<(Vec<u8>, Vec<u8>)>,
}

impl Pairs for Reversed {
    fn next_pair(&mut self) -> Result<Option<(&[u8], &[u8])>> {
        self.current = self.pairs.pop();
        Ok(self.current.as_ref().map(|(k, v)| (k.as_slice(), v.as_slice())))
    }
}

fn as_ref(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(k) => Bound::Included(k.as_slice()),
        Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}
