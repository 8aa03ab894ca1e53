//! Runs the table-driven expression corpus in `tests/expressions/*.json`.
//!
//! Each file is a JSON array of cases:
//!
//! ```text
//! {
//!   "kind":   "condition" | "filter" | "update" | "projection" | "key" | "request",
//!   "expr":   "<expression text>",
//!   "item":   { <name>: <AttributeValue>, ... }      (optional; default: no item)
//!   "names":  { "#n": "name", ... }                   (optional)
//!   "values": { ":v": <AttributeValue>, ... }         (optional)
//!   "keys":   ["pk", "sk"]                            (key only; sort key optional)
//!   "exprs":  [["condition", "<text>"], ...]          (request only: several expressions)
//!   "expect": true/false (condition, filter) | item (update, projection)
//!             | {"partition": AV, "sort": null | {"op": "<", "value": AV}
//!                 | {"op": "BETWEEN", "lo": AV, "hi": AV} | {"op": "begins_with", "value": AV}} (key)
//!             | "ok" (request)
//!   "error":  "<substring of the expected error message>"   (instead of expect)
//!   "touched": ["a", ...]                             (update, optional)
//! }
//! ```
//!
//! AttributeValues use DynamoDB's JSON form (see `corpus_json.rs`). After parsing, every case
//! also checks for unused placeholders, as a request would. Expected items are compared with
//! DynamoDB equality (map and set order ignored, numbers numeric).

use std::collections::HashMap;

use crate::item::Value;

use super::corpus_json::{attribute_map, attribute_value, parse_json, Json};
use super::value_order::values_equal;
use super::*;

const FILES: [(&str, &str); 4] = [
    ("conditions.json", include_str!("../../tests/expressions/conditions.json")),
    ("updates.json", include_str!("../../tests/expressions/updates.json")),
    ("projections.json", include_str!("../../tests/expressions/projections.json")),
    ("keys.json", include_str!("../../tests/expressions/keys.json")),
];

fn sort_json(s: &SortKeyCondition) -> String {
    format!("{s:?}")
}

fn expected_key(j: &Json) -> Result<KeyCondition, String> {
    let partition_value = attribute_value(j.get("partition").ok_or("expect.partition missing")?)?;
    let sort = match j.get("sort") {
        None | Some(Json::Null) => None,
        Some(s) => {
            let op = s.get("op").and_then(Json::as_str).ok_or("sort.op missing")?;
            let v = |k: &str| attribute_value(s.get(k).ok_or(format!("sort.{k} missing"))?);
            Some(match op {
                "BETWEEN" => SortKeyCondition::Between(v("lo")?, v("hi")?),
                "begins_with" => SortKeyCondition::BeginsWith(v("value")?),
                _ => {
                    let c = match op {
                        "=" => Comparator::Eq,
                        "<" => Comparator::Lt,
                        "<=" => Comparator::Le,
                        ">" => Comparator::Gt,
                        ">=" => Comparator::Ge,
                        other => return Err(format!("unknown op {other}")),
                    };
                    SortKeyCondition::Compare(c, v("value")?)
                }
            })
        }
    };
    Ok(KeyCondition { partition_value, sort })
}

fn same_item(a: &[(String, Value)], b: &[(String, Value)]) -> bool {
    values_equal(&Value::M(a.to_vec()), &Value::M(b.to_vec()))
}

