//! KeyConditionExpression: a condition restricted to what a Query can seek on.
//!
//! ```text
//! key-cond   := pk-cond [ AND sort-cond ] | sort-cond AND pk-cond
//! pk-cond    := pk = :v | :v = pk
//! sort-cond  := sk comparator :v | :v comparator sk      (comparator: = < <= > >=)
//!             | sk BETWEEN :lo AND :hi | begins_with(sk, :prefix)
//! ```
//!
//! The text is parsed with the condition grammar (so syntax errors read the same), then checked
//! against these rules with DynamoDB's messages for everything else: OR, NOT, IN, `<>`, other
//! functions, nested paths, non-key attributes, a missing partition-key equality.

use crate::error::{Error, Result};
use crate::item::Value;

use super::ast::{Comparator, Condition, KeyCondition, Operand, Path, SortKeyCondition};
use super::attributes::ExpressionAttributes;
use super::condition_parser::parse_condition_as;

fn invalid(msg: impl Into<String>) -> Error {
    Error::validation(msg)
}

/// Parses a KeyConditionExpression for a table keyed by `partition_key` (and `sort_key`).
pub(crate) fn parse_key_condition(
    text: &str,
    attrs: &ExpressionAttributes<'_>,
    partition_key: &str,
    sort_key: Option<&str>,
) -> Result<KeyCondition> {
    let cond = parse_condition_as(text, attrs, "KeyCondition")?;
    let mut conds: Vec<(String, SortKeyCondition)> = Vec::new();
    collect(&cond, &mut conds)?;
    if conds.len() > 2 {
        return Err(invalid("Conditions can be of length 1 or 2 only"));
    }
    if !conds.iter().any(|(n, _)| n == partition_key) {
        return Err(invalid(format!("Query condition missed key schema element: {partition_key}")));
    }
    let mut partition_value = None;
    let mut sort = None;
    for (name, c) in conds {
        if name == partition_key {
            match c {
                SortKeyCondition::Compare(Comparator::Eq, v) => partition_value = Some(v),
                _ => return Err(invalid("Query key condition not supported")),
            }
        } else if Some(name.as_str()) == sort_key {
            sort = Some(c);
        } else {
            return Err(match sort_key {
                Some(sk) => invalid(format!("Query condition missed key schema element: {sk}")),
                None => invalid("Query key condition not supported"),
            });
        }
    }
    let Some(partition_value) = partition_value else {
        return Err(invalid(format!("Query condition missed key schema element: {partition_key}")));
    };
    Ok(KeyCondition { partition_value, sort })
}

fn unsupported(op: &str) -> Error {
    invalid(format!("Invalid operator used in KeyConditionExpression: {op}"))
}

/// The key attribute a single-attribute condition is on.
fn key_name(path: &Path) -> Result<String> {
    if path.elements.len() > 1 {
        return Err(invalid("KeyConditionExpressions cannot have conditions on nested attributes"));
    }
    Ok(path.head().to_string())
}

fn value_of(o: &Operand) -> Result<Value> {
    match o {
        Operand::Value(v) => Ok(v.clone()),
        Operand::Path(_) => {
            Err(invalid("Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition"))
        }
        Operand::Size(_) => Err(invalid("KeyConditionExpressions cannot contain nested operations")),
    }
}

fn first_operand_key(o: &Operand, op: &str) -> Result<String> {
    match o {
        Operand::Path(p) => key_name(p),
        Operand::Size(_) => Err(invalid("KeyConditionExpressions cannot contain nested operations")),
        Operand::Value(_) => Err(invalid(format!(
            "Invalid condition in KeyConditionExpression: {op} operator must have the key attribute as its first operand"
        ))),
    }
}

fn push(out: &mut Vec<(String, SortKeyCondition)>, name: String, c: SortKeyCondition) -> Result<()> {
    if out.iter().any(|(n, _)| *n == name) {
        return Err(invalid("KeyConditionExpressions must only contain one condition per key"));
    }
    out.push((name, c));
    Ok(())
}

fn collect(c: &Condition, out: &mut Vec<(String, SortKeyCondition)>) -> Result<()> {
    match c {
        Condition::And(a, b) => {
            collect(a, out)?;
            collect(b, out)
        }
        Condition::Or(..) => Err(unsupported("OR")),
        Condition::Not(_) => Err(unsupported("NOT")),
        Condition::In(..) => Err(unsupported("IN")),
        Condition::Compare(_, Comparator::Ne, _) => Err(unsupported("<>")),
        Condition::AttributeExists(_) => Err(unsupported("attribute_exists")),
        Condition::AttributeNotExists(_) => Err(unsupported("attribute_not_exists")),
        Condition::AttributeType(..) => Err(unsupported("attribute_type")),
        Condition::Contains(..) => Err(unsupported("contains")),
        Condition::Compare(l, op, r) => {
            if matches!(l, Operand::Size(_)) || matches!(r, Operand::Size(_)) {
                return Err(invalid("KeyConditionExpressions cannot contain nested operations"));
            }
            let (name, value, op) = match (l, r) {
                (Operand::Path(p), other) => (key_name(p)?, value_of(other)?, *op),
                (Operand::Value(v), Operand::Path(p)) => (key_name(p)?, v.clone(), flip(*op)),
                _ => return Err(invalid("Invalid condition in KeyConditionExpression: No key attribute specified")),
            };
            push(out, name, SortKeyCondition::Compare(op, value))
        }
        Condition::Between(x, lo, hi) => {
            let name = first_operand_key(x, "BETWEEN")?;
            push(out, name, SortKeyCondition::Between(value_of(lo)?, value_of(hi)?))
        }
        Condition::BeginsWith(x, prefix) => {
            let name = first_operand_key(x, "begins_with")?;
            push(out, name, SortKeyCondition::BeginsWith(value_of(prefix)?))
        }
    }
}

/// `:v < sk` is `sk > :v`.
fn flip(op: Comparator) -> Comparator {
    match op {
        Comparator::Lt => Comparator::Gt,
        Comparator::Le => Comparator::Ge,
        Comparator::Gt => Comparator::Lt,
        Comparator::Ge => Comparator::Le,
        other => other,
    }
}
