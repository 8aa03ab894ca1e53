//! Update and projection expressions: the `update` and `projection` rules of the grammar in
//! `parser.rs`.

use crate::error::Result;
use crate::item::Value;

use super::ast::{Path, Projection, SetValue, TypeName, Update, UpdateOperand};
use super::attributes::ExpressionAttributes;
use super::lexer::{Keyword, Tok};
use super::parser::{check_paths, Parser, Rank};

/// Parses an UpdateExpression.
pub(crate) fn parse_update(text: &str, attrs: &ExpressionAttributes<'_>) -> Result<Update> {
    let mut p = Parser::new(text, "Update", attrs)?;
    let mut u = Update::default();
    let mut seen: Vec<Keyword> = Vec::new();
    loop {
        let kw = match p.peek() {
            Tok::Keyword(k @ (Keyword::Set | Keyword::Remove | Keyword::Add | Keyword::Delete)) => *k,
            _ => return Err(p.syntax_error()),
        };
        p.bump();
        if seen.contains(&kw) {
            let name = match kw {
                Keyword::Set => "SET",
                Keyword::Remove => "REMOVE",
                Keyword::Add => "ADD",
                _ => "DELETE",
            };
            p.defer(Rank::Section, format!("The \"{name}\" section can only be used once in an update expression;"));
        }
        seen.push(kw);
        loop {
            let path = p.path()?;
            match kw {
                Keyword::Set => {
                    p.expect(&Tok::Eq)?;
                    let v = set_value(&mut p)?;
                    u.set.push((path, v));
                }
                Keyword::Remove => u.remove.push(path),
                Keyword::Add => {
                    let v = set_operand(&mut p, "ADD")?;
                    u.add.push((path, v));
                }
                _ => {
                    let v = set_operand(&mut p, "DELETE")?;
                    u.delete.push((path, v));
                }
            }
            if !p.eat(&Tok::Comma) {
                break;
            }
        }
        if *p.peek() == Tok::Eof {
            break;
        }
    }
    let targets: Vec<&Path> = u
        .set
        .iter()
        .map(|(p, _)| p)
        .chain(u.remove.iter())
        .chain(u.add.iter().map(|(p, _)| p))
        .chain(u.delete.iter().map(|(p, _)| p))
        .collect();
    check_paths(&mut p, &targets);
    p.finish(u)
}

/// The value of an ADD or DELETE action: a placeholder of a type the action accepts.
fn set_operand(p: &mut Parser<'_, '_>, action: &str) -> Result<Value> {
    let v = p.value()?;
    let ok = match TypeName::of(&v) {
        TypeName::Ss | TypeName::Ns | TypeName::Bs => true,
        TypeName::N => action == "ADD",
        _ => false,
    };
    if !ok {
        let t = match TypeName::of(&v) {
            TypeName::S => "STRING",
            TypeName::N => "NUMBER",
            TypeName::B => "BINARY",
            TypeName::Null => "NULL",
            TypeName::Bool => "BOOLEAN",
            TypeName::L => "LIST",
            TypeName::M => "MAP",
            other => other.as_str(),
        };
        p.defer(
            Rank::Type,
            format!("Incorrect operand type for operator or function; operator: {action}, operand type: {t}"),
        );
    }
    Ok(v)
}

/// `set-value := term [ ('+' | '-') term ] | '(' set-value ')'`
fn set_value(p: &mut Parser<'_, '_>) -> Result<SetValue> {
    let first = group_or_term(p)?;
    let plus = match p.peek() {
        Tok::Plus => true,
        Tok::Minus => false,
        _ => return Ok(first),
    };
    let SetValue::Operand(left) = first else {
        return Err(p.syntax_error());
    };
    p.bump();
    let right = operand(p)?;
    let sym = if plus { "+" } else { "-" };
    for o in [&left, &right] {
        if let UpdateOperand::Value(v) = o {
            if TypeName::of(v) != TypeName::N {
                p.defer(Rank::Type, format!("Incorrect operand type for operator or function; operator or function: {sym}, operand type: {}", TypeName::of(v).as_str()));
            }
        }
    }
    Ok(if plus { SetValue::Plus(left, right) } else { SetValue::Minus(left, right) })
}

fn group_or_term(p: &mut Parser<'_, '_>) -> Result<SetValue> {
    if *p.peek() != Tok::LParen {
        return Ok(SetValue::Operand(operand(p)?));
    }
    p.enter()?;
    p.bump();
    let inner = set_value(p)?;
    p.expect(&Tok::RParen)?;
    p.leave();
    Ok(inner)
}

/// `term := path | :value | '(' term ')' | function '(' term (',' term)* ')'`
fn operand(p: &mut Parser<'_, '_>) -> Result<UpdateOperand> {
    match p.peek().clone() {
        Tok::LParen => match group_or_term(p)? {
            SetValue::Operand(o) => Ok(o),
            _ => Err(p.syntax_error()),
        },
        Tok::Value(_) => Ok(UpdateOperand::Value(p.value()?)),
        Tok::Ident(name) if *p.peek_at(1) == Tok::LParen => call(p, &name),
        _ => Ok(UpdateOperand::Path(p.path()?)),
    }
}

fn call(p: &mut Parser<'_, '_>, name: &str) -> Result<UpdateOperand> {
    p.enter()?;
    p.bump();
    p.bump();
    let mut args = vec![operand(p)?];
    while p.eat(&Tok::Comma) {
        args.push(operand(p)?);
    }
    p.expect(&Tok::RParen)?;
    p.leave();
    let dummy = UpdateOperand::Value(Value::Null);
    if name != "if_not_exists" && name != "list_append" {
        p.defer(Rank::UnknownFunction, format!("Invalid function name; function: {name}"));
        return Ok(dummy);
    }
    if args.len() != 2 {
        p.defer(
            Rank::Type,
            format!("Incorrect number of operands for operator or function; operator or function: {name}, number of operands: {}", args.len()),
        );
        return Ok(dummy);
    }
    let mut it = args.into_iter();
    let (a, b) = (it.next().unwrap_or(dummy.clone()), it.next().unwrap_or(dummy));
    if name == "if_not_exists" {
        let UpdateOperand::Path(path) = a else {
            p.defer(Rank::Type, "Operator or function requires a document path; operator or function: if_not_exists");
            return Ok(b);
        };
        return Ok(UpdateOperand::IfNotExists(path, Box::new(b)));
    }
    for o in [&a, &b] {
        if let UpdateOperand::Value(v) = o {
            if TypeName::of(v) != TypeName::L {
                p.defer(Rank::Type, format!("Incorrect operand type for operator or function; operator or function: list_append, operand type: {}", TypeName::of(v).as_str()));
            }
        }
    }
    Ok(UpdateOperand::ListAppend(Box::new(a), Box::new(b)))
}

/// Parses a ProjectionExpression.
pub(crate) fn parse_projection(text: &str, attrs: &ExpressionAttributes<'_>) -> Result<Projection> {
    let mut p = Parser::new(text, "Projection", attrs)?;
    let mut paths = vec![p.path()?];
    while p.eat(&Tok::Comma) {
        paths.push(p.path()?);
    }
    let refs: Vec<&Path> = paths.iter().collect();
    check_paths(&mut p, &refs);
    p.finish(paths)
}
