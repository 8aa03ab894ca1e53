//! The functions of condition expressions: `attribute_exists`, `attribute_not_exists`,
//! `attribute_type`, `begins_with`, `contains` (conditions) and `size` (an operand), with
//! DynamoDB's checks on their arity and operand types. Function names are case-sensitive.

use crate::error::Result;
use crate::item::Value;

use super::ast::{Condition, Operand, Path, TypeName};
use super::condition_parser::{check_distinct, operand, placeholder, term, Term};
use super::lexer::Tok;
use super::parser::{Parser, Rank};

const COND_FUNCTIONS: [&str; 5] =
    ["attribute_exists", "attribute_not_exists", "attribute_type", "begins_with", "contains"];

/// A call `name(args)`, the cursor at `name`.
pub(super) fn call(p: &mut Parser<'_, '_>, name: &str) -> Result<Term> {
    p.enter()?;
    p.bump();
    p.bump();
    let mut args = Vec::new();
    loop {
        let t = term(p)?;
        args.push(operand(p, t));
        if !p.eat(&Tok::Comma) {
            break;
        }
    }
    p.expect(&Tok::RParen)?;
    p.leave();
    let Some(fname) = COND_FUNCTIONS.into_iter().chain(["size"]).find(|f| *f == name) else {
        p.defer(Rank::UnknownFunction, format!("Invalid function name; function: {name}"));
        return Ok(Term::Unknown);
    };
    let want = if matches!(fname, "attribute_exists" | "attribute_not_exists" | "size") { 1 } else { 2 };
    if args.len() != want {
        p.defer(
            Rank::OperandCount,
            format!("Incorrect number of operands for operator or function; operator or function: {fname}, number of operands: {}", args.len()),
        );
        return Ok(if fname == "size" {
            Term::Operand(Operand::Size(Path { elements: Vec::new() }))
        } else {
            Term::CondFunc(fname, placeholder())
        });
    }
    let mut args = args.into_iter();
    let (a, b) = (args.next().unwrap_or(Operand::Value(Value::Null)), args.next());
    let needs_path = |p: &mut Parser<'_, '_>, o: Operand| match o {
        Operand::Path(path) => path,
        _ => {
            p.defer(
                Rank::Type,
                format!("Operator or function requires a document path; operator or function: {fname}"),
            );
            Path { elements: Vec::new() }
        }
    };
    let b = b.unwrap_or(Operand::Value(Value::Null));
    Ok(match fname {
        "size" => {
            if let Operand::Value(v) = &a {
                let t = TypeName::of(v);
                if matches!(t, TypeName::N | TypeName::Bool | TypeName::Null) {
                    p.defer(Rank::Type, format!("Incorrect operand type for operator or function; operator or function: size, operand type: {}", t.as_str()));
                }
            }
            Term::Operand(Operand::Size(needs_path(p, a)))
        }
        "attribute_exists" => Term::CondFunc(fname, Condition::AttributeExists(needs_path(p, a))),
        "attribute_not_exists" => Term::CondFunc(fname, Condition::AttributeNotExists(needs_path(p, a))),
        "attribute_type" => {
            let path = needs_path(p, a);
            let ty = match &b {
                Operand::Value(Value::S(s)) => TypeName::parse(s).unwrap_or_else(|| {
                    p.defer(Rank::Type, format!("Invalid attribute type name found; type: {s}, valid types: {{B,NULL,SS,BOOL,L,BS,N,NS,S,M}}"));
                    TypeName::S
                }),
                other => {
                    let t = match other {
                        Operand::Value(v) => TypeName::of(v).as_str(),
                        Operand::Size(_) => "N",
                        Operand::Path(_) => "{NS,SS,L,BS,N,M,B,BOOL,NULL,S}",
                    };
                    p.defer(Rank::Type, format!("Incorrect operand type for operator or function; operator or function: attribute_type, operand type: {t}"));
                    TypeName::S
                }
            };
            Term::CondFunc(fname, Condition::AttributeType(path, ty))
        }
        _ => {
            check_distinct(p, fname, &a, &b);
            if fname == "begins_with" {
                for o in [&a, &b] {
                    let t = match o {
                        Operand::Value(v) => TypeName::of(v),
                        Operand::Size(_) => TypeName::N,
                        Operand::Path(_) => continue,
                    };
                    if !matches!(t, TypeName::S | TypeName::B) {
                        p.defer(Rank::Type, format!("Incorrect operand type for operator or function; operator or function: begins_with, operand type: {}", t.as_str()));
                    }
                }
                Term::CondFunc(fname, Condition::BeginsWith(a, b))
            } else {
                Term::CondFunc(fname, Condition::Contains(a, b))
            }
        }
    })
}
