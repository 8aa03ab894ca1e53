//! Transactions: TransactWriteItems and TransactGetItems, as DynamoDB defines them.
//!
//! A write transaction reads every item it touches at one snapshot, evaluates every condition,
//! computes every new item, and commits all the writes as one WAL batch with a read check on
//! every item (db.rs): either every item is still as read and the batch commits whole (atomic
//! across a crash, since a batch is one WAL record), or the transaction reads again and retries.
//! If a condition is false nothing is written and the result says which action failed.
//!
//! A `clientRequestToken` makes a transaction idempotent for 10 minutes: the same token with the
//! same request succeeds again without writing; with a different request it is refused. Tokens
//! are remembered in memory, so the window does not survive a restart.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::batch::WriteBatch;
use crate::catalog::TableDef;
use crate::db::{Db, ReadCheck};
use crate::error::{Error, ErrorCode, Result};
use crate::expr::{self, ExpressionAttributes};
use crate::item::{decode_item, encode_item, Item};
use crate::items::{decode_values, holds, parse_condition, parse_projection_only, MAX_RETRIES};
use crate::options::Durability;

/// DynamoDB's limit on actions per transaction.
pub const MAX_TRANSACTION_ACTIONS: usize = 100;
/// How long a client request token is remembered.
const TOKEN_WINDOW: Duration = Duration::from_secs(600);

pub enum TxKind {
    /// An encoded item.
    Put(Vec<u8>),
    /// An encoded key and an update expression.
    Update(Vec<u8>, String),
    /// An encoded key.
    Delete(Vec<u8>),
    /// An encoded key; the condition is required.
    ConditionCheck(Vec<u8>),
}

pub struct TxAction {
    pub table: String,
    pub kind: TxKind,
    pub condition: Option<String>,
    pub names: HashMap<String, String>,
    /// Encoded item: placeholder → value.
    pub values: Option<Vec<u8>>,
    pub return_old_on_condition_failure: bool,
}

/// Why one action of a canceled transaction failed (DynamoDB's CancellationReason).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxReason {
    /// "None", "ConditionalCheckFailed" or "ValidationError".
    pub code: &'static str,
    pub message: Option<String>,
    /// The item, for a failed condition that asked for it.
    pub item: Option<Vec<u8>>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum TxOutcome {
    Committed,
    Canceled(Vec<TxReason>),
}

pub struct TxGet {
    pub table: String,
    pub key: Vec<u8>,
    pub projection: Option<String>,
    pub names: HashMap<String, String>,
}

/// An action with everything parsed and resolved.
struct Planned {
    def: Arc<TableDef>,
    key: Vec<u8>,
    /// The key attributes (what a missing item starts from in an update).
    key_item: Item,
    put: Option<(Item, Vec<u8>)>,
    update: Option<expr::Update>,
    delete: bool,
    condition: Option<expr::Condition>,
    return_old: bool,
}

fn request_hash(actions: &[TxAction]) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for a in actions {
        h.update(a.table.as_bytes());
        let (tag, bytes, text): (u8, &[u8], &str) = match &a.kind {
            TxKind::Put(i) => (1, i, ""),
            TxKind::Update(k, e) => (2, k, e),
            TxKind::Delete(k) => (3, k, ""),
            TxKind::ConditionCheck(k) => (4, k, ""),
        };
        h.update(&[tag]);
        h.update(bytes);
        h.update(text.as_bytes());
        h.update(a.condition.as_deref().unwrap_or("").as_bytes());
        let mut names: Vec<_> = a.names.iter().collect();
        names.sort();
        for (k, v) in names {
            h.update(k.as_bytes());
            h.update(v.as_bytes());
        }
        h.update(a.values.as_deref().unwrap_or(&[]));
    }
    h.digest()
}

impl Db {
    fn plan(&self, a: &TxAction) -> Result<Planned> {
        let def = self.catalog()?.get(&a.table)?;
        let values = decode_values(a.values.as_deref())?;
        let attrs = ExpressionAttributes::new(&a.names, &values);
        attrs.validate_keys()?;
        let condition = parse_condition(a.condition.as_deref(), &attrs)?;
        let mut planned = Planned {
            key: Vec::new(),
            key_item: Vec::new(),
            put: None,
            update: None,
            delete: false,
            condition,
            return_old: a.return_old_on_condition_failure,
            def: Arc::clone(&def),
        };
        let key_of = |k: &[u8]| -> Result<Item> {
            let key = decode_item(k)?;
            def.key.check_key_object(&key)?;
            Ok(key)
        };
        match &a.kind {
            TxKind::Put(item) => {
                let (item, bytes) = crate::items::prepare_item(decode_item(item)?)?;
                planned.key_item = def.key.key_of(&item);
                planned.key = def.key.engine_key(&item)?;
                planned.put = Some((item, bytes));
            }
            TxKind::Update(k, e) => {
                planned.key_item = key_of(k)?;
                planned.update = Some(expr::parse_update(e, &attrs)?);
            }
            TxKind::Delete(k) => {
                planned.key_item = key_of(k)?;
                planned.delete = true;
            }
            TxKind::ConditionCheck(k) => {
                planned.key_item = key_of(k)?;
                if planned.condition.is_none() {
                    return Err(Error::validation("a conditionCheck action needs a conditionExpression"));
                }
            }
        }
        if planned.key.is_empty() {
            planned.key = def.key.engine_key(&planned.key_item)?;
        }
        attrs.check_unused()?;
        Ok(planned)
    }