/// Runs one case: `Ok(())` if it behaved as expected, else what happened instead.
fn run_case(case: &Json) -> Result<(), String> {
    let kind = case.get("kind").and_then(Json::as_str).ok_or("kind missing")?;
    let text = case.get("expr").and_then(Json::as_str).unwrap_or("");
    let item = attribute_map(case.get("item").unwrap_or(&Json::Null))?;
    let names: HashMap<String, String> = match case.get("names") {
        Some(Json::Obj(o)) => o.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string())).collect(),
        _ => HashMap::new(),
    };
    let values: HashMap<String, Value> =
        attribute_map(case.get("values").unwrap_or(&Json::Null))?.into_iter().collect();
    let attrs = ExpressionAttributes::new(&names, &values);
    let want_error = case.get("error").and_then(Json::as_str);
    let expect = case.get("expect");

    let outcome: crate::error::Result<String> = (|| {
        attrs.validate_keys()?;
        match kind {
            "condition" | "filter" => {
                let c = if kind == "condition" { parse_condition(text, &attrs)? } else { parse_filter(text, &attrs)? };
                attrs.check_unused()?;
                Ok(eval_condition(&c, &item)?.to_string())
            }
            "update" => {
                let u = parse_update(text, &attrs)?;
                attrs.check_unused()?;
                let mut out = item.clone();
                let effect = apply_update(&u, &mut out)?;
                Ok(format!("{}\u{0}{:?}", Value::M(out).to_debug(), effect.touched))
            }
            "projection" => {
                let p = parse_projection(text, &attrs)?;
                attrs.check_unused()?;
                Ok(Value::M(project(&item, &p)).to_debug())
            }
            "key" => {
                let keys: Vec<&str> = match case.get("keys") {
                    Some(Json::Arr(a)) => a.iter().filter_map(Json::as_str).collect(),
                    _ => vec!["pk", "sk"],
                };
                let k = parse_key_condition(text, &attrs, keys.first().copied().unwrap_or("pk"), keys.get(1).copied())?;
                attrs.check_unused()?;
                Ok(format!("{:?}\u{0}{}", k.partition_value, k.sort.as_ref().map(sort_json).unwrap_or_default()))
            }
            "request" => {
                if let Some(Json::Arr(exprs)) = case.get("exprs") {
                    for e in exprs {
                        let (Some(k), Some(t)) = (
                            if let Json::Arr(a) = e { a.first().and_then(Json::as_str) } else { None },
                            if let Json::Arr(a) = e { a.get(1).and_then(Json::as_str) } else { None },
                        ) else {
                            continue;
                        };
                        match k {
                            "condition" => drop(parse_condition(t, &attrs)?),
                            "filter" => drop(parse_filter(t, &attrs)?),
                            "update" => drop(parse_update(t, &attrs)?),
                            "projection" => drop(parse_projection(t, &attrs)?),
                            _ => drop(parse_key_condition(t, &attrs, "pk", Some("sk"))?),
                        }
                    }
                }
                attrs.check_unused()?;
                Ok("ok".into())
            }
            other => Ok(format!("unknown kind {other}")),
        }
    })();

    match (want_error, outcome) {
        (Some(want), Err(e)) if e.message().contains(want) => Ok(()),
        (Some(want), Err(e)) => Err(format!("expected error containing {want:?}, got error {:?}", e.message())),
        (Some(want), Ok(got)) => Err(format!("expected error containing {want:?}, got success {got:?}")),
        (None, Err(e)) => Err(format!("unexpected error {:?}", e.message())),
        (None, Ok(got)) => {
            let expect = expect.ok_or("case has neither expect nor error")?;
            let ok = match kind {
                "condition" | "filter" => matches!(expect, Json::Bool(b) if b.to_string() == got),
                "request" => expect.as_str() == Some(got.as_str()),
                "key" => {
                    let k = expected_key(expect)?;
                    got == format!("{:?}\u{0}{}", k.partition_value, k.sort.as_ref().map(sort_json).unwrap_or_default())
                }
                _ => {
                    // Re-run to compare structurally rather than by text.
                    let want = attribute_map(expect)?;
                    let actual = recompute(kind, text, &names, &values, &item)?;
                    let touched_ok = match (case.get("touched"), got.split('\u{0}').nth(1)) {
                        (Some(Json::Arr(t)), Some(g)) => {
                            let t: Vec<&str> = t.iter().filter_map(Json::as_str).collect();
                            format!("{t:?}") == g
                        }
                        _ => true,
                    };
                    same_item(&actual, &want) && touched_ok
                }
            };
            if ok {
                Ok(())
            } else {
                Err(format!("expected {}, got {got:?}", debug_json(expect)))
            }
        }
    }
}

fn recompute(
    kind: &str,
    text: &str,
    names: &HashMap<String, String>,
    values: &HashMap<String, Value>,
    item: &[(String, Value)],
) -> Result<Vec<(String, Value)>, String> {
    let attrs = ExpressionAttributes::new(names, values);
    if kind == "update" {
        let u = parse_update(text, &attrs).map_err(|e| e.to_string())?;
        let mut out = item.to_vec();
        apply_update(&u, &mut out).map_err(|e| e.to_string())?;
        Ok(out)
    } else {
        let p = parse_projection(text, &attrs).map_err(|e| e.to_string())?;
        Ok(project(item, &p))
    }
}

fn debug_json(j: &Json) -> String {
    format!("{j:?}")
}

trait ToDebug {
    fn to_debug(&self) -> String;
}

impl ToDebug for Value {
    fn to_debug(&self) -> String {
        format!("{self:?}")
    }
}

#[test]
fn every_corpus_case_behaves_as_documented() {
    let mut failures = Vec::new();
    let mut total = 0;
    for (file, text) in FILES {
        let cases = match parse_json(text) {
            Ok(Json::Arr(cases)) => cases,
            Ok(_) => panic!("{file}: not a JSON array"),
            Err(e) => panic!("{file}: {e}"),
        };
        for (i, case) in cases.iter().enumerate() {
            total += 1;
            if let Err(why) = run_case(case) {
                let expr = case.get("expr").and_then(Json::as_str).unwrap_or("");
                failures.push(format!("{file} case {i} `{expr}`: {why}"));
            }
        }
    }
    assert!(total >= 300, "the corpus should hold at least 300 cases, has {total}");
    assert!(failures.is_empty(), "{} of {total} corpus cases failed:\n{}", failures.len(), failures.join("\n"));
}
