//! Applying a parsed UpdateExpression to an item.
//!
//! Every right-hand side of SET is computed from the item as it was before the update (so
//! `SET a = b, b = a` swaps), then the actions are applied in section order SET, REMOVE, ADD,
//! DELETE to a copy; the item is replaced only if every action succeeded.
//!
//! - SET on a list index past the end appends; on a path whose parent is missing or of the wrong
//!   type it fails ("The document path provided in the update expression is invalid for update").
//! - REMOVE of list elements uses the original indexes: `REMOVE l[0], l[1]` removes both, and the
//!   elements after them shift down. REMOVE of a missing attribute is a no-op.
//! - ADD: to a number (missing = 0) or a set of the same type (union; missing = empty).
//! - DELETE: members from a set of the same type; an emptied set removes the attribute.
//! - `+`/`-` only on numbers, `list_append` only on lists; a missing operand is an error unless
//!   wrapped in `if_not_exists`.

use crate::error::{Error, Result};
use crate::item::{Item, Value};
use crate::number::Decimal;

use super::ast::{Path, PathElem, SetValue, Update, UpdateOperand};
use super::eval::resolve;
use super::value_order::number_set_contains;

/// What an update did: the top-level attributes it wrote or removed, in expression order and
/// without repeats (for ReturnValues UPDATED_OLD / UPDATED_NEW).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct UpdateEffect {
    pub touched: Vec<String>,
}

fn invalid_path() -> Error {
    Error::validation("The document path provided in the update expression is invalid for update")
}

fn wrong_type() -> Error {
    Error::validation("An operand in the update expression has an incorrect data type")
}

fn missing_operand() -> Error {
    Error::validation("The provided expression refers to an attribute that does not exist in the item")
}

fn operand_value(item: &[(String, Value)], o: &UpdateOperand) -> Result<Value> {
    Ok(match o {
        UpdateOperand::Path(p) => resolve(item, p).cloned().ok_or_else(missing_operand)?,
        UpdateOperand::Value(v) => v.clone(),
        UpdateOperand::IfNotExists(p, default) => match resolve(item, p) {
            Some(v) => v.clone(),
            None => operand_value(item, default)?,
        },
        UpdateOperand::ListAppend(a, b) => match (operand_value(item, a)?, operand_value(item, b)?) {
            (Value::L(mut x), Value::L(y)) => {
                x.extend(y);
                Value::L(x)
            }
            _ => return Err(wrong_type()),
        },
    })
}

fn number(v: &Value) -> Result<Decimal> {
    match v {
        Value::N(n) => Decimal::parse(n),
        _ => Err(wrong_type()),
    }
}

fn set_value(item: &[(String, Value)], v: &SetValue) -> Result<Value> {
    Ok(match v {
        SetValue::Operand(o) => operand_value(item, o)?,
        SetValue::Plus(a, b) => {
            let (a, b) = (number(&operand_value(item, a)?)?, number(&operand_value(item, b)?)?);
            Value::N(a.add(&b)?.to_canonical_string())
        }
        SetValue::Minus(a, b) => {
            let (a, b) = (number(&operand_value(item, a)?)?, number(&operand_value(item, b)?)?);
            Value::N(a.sub(&b)?.to_canonical_string())
        }
    })
}

/// Where a path's last element lives.
enum Slot<'v> {
    Map(&'v mut Vec<(String, Value)>, &'v str),
    List(&'v mut Vec<Value>, usize),
}

/// The container of `path`'s last element; an error if the path runs through something missing
/// or of the wrong type.
fn slot<'v>(item: &'v mut Vec<(String, Value)>, path: &'v Path) -> Result<Slot<'v>> {
    let (last, parents) = path.elements.split_last().ok_or_else(invalid_path)?;
    let mut map: Option<&'v mut Vec<(String, Value)>> = Some(item);
    let mut list: Option<&'v mut Vec<Value>> = None;
    for e in parents {
        let next = match (e, map.take(), list.take()) {
            (PathElem::Name(n), Some(m), _) => m.iter_mut().find(|(k, _)| k == n).map(|(_, v)| v),
            (PathElem::Index(i), _, Some(l)) => l.get_mut(*i as usize),
            _ => None,
        };
        match next.ok_or_else(invalid_path)? {
            Value::M(m) => map = Some(m),
            Value::L(l) => list = Some(l),
            _ => return Err(invalid_path()),
        }
    }
    match (last, map, list) {
        (PathElem::Name(n), Some(m), _) => Ok(Slot::Map(m, n)),
        (PathElem::Index(i), _, Some(l)) => Ok(Slot::List(l, *i as usize)),
        _ => Err(invalid_path()),
    }
}

fn put(item: &mut Vec<(String, Value)>, path: &Path, v: Value) -> Result<()> {
    match slot(item, path)? {
        Slot::Map(m, n) => match m.iter_mut().find(|(k, _)| k == n) {
            Some((_, old)) => *old = v,
            None => m.push((n.to_string(), v)),
        },
        Slot::List(l, i) => match l.get_mut(i) {
            Some(old) => *old = v,
            None => l.push(v),
        },
    }
    Ok(())
}

