//! Item operations on tables, as DynamoDB defines them: put, get, delete, update, and batches
//! of puts and deletes. Items arrive and leave in the boundary encoding (`item.rs`); they are
//! validated (`item_size.rs`), their numbers made canonical, and stored under the engine key of
//! their table's schema (`key.rs`).
//!
//! Read-modify-writes (update, and put/delete that return the old item) read the item's newest
//! version and commit with a `ReadCheck` on it; if another write got there first, they read
//! again and retry, so each is atomic with respect to every other write of the item.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::batch::WriteBatch;
use crate::catalog::TableDef;
use crate::db::{Db, ReadCheck};
use crate::error::{Error, ErrorCode, Result};
use crate::expr::{self, ExpressionAttributes};
use crate::item::{decode_item, encode_item, Item, Value};
use crate::number::Decimal;
use crate::options::Durability;

/// How often a read-modify-write retries after losing a race before it gives up.
pub(crate) const MAX_RETRIES: usize = 10_000;

/// What `update` returns (DynamoDB's `ReturnValues`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnValues {
    None,
    AllOld,
    UpdatedOld,
    AllNew,
    UpdatedNew,
}

impl ReturnValues {
    pub fn parse(s: &str) -> Result<ReturnValues> {
        Ok(match s {
            "NONE" => ReturnValues::None,
            "ALL_OLD" => ReturnValues::AllOld,
            "UPDATED_OLD" => ReturnValues::UpdatedOld,
            "ALL_NEW" => ReturnValues::AllNew,
            "UPDATED_NEW" => ReturnValues::UpdatedNew,
            other => {
                return Err(Error::validation(format!(
                    "returnValues must be NONE, ALL_OLD, UPDATED_OLD, ALL_NEW or UPDATED_NEW, not '{other}'"
                )))
            }
        })
    }
}

/// An UpdateItem request. The condition, if any, shares the update's placeholders.
pub struct UpdateRequest {
    pub expression: String,
    pub condition: Option<String>,
    pub names: HashMap<String, String>,
    /// Encoded item: placeholder → value.
    pub values: Option<Vec<u8>>,
    pub return_values: ReturnValues,
    /// Return the current item when the condition fails (`returnValuesOnConditionCheckFailure`).
    pub return_old_on_condition_failure: bool,
    pub durability: Option<Durability>,
}

/// A PutItem or DeleteItem request's options.
#[derive(Default)]
pub struct WriteRequest {
    /// Return the replaced or deleted item (`returnValues: ALL_OLD`).
    pub return_old: bool,
    pub condition: Option<String>,
    pub names: HashMap<String, String>,
    pub values: Option<Vec<u8>>,
    pub return_old_on_condition_failure: bool,
    pub durability: Option<Durability>,
}

/// How a write with a condition ended.
#[derive(Debug, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Written; carries what `returnValues` asked for.
    Done(Option<Vec<u8>>),
    /// The condition was false; nothing was written. Carries the item if it was asked for.
    ConditionFailed(Option<Vec<u8>>),
}

/// Parses a condition together with the other expressions of its request.
pub(crate) fn parse_condition(text: Option<&str>, attrs: &ExpressionAttributes<'_>) -> Result<Option<expr::Condition>> {
    text.map(|c| expr::parse_condition(c, attrs)).transpose()
}

/// Whether `cond` holds on `old` (a missing item is an item with no attributes).
pub(crate) fn holds(cond: Option<&expr::Condition>, old: Option<&Item>) -> Result<bool> {
    match cond {
        None => Ok(true),
        Some(c) => expr::eval_condition(c, old.map_or(&[][..], |o| o.as_slice())),
    }
}

/// A put or a delete of a batch.
pub struct WriteOp {
    /// Shared by every write to the table (one allocation per batch, not per write).
    pub table: Arc<str>,
    /// An encoded item (put) or key (delete).
    pub data: Vec<u8>,
    pub put: bool,
}

/// One [`Db::write_items`] call, for [`Db::write_items_grouped`].
pub struct ItemWrites {
    pub ops: Vec<WriteOp>,
    pub atomic: bool,
    pub durability: Option<Durability>,
}

