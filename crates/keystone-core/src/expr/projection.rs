//! Applying a ProjectionExpression: keep only the named paths of an item, with their nesting.
//!
//! As in DynamoDB, `a.b` yields `{a: {b: ...}}`, `l[2]` yields `{l: [<element 2>]}` (selected
//! list elements keep their index order and close up), and a path that is missing from the item
//! or runs through a value of the wrong type contributes nothing. Attributes keep the item's order.

use crate::item::{Item, Value};

use super::ast::{Path, PathElem};

/// The part of `v` selected by `rests` (the remaining elements of each path reaching `v`).
fn project_value(v: &Value, rests: &[&[PathElem]]) -> Option<Value> {
    if rests.iter().any(|r| r.is_empty()) {
        return Some(v.clone());
    }
    let below = |key: &PathElem| -> Vec<&[PathElem]> {
        rests.iter().filter_map(|r| r.split_first()).filter(|(first, _)| *first == key).map(|(_, rest)| rest).collect()
    };
    match v {
        Value::M(m) => {
            let out: Vec<(String, Value)> = m
                .iter()
                .filter_map(|(k, child)| {
                    let sub = below(&PathElem::Name(k.clone()));
                    if sub.is_empty() {
                        return None;
                    }
                    project_value(child, &sub).map(|p| (k.clone(), p))
                })
                .collect();
            (!out.is_empty()).then_some(Value::M(out))
        }
        Value::L(l) => {
            let out: Vec<Value> = l
                .iter()
                .enumerate()
                .filter_map(|(i, child)| {
                    let sub = below(&PathElem::Index(u32::try_from(i).ok()?));
                    if sub.is_empty() {
                        return None;
                    }
                    project_value(child, &sub)
                })
                .collect();
            (!out.is_empty()).then_some(Value::L(out))
        }
        _ => None,
    }
}

/// The attributes of `item` selected by `paths`.
pub(crate) fn project(item: &[(String, Value)], paths: &[Path]) -> Item {
    item.iter()
        .filter_map(|(name, v)| {
            let rests: Vec<&[PathElem]> = paths
                .iter()
                .filter_map(|p| match p.elements.split_first() {
                    Some((PathElem::Name(head), rest)) if head == name => Some(rest),
                    _ => None,
                })
                .collect();
            if rests.is_empty() {
                return None;
            }
            project_value(v, &rests).map(|p| (name.clone(), p))
        })
        .collect()
}