fn remove(item: &mut Vec<(String, Value)>, path: &Path) -> Result<()> {
    match slot(item, path)? {
        Slot::Map(m, n) => m.retain(|(k, _)| k != n),
        Slot::List(l, i) => {
            if i < l.len() {
                l.remove(i);
            }
        }
    }
    Ok(())
}

/// `ADD path v` given the current value at `path`.
fn added(existing: Option<&Value>, v: &Value) -> Result<Value> {
    Ok(match (existing, v) {
        (None, v) => match v {
            Value::N(n) => Value::N(Decimal::parse(n)?.to_canonical_string()),
            other => other.clone(),
        },
        (Some(Value::N(a)), Value::N(b)) => {
            Value::N(Decimal::parse(a)?.add(&Decimal::parse(b)?)?.to_canonical_string())
        }
        (Some(Value::Ss(a)), Value::Ss(b)) => {
            let mut out = a.clone();
            out.extend(b.iter().filter(|m| !a.contains(m)).cloned());
            Value::Ss(out)
        }
        (Some(Value::Ns(a)), Value::Ns(b)) => {
            let mut out = a.clone();
            for m in b {
                if !number_set_contains(&out, m) {
                    out.push(m.clone());
                }
            }
            Value::Ns(out)
        }
        (Some(Value::Bs(a)), Value::Bs(b)) => {
            let mut out = a.clone();
            out.extend(b.iter().filter(|m| !a.contains(m)).cloned());
            Value::Bs(out)
        }
        _ => return Err(wrong_type()),
    })
}

/// `DELETE path v` given the current value; `None` when the set becomes empty.
fn deleted(existing: &Value, v: &Value) -> Result<Option<Value>> {
    let out = match (existing, v) {
        (Value::Ss(a), Value::Ss(b)) => Value::Ss(a.iter().filter(|m| !b.contains(m)).cloned().collect()),
        (Value::Ns(a), Value::Ns(b)) => Value::Ns(a.iter().filter(|m| !number_set_contains(b, m)).cloned().collect()),
        (Value::Bs(a), Value::Bs(b)) => Value::Bs(a.iter().filter(|m| !b.contains(m)).cloned().collect()),
        _ => return Err(wrong_type()),
    };
    let empty =
        matches!(&out, Value::Ss(s) | Value::Ns(s) if s.is_empty()) || matches!(&out, Value::Bs(s) if s.is_empty());
    Ok(if empty { None } else { Some(out) })
}

/// Applies `update` to `item`. On error the item is left as it was.
pub(crate) fn apply_update(update: &Update, item: &mut Item) -> Result<UpdateEffect> {
    let values: Vec<Value> = update.set.iter().map(|(_, v)| set_value(item, v)).collect::<Result<_>>()?;
    let mut new = item.clone();
    for ((path, _), v) in update.set.iter().zip(values) {
        put(&mut new, path, v)?;
    }
    // Highest index first, so each removal leaves the original indexes of the rest intact.
    let mut removes: Vec<&Path> = update.remove.iter().collect();
    removes.sort_by(|a, b| b.cmp(a));
    for path in removes {
        remove(&mut new, path)?;
    }
    for (path, v) in &update.add {
        let sum = added(resolve(&new, path), v)?;
        put(&mut new, path, sum)?;
    }
    for (path, v) in &update.delete {
        // Validates the parent even when there is nothing to delete from.
        slot(&mut new, path)?;
        let Some(existing) = resolve(&new, path) else { continue };
        match deleted(existing, v)? {
            Some(rest) => put(&mut new, path, rest)?,
            None => remove(&mut new, path)?,
        }
    }
    let mut touched: Vec<String> = Vec::new();
    let heads = update
        .set
        .iter()
        .map(|(p, _)| p)
        .chain(&update.remove)
        .chain(update.add.iter().map(|(p, _)| p))
        .chain(update.delete.iter().map(|(p, _)| p));
    for p in heads {
        if !touched.iter().any(|t| t == p.head()) {
            touched.push(p.head().to_string());
        }
    }
    *item = new;
    Ok(UpdateEffect { touched })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(names: &[&str]) -> Path {
        Path { elements: names.iter().map(|n| PathElem::Name((*n).to_string())).collect() }
    }

    #[test]
    fn a_failing_action_leaves_the_item_unchanged() {
        let mut item: Item = vec![("n".into(), Value::N("1".into())), ("s".into(), Value::S("x".into()))];
        let before = item.clone();
        let update = Update {
            set: vec![(path(&["n"]), SetValue::Operand(UpdateOperand::Value(Value::N("2".into()))))],
            add: vec![(path(&["s"]), Value::N("1".into()))],
            ..Update::default()
        };
        assert!(apply_update(&update, &mut item).is_err());
        assert_eq!(item, before);
    }
}