/// One table's keys of a batch get.
pub struct BatchGet {
    pub table: String,
    pub keys: Vec<Vec<u8>>,
    pub projection: Option<String>,
    pub names: HashMap<String, String>,
}

/// Every number of `v` in canonical text ("1.50" → "1.5"), as DynamoDB stores it.
/// True for text that is already canonical: `-?(0|[1-9][0-9]*)(\.[0-9]*[1-9])?`. Most numbers
/// written from JavaScript are, and recognising them costs far less than a parse.
pub(crate) fn looks_canonical(n: &str) -> bool {
    let digits = n.strip_prefix('-').unwrap_or(n);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let int_ok = int == "0" || (!int.is_empty() && !int.starts_with('0') && int.bytes().all(|b| b.is_ascii_digit()));
    let frac_ok =
        frac.bytes().all(|b| b.is_ascii_digit()) && !frac.ends_with('0') && (frac.is_empty() || digits.contains('.'));
    let negative_zero = n.starts_with('-') && int == "0" && frac.is_empty();
    int_ok && frac_ok && !negative_zero && !digits.ends_with('.')
}

/// Canonical text of at most 38 characters is a valid number as it stands (at most 38 digits, a
/// magnitude between 1e-37 and 1e38), so it can be used without parsing it.
pub(crate) fn short_canonical(n: &str) -> bool {
    n.len() <= 38 && looks_canonical(n)
}

/// Returns whether anything changed. Numbers were validated by `check_item` already.
fn canonicalize(v: &mut Value) -> Result<bool> {
    let one = |n: &mut String| -> Result<bool> {
        if looks_canonical(n) {
            return Ok(false);
        }
        let canonical = Decimal::parse(n)?.to_canonical_string();
        let changed = canonical != *n;
        *n = canonical;
        Ok(changed)
    };
    let mut changed = false;
    match v {
        Value::N(n) => changed = one(n)?,
        Value::Ns(ns) => {
            for n in ns {
                changed |= one(n)?;
            }
        }
        Value::M(m) => {
            for (_, v) in m {
                changed |= canonicalize(v)?;
            }
        }
        Value::L(l) => {
            for v in l {
                changed |= canonicalize(v)?;
            }
        }
        _ => {}
    }
    Ok(changed)
}

/// Validates an item as DynamoDB's PutItem does and returns it in stored form.
pub(crate) fn prepare_item(item: Item) -> Result<(Item, Vec<u8>)> {
    prepare_encoded(item, None)
}

/// `prepare_item` for an item decoded from `encoded`: those bytes are stored as they are
/// unless a number had to be made canonical.
pub(crate) fn prepare_encoded(mut item: Item, encoded: Option<Vec<u8>>) -> Result<(Item, Vec<u8>)> {
    crate::item_size::check_item(&item)?;
    let mut changed = false;
    for (_, v) in item.iter_mut() {
        changed |= canonicalize(v)?;
    }
    let bytes = match encoded {
        Some(b) if !changed => b,
        _ => encode_item(&item),
    };
    Ok((item, bytes))
}

/// Expression attribute values: an encoded item whose attribute names are the placeholders.
pub(crate) fn decode_values(values: Option<&[u8]>) -> Result<HashMap<String, Value>> {
    match values {
        None => Ok(HashMap::new()),
        Some(b) => Ok(decode_item(b)?.into_iter().collect()),
    }
}

impl Db {
    fn table_def(&self, table: &str) -> Result<Arc<TableDef>> {
        self.catalog()?.get(table)
    }

    /// The engine key of an encoded key object, checked against the table's schema.
    fn key_for(&self, def: &TableDef, key: &[u8]) -> Result<Vec<u8>> {
        if let Some(engine_key) = crate::fast_put::flat_key(def, key) {
            return Ok(engine_key);
        }
        let key = decode_item(key)?;
        def.key.check_key_object(&key)?;
        def.key.engine_key(&key)
    }