    /// Applies every action or none. See the module docs.
    pub fn transact_write(
        &self,
        actions: Vec<TxAction>,
        token: Option<&str>,
        durability: Option<Durability>,
    ) -> Result<TxOutcome> {
        if actions.is_empty() || actions.len() > MAX_TRANSACTION_ACTIONS {
            return Err(Error::validation(format!(
                "a transaction needs 1 to {MAX_TRANSACTION_ACTIONS} actions, not {}",
                actions.len()
            )));
        }
        let hash = request_hash(&actions);
        if let Some(t) = token {
            if t.is_empty() || t.len() > 36 {
                return Err(Error::validation("clientRequestToken must be 1 to 36 characters"));
            }
            let mut tokens = self.inner().tx_tokens.lock();
            tokens.retain(|_, (_, at)| at.elapsed() < TOKEN_WINDOW);
            if let Some((seen, _)) = tokens.get(t) {
                if *seen == hash {
                    return Ok(TxOutcome::Committed);
                }
                return Err(Error::new(
                    ErrorCode::IdempotentParameterMismatch,
                    "this clientRequestToken was used in the last 10 minutes for a different transaction",
                ));
            }
        }
        let mut planned = Vec::with_capacity(actions.len());
        let mut seen = HashSet::new();
        for (i, a) in actions.iter().enumerate() {
            let p = self
                .plan(a)
                .map_err(|e| Error::new(e.code(), format!("action {} ({}): {}", i + 1, a.table, e.message())))?;
            if !seen.insert((p.def.keyspace, p.key.clone())) {
                return Err(Error::validation("Transaction request cannot include multiple operations on one item"));
            }
            planned.push(p);
        }
        for _ in 0..MAX_RETRIES {
            let snapshot = self.snapshot();
            let mut olds = Vec::with_capacity(planned.len());
            let mut checks = Vec::with_capacity(planned.len());
            for p in &planned {
                let newest = self.inner().newest(p.def.keyspace, &p.key, snapshot)?;
                checks.push(ReadCheck {
                    keyspace: p.def.keyspace,
                    key: p.key.clone(),
                    seq: newest.as_ref().map(|n| n.seq),
                });
                olds.push(newest.and_then(|n| n.value).map(|v| decode_item(&v)).transpose()?);
            }
            let mut reasons = Vec::with_capacity(planned.len());
            let mut batch = WriteBatch::new();
            let mut canceled = false;
            for (p, old) in planned.iter().zip(&olds) {
                let reason = |code, message: Option<String>, item| TxReason { code, message, item };
                if !holds(p.condition.as_ref(), old.as_ref())? {
                    canceled = true;
                    let item = old.as_ref().filter(|_| p.return_old).map(|o| encode_item(o));
                    reasons.push(reason("ConditionalCheckFailed", Some("The conditional request failed".into()), item));
                    continue;
                }
                if let Some((_, bytes)) = &p.put {
                    batch.put(p.def.keyspace, p.key.clone(), bytes.clone());
                } else if let Some(update) = &p.update {
                    let mut new = old.clone().unwrap_or_else(|| p.key_item.clone());
                    let applied = expr::apply_update(update, &mut new).and_then(|effect| {
                        if let Some(k) = effect.touched.iter().find(|k| p.def.key.is_key_attribute(k)) {
                            return Err(Error::validation(format!(
                                "Cannot update attribute {k}. This attribute is part of the key"
                            )));
                        }
                        crate::items::prepare_item(new)
                    });
                    match applied {
                        Ok((_, bytes)) => batch.put(p.def.keyspace, p.key.clone(), bytes),
                        Err(e) => {
                            canceled = true;
                            reasons.push(reason("ValidationError", Some(e.message().to_string()), None));
                            continue;
                        }
                    }
                } else if p.delete {
                    batch.delete(p.def.keyspace, p.key.clone());
                }
                reasons.push(reason("None", None, None));
            }
            if canceled {
                return Ok(TxOutcome::Canceled(reasons));
            }
            match self.write_checked(batch, checks, durability) {
                Ok(_) => {
                    if let Some(t) = token {
                        self.inner().tx_tokens.lock().insert(t.to_string(), (hash, Instant::now()));
                    }
                    return Ok(TxOutcome::Committed);
                }
                Err(e) if e.code() == ErrorCode::TransactionConflict => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Error::new(ErrorCode::TransactionConflict, "the items kept changing; the transaction was not applied"))
    }

    /// Reads up to 100 items across tables at one snapshot.
    pub fn transact_get(&self, gets: &[TxGet]) -> Result<Vec<Option<Vec<u8>>>> {
        if gets.is_empty() || gets.len() > MAX_TRANSACTION_ACTIONS {
            return Err(Error::validation(format!(
                "a transaction needs 1 to {MAX_TRANSACTION_ACTIONS} actions, not {}",
                gets.len()
            )));
        }
        let mut plans = Vec::with_capacity(gets.len());
        for g in gets {
            let def = self.catalog()?.get(&g.table)?;
            let key = decode_item(&g.key)?;
            def.key.check_key_object(&key)?;
            let paths = parse_projection_only(g.projection.as_deref(), &g.names)?;
            plans.push((def.keyspace, def.key.engine_key(&key)?, paths));
        }
        let snapshot = self.snapshot();
        plans
            .into_iter()
            .map(|(ks, key, paths)| {
                let Some(bytes) = self.get_at(ks, &key, snapshot)? else { return Ok(None) };
                Ok(Some(match paths {
                    None => bytes,
                    Some(p) => encode_item(&expr::project(&decode_item(&bytes)?, &p)),
                }))
            })
            .collect()
    }
}
