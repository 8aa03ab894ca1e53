//! Evaluating a condition against an item, with DynamoDB's semantics:
//!
//! - An operand whose path is missing from the item has no value. `=`, `<`, `<=`, `>`, `>=`,
//!   BETWEEN, IN and the functions are then false; `<>` is true (it is `NOT =`).
//! - Values of different types are never equal and never ordered; `<` and friends order only
//!   N (numerically), S (by UTF-8 bytes) and B (by bytes).
//! - `size` is the length of an S (in UTF-8 bytes) or B, or the member count of a set, L or M;
//!   of anything else it has no value.
//! - `contains(a, b)`: substring of an S, member of a set, element of an L.
//! - `begins_with(a, b)`: prefix of an S or B, both of the same type.

use std::borrow::Cow;
use std::cmp::Ordering;

use crate::error::Result;
use crate::item::Value;

use super::ast::{Comparator, Condition, Operand, Path, PathElem, TypeName};
use super::value_order::{compare_values, number_set_contains, values_equal};

/// The value at `path` in `item`, if there is one.
pub(crate) fn resolve<'v>(item: &'v [(String, Value)], path: &Path) -> Option<&'v Value> {
    let mut elems = path.elements.iter();
    let Some(PathElem::Name(head)) = elems.next() else {
        return None;
    };
    let mut cur = item.iter().find(|(k, _)| k == head).map(|(_, v)| v)?;
    for e in elems {
        cur = match (e, cur) {
            (PathElem::Name(n), Value::M(m)) => m.iter().find(|(k, _)| k == n).map(|(_, v)| v)?,
            (PathElem::Index(i), Value::L(l)) => l.get(usize::try_from(*i).ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// `size()` of a value, as a number; `None` for types that have no size.
fn size_of(v: &Value) -> Option<usize> {
    Some(match v {
        Value::S(s) => s.len(),
        Value::B(b) => b.len(),
        Value::Ss(s) | Value::Ns(s) => s.len(),
        Value::Bs(s) => s.len(),
        Value::L(l) => l.len(),
        Value::M(m) => m.len(),
        Value::N(_) | Value::Bool(_) | Value::Null => return None,
    })
}

fn operand<'v>(item: &'v [(String, Value)], o: &'v Operand) -> Option<Cow<'v, Value>> {
    match o {
        Operand::Path(p) => resolve(item, p).map(Cow::Borrowed),
        Operand::Value(v) => Some(Cow::Borrowed(v)),
        Operand::Size(p) => resolve(item, p).and_then(size_of).map(|n| Cow::Owned(Value::N(n.to_string()))),
    }
}

fn compare(op: Comparator, a: Option<&Value>, b: Option<&Value>) -> bool {
    let (Some(a), Some(b)) = (a, b) else {
        return op == Comparator::Ne;
    };
    match op {
        Comparator::Eq => values_equal(a, b),
        Comparator::Ne => !values_equal(a, b),
        _ => compare_values(a, b).is_some_and(|o| match op {
            Comparator::Lt => o == Ordering::Less,
            Comparator::Le => o != Ordering::Greater,
            Comparator::Gt => o == Ordering::Greater,
            _ => o != Ordering::Less,
        }),
    }
}

fn begins_with(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::S(s), Value::S(prefix)) => s.starts_with(prefix.as_str()),
        (Value::B(s), Value::B(prefix)) => s.starts_with(prefix),
        _ => false,
    }
}

fn contains(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::S(s), Value::S(sub)) => s.contains(sub.as_str()),
        (Value::Ss(set), Value::S(m)) => set.contains(m),
        (Value::Ns(set), Value::N(m)) => number_set_contains(set, m),
        (Value::Bs(set), Value::B(m)) => set.contains(m),
        (Value::L(list), x) => list.iter().any(|e| values_equal(e, x)),
        _ => false,
    }
}

/// Evaluates `cond` against `item` (an empty slice for a missing item).
pub(crate) fn eval_condition(cond: &Condition, item: &[(String, Value)]) -> Result<bool> {
    Ok(match cond {
        Condition::Compare(a, op, b) => compare(*op, operand(item, a).as_deref(), operand(item, b).as_deref()),
        Condition::Between(x, lo, hi) => match (operand(item, x), operand(item, lo), operand(item, hi)) {
            (Some(x), Some(lo), Some(hi)) => {
                compare_values(&x, &lo).is_some_and(|o| o != Ordering::Less)
                    && compare_values(&x, &hi).is_some_and(|o| o != Ordering::Greater)
            }
            _ => false,
        },
        Condition::In(x, candidates) => match operand(item, x) {
            Some(x) => candidates.iter().any(|c| operand(item, c).is_some_and(|c| values_equal(&x, &c))),
            None => false,
        },
        Condition::And(a, b) => eval_condition(a, item)? && eval_condition(b, item)?,
        Condition::Or(a, b) => eval_condition(a, item)? || eval_condition(b, item)?,
        Condition::Not(a) => !eval_condition(a, item)?,
        Condition::AttributeExists(p) => resolve(item, p).is_some(),
        Condition::AttributeNotExists(p) => resolve(item, p).is_none(),
        Condition::AttributeType(p, t) => resolve(item, p).is_some_and(|v| TypeName::of(v) == *t),
        Condition::BeginsWith(a, b) => match (operand(item, a), operand(item, b)) {
            (Some(a), Some(b)) => begins_with(&a, &b),
            _ => false,
        },
        Condition::Contains(a, b) => match (operand(item, a), operand(item, b)) {
            (Some(a), Some(b)) => contains(&a, &b),
            _ => false,
        },
    })
}