    /// Runs `f` on the item's current value until its write commits unchanged underneath it.
    fn read_modify_write<T>(
        &self,
        def: &TableDef,
        key: &[u8],
        durability: Option<Durability>,
        mut f: impl FnMut(Option<Item>) -> Result<(Option<WriteBatch>, T)>,
    ) -> Result<T> {
        for _ in 0..MAX_RETRIES {
            let newest = self.newest(def.keyspace, key)?;
            let seq = newest.as_ref().map(|n| n.seq);
            let old = newest.and_then(|n| n.value).map(|v| decode_item(&v)).transpose()?;
            let (batch, out) = f(old)?;
            let Some(batch) = batch else { return Ok(out) };
            let check = ReadCheck { keyspace: def.keyspace, key: key.to_vec(), seq };
            match self.write_checked(batch, vec![check], durability) {
                Ok(_) => return Ok(out),
                Err(e) if e.code() == ErrorCode::TransactionConflict => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Error::new(ErrorCode::TransactionConflict, "the item kept changing; the write was not applied"))
    }

    /// Stores an encoded item; optionally only if a condition holds, optionally returning the
    /// item it replaced.
    pub fn put_item(&self, table: &str, item: &[u8], req: &WriteRequest) -> Result<WriteOutcome> {
        let def = self.table_def(table)?;
        let (item, bytes) = prepare_encoded(decode_item(item)?, Some(item.to_vec()))?;
        let key = def.key.engine_key(&item)?;
        self.conditional_write(&def, key, Some(bytes), req)
    }

    /// A put (`value` is the item) or delete (`None`) under a condition, returning the old item
    /// if asked. Without either it is a blind write and reads nothing.
    fn conditional_write(
        &self,
        def: &TableDef,
        key: Vec<u8>,
        value: Option<Vec<u8>>,
        req: &WriteRequest,
    ) -> Result<WriteOutcome> {
        let values = decode_values(req.values.as_deref())?;
        let attrs = ExpressionAttributes::new(&req.names, &values);
        attrs.validate_keys()?;
        let cond = parse_condition(req.condition.as_deref(), &attrs)?;
        attrs.check_unused()?;
        let batch = |key: Vec<u8>| {
            let mut b = WriteBatch::new();
            match &value {
                Some(v) => b.put(def.keyspace, key, v.clone()),
                None => b.delete(def.keyspace, key),
            }
            b
        };
        if !req.return_old && cond.is_none() {
            self.write(batch(key), req.durability)?;
            return Ok(WriteOutcome::Done(None));
        }
        self.read_modify_write(def, &key, req.durability, |old| {
            if !holds(cond.as_ref(), old.as_ref())? {
                let item = old.filter(|_| req.return_old_on_condition_failure).map(|o| encode_item(&o));
                return Ok((None, WriteOutcome::ConditionFailed(item)));
            }
            Ok((Some(batch(key.clone())), WriteOutcome::Done(old.filter(|_| req.return_old).map(|o| encode_item(&o)))))
        })
    }

    /// The encoded item under an encoded key, optionally projected.
    pub fn get_item(
        &self,
        table: &str,
        key: &[u8],
        projection: Option<&str>,
        names: &HashMap<String, String>,
    ) -> Result<Option<Vec<u8>>> {
        let def = self.table_def(table)?;
        let key = self.key_for(&def, key)?;
        let paths = parse_projection_only(projection, names)?;
        let Some(bytes) = self.get(def.keyspace, &key)? else { return Ok(None) };
        match paths {
            None => Ok(Some(bytes)),
            Some(paths) => Ok(Some(encode_item(&expr::project(&decode_item(&bytes)?, &paths)))),
        }
    }

    /// Deletes the item under an encoded key; optionally only if a condition holds, optionally
    /// returning it.
    pub fn delete_item(&self, table: &str, key: &[u8], req: &WriteRequest) -> Result<WriteOutcome> {
        let def = self.table_def(table)?;
        let key = self.key_for(&def, key)?;
        self.conditional_write(&def, key, None, req)
    }

    /// Applies an update expression to the item under an encoded key (creating it if missing).
    pub fn update_item(&self, table: &str, key: &[u8], req: &UpdateRequest) -> Result<WriteOutcome> {
        let def = self.table_def(table)?;
        let key_item = decode_item(key)?;
        def.key.check_key_object(&key_item)?;
        let engine_key = def.key.engine_key(&key_item)?;
        let values = decode_values(req.values.as_deref())?;
        let attrs = ExpressionAttributes::new(&req.names, &values);
        attrs.validate_keys()?;
        let update = expr::parse_update(&req.expression, &attrs)?;
        let cond = parse_condition(req.condition.as_deref(), &attrs)?;
        attrs.check_unused()?;
        let return_values = req.return_values;
        // UPDATED_OLD/UPDATED_NEW return exactly the paths the update names, nested ones included.
        let touched: Vec<expr::Path> = (update.set.iter().map(|(p, _)| p))
            .chain(&update.remove)
            .chain(update.add.iter().map(|(p, _)| p))
            .chain(update.delete.iter().map(|(p, _)| p))
            .cloned()
            .collect();
        self.read_modify_write(&def, &engine_key, req.durability, |old| {
            if !holds(cond.as_ref(), old.as_ref())? {
                let item = old.filter(|_| req.return_old_on_condition_failure).map(|o| encode_item(&o));
                return Ok((None, WriteOutcome::ConditionFailed(item)));
            }
            let mut new = old.clone().unwrap_or_else(|| key_item.clone());
            let effect = expr::apply_update(&update, &mut new)?;
            if let Some(k) = effect.touched.iter().find(|k| def.key.is_key_attribute(k)) {
                return Err(Error::validation(format!(
                    "Cannot update attribute {k}. This attribute is part of the key"
                )));
            }
            let (new, bytes) = prepare_item(new)?;
            let mut b = WriteBatch::new();
            b.put(def.keyspace, engine_key.clone(), bytes.clone());
            let out = match return_values {
                ReturnValues::None => None,
                ReturnValues::AllOld => old.as_ref().map(|o| encode_item(o)),
                ReturnValues::UpdatedOld => old.as_ref().map(|o| encode_item(&expr::project(o, &touched))),
                ReturnValues::AllNew => Some(bytes),
                ReturnValues::UpdatedNew => Some(encode_item(&expr::project(&new, &touched))),
            };
            Ok((Some(b), WriteOutcome::Done(out.filter(|o| o.len() > 2))))
        })
    }

    /// Puts and deletes across tables. `atomic`: all are validated first and commit as one
    /// batch, or none does (BatchWriteItem). Otherwise each op is validated on its own and the
    /// valid ones commit as one batch; the result holds each op's error, if any.
    pub fn write_items(
        &self,
        ops: Vec<WriteOp>,
        atomic: bool,
        durability: Option<Durability>,
    ) -> Result<Vec<Option<Error>>> {
        let call = ItemWrites { ops, atomic, durability };
        let done = self.write_items_grouped(vec![call]);
        done.into_iter().next().unwrap_or_else(|| Err(crate::db::no_result()))
    }

    /// [`Db::write_items`] of plain writes on the calling thread, when that needs no waiting
    /// ([`Db::try_write_now`]: not durable, nothing else committing, room for it). `None` when it
    /// would have had to wait: nothing was written, and the caller makes the call as usual.
    pub fn try_write_items_now(
        &self,
        ops: Vec<WriteOp>,
        atomic: bool,
        durability: Option<Durability>,
    ) -> Option<Result<Vec<Option<Error>>>> {
        if durability.unwrap_or(self.inner().options.durability) == Durability::Sync {
            return None;
        }
        let (batch, errors) = match self.items_batch(ops, atomic) {
            Ok(prepared) => prepared,
            Err(e) => return Some(Err(e)),
        };
        self.try_write_now(batch, durability).map(|committed| committed.map(|_| errors))
    }

    /// Several calls of [`Db::write_items`] of one caller, committed in one group (one WAL write,
    /// at most one fsync; [`Db::write_all`]), each with its own result as if made alone, in the
    /// order given.
    pub fn write_items_grouped(&self, calls: Vec<ItemWrites>) -> Vec<Result<Vec<Option<Error>>>> {
        let mut prepared: Vec<Result<Vec<Option<Error>>>> = Vec::with_capacity(calls.len());
        let mut batches = Vec::with_capacity(calls.len());
        for call in calls {
            match self.items_batch(call.ops, call.atomic) {
                Ok((batch, errors)) => {
                    batches.push((batch, call.durability));
                    prepared.push(Ok(errors));
                }
                Err(e) => prepared.push(Err(e)),
            }
        }
        let mut committed = self.write_all(batches).into_iter();
        prepared
            .into_iter()
            .map(|p| {
                let errors = p?;
                committed.next().unwrap_or_else(|| Err(crate::db::no_result())).map(|_| errors)
            })
            .collect()
    }

    /// The batch of a [`Db::write_items`] call and each op's validation error.
    fn items_batch(&self, ops: Vec<WriteOp>, atomic: bool) -> Result<(WriteBatch, Vec<Option<Error>>)> {
        let mut batch = WriteBatch::new();
        let mut errors = Vec::with_capacity(ops.len());
        let mut seen = HashSet::new();
        let mut defs: HashMap<Arc<str>, Arc<TableDef>> = HashMap::new();
        for (i, op) in ops.into_iter().enumerate() {
            let entry = (|| -> Result<(u32, Vec<u8>, Option<Vec<u8>>)> {
                let def = match defs.get(&op.table) {
                    Some(d) => Arc::clone(d),
                    None => {
                        let d = self.table_def(&op.table)?;
                        defs.insert(Arc::clone(&op.table), Arc::clone(&d));
                        d
                    }
                };
                if op.put {
                    if let Some(key) = crate::fast_put::flat_put_key(&def, &op.data) {
                        return Ok((def.keyspace, key, Some(op.data)));
                    }
                    let item = decode_item(&op.data)?;
                    let (item, bytes) = prepare_encoded(item, Some(op.data))?;
                    Ok((def.keyspace, def.key.engine_key(&item)?, Some(bytes)))
                } else {
                    Ok((def.keyspace, self.key_for(&def, &op.data)?, None))
                }
            })();
            match entry {
                Ok((ks, key, value)) => {
                    if atomic && !seen.insert((ks, key.clone())) {
                        return Err(Error::validation("Provided list of item keys contains duplicates"));
                    }
                    match value {
                        Some(v) => batch.put(ks, key, v),
                        None => batch.delete(ks, key),
                    }
                    errors.push(None);
                }
                Err(e) if atomic => {
                    return Err(Error::new(e.code(), format!("request {} ({}): {}", i + 1, op.table, e.message())))
                }
                Err(e) => errors.push(Some(e)),
            }
        }
        Ok((batch, errors))
    }

    /// Reads keys across tables at one snapshot; returns each table's found items, in order.
    pub fn batch_get(&self, requests: &[BatchGet]) -> Result<Vec<Vec<Vec<u8>>>> {
        let mut plans = Vec::with_capacity(requests.len());
        let mut seen = HashSet::new();
        for r in requests {
            let def = self.table_def(&r.table)?;
            let paths = parse_projection_only(r.projection.as_deref(), &r.names)?;
            let mut keys = Vec::with_capacity(r.keys.len());
            for k in &r.keys {
                let key = self.key_for(&def, k)?;
                if !seen.insert((def.keyspace, key.clone())) {
                    return Err(Error::validation("Provided list of item keys contains duplicates"));
                }
                keys.push(key);
            }
            plans.push((def, paths, keys));
        }
        let snapshot = self.snapshot();
        let mut out = Vec::with_capacity(plans.len());
        for (def, paths, keys) in plans {
            let mut items = Vec::new();
            for key in keys {
                if let Some(bytes) = self.get_at(def.keyspace, &key, snapshot)? {
                    items.push(match &paths {
                        None => bytes,
                        Some(p) => encode_item(&expr::project(&decode_item(&bytes)?, p)),
                    });
                }
            }
            out.push(items);
        }
        Ok(out)
    }
}

/// Parses a projection expression on its own (a GetItem's only expression).
pub(crate) fn parse_projection_only(
    projection: Option<&str>,
    names: &HashMap<String, String>,
) -> Result<Option<expr::Projection>> {
    if projection.is_none() && names.is_empty() {
        return Ok(None);
    }
    let values = HashMap::new();
    let attrs = ExpressionAttributes::new(names, &values);
    attrs.validate_keys()?;
    let paths = projection.map(|p| expr::parse_projection(p, &attrs)).transpose()?;
    attrs.check_unused()?;
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put_op(pk: &str, v: &str) -> WriteOp {
        let item = vec![("pk".to_string(), Value::S(pk.into())), ("v".to_string(), Value::S(v.into()))];
        WriteOp { table: Arc::from(crate::DEFAULT_TABLE), data: encode_item(&item), put: true }
    }

    fn delete_op(pk: &str) -> WriteOp {
        let key = vec![("pk".to_string(), Value::S(pk.into()))];
        WriteOp { table: Arc::from(crate::DEFAULT_TABLE), data: encode_item(&key), put: false }
    }

    fn value_of(db: &Db, pk: &str) -> Option<Value> {
        let key = encode_item(&[("pk".to_string(), Value::S(pk.into()))]);
        let item = db.get_item(crate::DEFAULT_TABLE, &key, None, &HashMap::new()).unwrap()?;
        decode_item(&item).unwrap().into_iter().find(|(n, _)| n == "v").map(|(_, v)| v)
    }

    #[test]
    fn grouped_calls_share_one_fsync_and_keep_their_order_and_their_own_results() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::create(&dir.path().join("db"), crate::Options::default()).unwrap();
        let sync = Some(Durability::Sync);
        let calls = vec![
            ItemWrites { ops: vec![put_op("a", "1"), put_op("b", "1")], atomic: false, durability: sync },
            // An atomic call with a bad op fails whole and writes nothing.
            ItemWrites { ops: vec![put_op("c", "1"), delete_op("")], atomic: true, durability: sync },
            // A non-atomic call: the bad op fails alone.
            ItemWrites { ops: vec![put_op("a", "2"), delete_op(""), delete_op("b")], atomic: false, durability: sync },
            ItemWrites { ops: vec![], atomic: false, durability: None },
        ];
        let syncs = db.stats().unwrap().wal_syncs;
        let results = db.write_items_grouped(calls);
        assert_eq!(db.stats().unwrap().wal_syncs - syncs, 1, "one fsync for the whole group");
        assert_eq!(results.len(), 4);
        assert_eq!(results[0].as_ref().map(|e| e.iter().all(Option::is_none)).ok(), Some(true));
        assert_eq!(results[1].as_ref().err().map(|e| e.code()), Some(ErrorCode::Validation));
        let third = results[2].as_ref().unwrap();
        assert!(third[0].is_none() && third[1].is_some() && third[2].is_none());
        assert_eq!(results[3].as_ref().map(Vec::len).ok(), Some(0));
        // Later calls win over earlier ones on the same key; the failed call left nothing.
        assert_eq!(value_of(&db, "a"), Some(Value::S("2".into())));
        assert_eq!(value_of(&db, "b"), None);
        assert_eq!(value_of(&db, "c"), None);
    }

    #[test]
    fn the_canonical_fast_path_only_accepts_text_that_is_canonical() {
        let cases = [
            "0",
            "-0",
            "1",
            "-1",
            "10",
            "100",
            "1.5",
            "-12.25",
            "0.001",
            "1.50",
            "1.",
            ".5",
            "007",
            "1e5",
            "-0.0",
            "0.0",
            "+1",
            "1.0",
            "12345678901234567890123456789012345678",
            "-0.5",
            "00",
            "-",
            "",
            "1-",
            "1.2.3",
        ];
        for text in cases {
            if looks_canonical(text) {
                let canonical = Decimal::parse(text).map(|d| d.to_canonical_string());
                assert_eq!(canonical.as_deref().ok(), Some(text), "{text} was taken as canonical");
            }
        }
        for text in ["0", "-1", "1.5", "100", "0.001", "-12.25"] {
            assert!(looks_canonical(text), "{text} is canonical");
        }
    }
}
