//! Condition and filter expressions: the `condition` rules of the grammar in `parser.rs`.
//!
//! A parenthesis may hold a condition (`(a = :x OR b = :y)`) or an operand (`(a) = :x`); the two
//! cannot be told apart until the closing parenthesis, so `primary` parses its content as a
//! condition that may turn out to be a bare operand (`Node::Term`), and the caller decides.

use crate::error::Result;
use crate::item::Value;

use super::ast::{Comparator, Condition, Operand, Path, TypeName};
use super::attributes::ExpressionAttributes;
use super::condition_functions::call;
use super::lexer::{Keyword, Tok};
use super::parser::{Parser, Rank};
use super::value_order::{compare_values, describe};

/// DynamoDB's limit on the candidates of one IN.
pub(super) const MAX_IN_OPERANDS: usize = 100;

/// What an operand position parsed to.
pub(super) enum Term {
    Operand(Operand),
    /// A call of a condition function (attribute_exists, ...), only valid as a whole condition.
    CondFunc(&'static str, Condition),
    /// An unknown function; its error is already deferred.
    Unknown,
}

enum Node {
    Cond(Condition),
    Term(Term),
}

/// A node and whether it is exactly one parenthesized group (for the redundant-parens rule).
struct Parsed {
    node: Node,
    whole_paren: bool,
}

const COND_FUNCTIONS: [&str; 5] =
    ["attribute_exists", "attribute_not_exists", "attribute_type", "begins_with", "contains"];

pub(super) fn placeholder() -> Condition {
    Condition::AttributeExists(Path { elements: Vec::new() })
}

/// Parses a ConditionExpression.
pub(crate) fn parse_condition(text: &str, attrs: &ExpressionAttributes<'_>) -> Result<Condition> {
    parse_condition_as(text, attrs, "Condition")
}

/// Parses a FilterExpression (same language, its own error prefix).
pub(crate) fn parse_filter(text: &str, attrs: &ExpressionAttributes<'_>) -> Result<Condition> {
    parse_condition_as(text, attrs, "Filter")
}

pub(super) fn parse_condition_as(
    text: &str,
    attrs: &ExpressionAttributes<'_>,
    kind: &'static str,
) -> Result<Condition> {
    let mut p = Parser::new(text, kind, attrs)?;
    let top = or(&mut p)?;
    let cond = into_cond(&mut p, top.node)?;
    p.finish(cond)
}

fn or(p: &mut Parser<'_, '_>) -> Result<Parsed> {
    let mut left = and(p)?;
    while *p.peek() == Tok::Keyword(Keyword::Or) {
        let l = into_cond(p, left.node)?;
        p.bump();
        let right = and(p)?;
        let r = into_cond(p, right.node)?;
        left = Parsed { node: Node::Cond(Condition::Or(Box::new(l), Box::new(r))), whole_paren: false };
    }
    Ok(left)
}

fn and(p: &mut Parser<'_, '_>) -> Result<Parsed> {
    let mut left = not(p)?;
    while *p.peek() == Tok::Keyword(Keyword::And) {
        let l = into_cond(p, left.node)?;
        p.bump();
        let right = not(p)?;
        let r = into_cond(p, right.node)?;
        left = Parsed { node: Node::Cond(Condition::And(Box::new(l), Box::new(r))), whole_paren: false };
    }
    Ok(left)
}

fn not(p: &mut Parser<'_, '_>) -> Result<Parsed> {
    if *p.peek() != Tok::Keyword(Keyword::Not) {
        return primary(p);
    }
    p.bump();
    p.enter()?;
    let inner = not(p)?;
    p.leave();
    let c = into_cond(p, inner.node)?;
    Ok(Parsed { node: Node::Cond(Condition::Not(Box::new(c))), whole_paren: false })
}

fn at_tail(p: &Parser<'_, '_>) -> bool {
    comparator(p.peek()).is_some() || matches!(p.peek(), Tok::Keyword(Keyword::Between | Keyword::In))
}

fn primary(p: &mut Parser<'_, '_>) -> Result<Parsed> {
    if *p.peek() == Tok::LParen {
        p.enter()?;
        p.bump();
        let inner = or(p)?;
        p.expect(&Tok::RParen)?;
        p.leave();
        if inner.whole_paren {
            p.defer(Rank::Parens, "The expression has redundant parentheses;");
        }
        return Ok(match inner.node {
            Node::Term(t) if at_tail(p) => Parsed { node: Node::Cond(tail(p, t)?), whole_paren: false },
            Node::Term(t) => Parsed { node: Node::Term(t), whole_paren: true },
            Node::Cond(_) if at_tail(p) => return Err(p.syntax_error()),
            Node::Cond(c) => Parsed { node: Node::Cond(c), whole_paren: true },
        });
    }
    let t = term(p)?;
    let node = if at_tail(p) { Node::Cond(tail(p, t)?) } else { Node::Term(t) };
    Ok(Parsed { node, whole_paren: false })
}

/// A node used as a condition. A bare operand is a syntax error at the token after it.
fn into_cond(p: &mut Parser<'_, '_>, node: Node) -> Result<Condition> {
    match node {
        Node::Cond(c) | Node::Term(Term::CondFunc(_, c)) => Ok(c),
        Node::Term(Term::Operand(Operand::Size(_))) => {
            p.defer(
                Rank::MisusedFunction,
                "The function is not allowed to be used this way in an expression; function: size",
            );
            Ok(placeholder())
        }
        Node::Term(Term::Operand(_)) => Err(p.syntax_error()),
        Node::Term(Term::Unknown) => Ok(placeholder()),
    }
}

fn comparator(t: &Tok) -> Option<Comparator> {
    Some(match t {
        Tok::Eq => Comparator::Eq,
        Tok::Ne => Comparator::Ne,
        Tok::Lt => Comparator::Lt,
        Tok::Le => Comparator::Le,
        Tok::Gt => Comparator::Gt,
        Tok::Ge => Comparator::Ge,
        _ => return None,
    })
}

/// The comparison that follows an operand: `= x`, `BETWEEN x AND y`, `IN (x, ...)`.
fn tail(p: &mut Parser<'_, '_>, left: Term) -> Result<Condition> {
    if let Some(op) = comparator(p.peek()) {
        p.bump();
        let right = term(p)?;
        let (l, r) = (operand(p, left), operand(p, right));
        check_distinct(p, op.symbol(), &l, &r);
        return Ok(Condition::Compare(l, op, r));
    }
    if p.eat(&Tok::Keyword(Keyword::Between)) {
        let lo = term(p)?;
        p.expect(&Tok::Keyword(Keyword::And))?;
        let hi = term(p)?;
        let (x, lo, hi) = (operand(p, left), operand(p, lo), operand(p, hi));
        if let (Operand::Value(a), Operand::Value(b)) = (&lo, &hi) {
            check_between_bounds(p, a, b);
        }
        return Ok(Condition::Between(x, lo, hi));
    }
    p.expect(&Tok::Keyword(Keyword::In))?;
    p.expect(&Tok::LParen)?;
    let mut items = Vec::new();
    loop {
        let t = term(p)?;
        items.push(operand(p, t));
        if !p.eat(&Tok::Comma) {
            break;
        }
    }
    p.expect(&Tok::RParen)?;
    if items.len() > MAX_IN_OPERANDS {
        p.defer(
            Rank::OperandCount,
            format!(
                "Too many operands for the IN operator; number of operands: {}, maximum allowed: {MAX_IN_OPERANDS}",
                items.len()
            ),
        );
    }
    Ok(Condition::In(operand(p, left), items))
}

fn check_between_bounds(p: &mut Parser<'_, '_>, lo: &Value, hi: &Value) {
    let bounds = format!(
        "lower bound operand: AttributeValue: {}, upper bound operand: AttributeValue: {}",
        describe(lo),
        describe(hi)
    );
    if TypeName::of(lo) != TypeName::of(hi) {
        p.defer(
            Rank::Type,
            format!("The BETWEEN operator requires same data type for lower and upper bounds; {bounds}"),
        );
    } else if compare_values(lo, hi).is_some_and(|o| o.is_gt()) {
        p.defer(
            Rank::Type,
            format!("The BETWEEN operator requires upper bound to be greater than or equal to lower bound; {bounds}"),
        );
    }
}

pub(super) fn check_distinct(p: &mut Parser<'_, '_>, op: &str, a: &Operand, b: &Operand) {
    if let (Operand::Path(x), Operand::Path(y)) = (a, b) {
        if x == y {
            p.defer(
                Rank::Distinct,
                format!("The first operand must be distinct from the remaining operands for this operator or function; operator: {op}, first operand: {x}"),
            );
        }
    }
}

/// A term used as an operand: a condition function there is misused.
pub(super) fn operand(p: &mut Parser<'_, '_>, t: Term) -> Operand {
    match t {
        Term::Operand(o) => o,
        Term::CondFunc(name, _) => {
            p.defer(
                Rank::MisusedFunction,
                format!("The function is not allowed to be used this way in an expression; function: {name}"),
            );
            Operand::Value(Value::Null)
        }
        Term::Unknown => Operand::Value(Value::Null),
    }
}

/// `operand := path | :value | function '(' args ')' | '(' operand ')'`
pub(super) fn term(p: &mut Parser<'_, '_>) -> Result<Term> {
    match p.peek().clone() {
        Tok::LParen => {
            p.enter()?;
            p.bump();
            let t = term(p)?;
            p.expect(&Tok::RParen)?;
            p.leave();
            Ok(t)
        }
        Tok::Value(_) => Ok(Term::Operand(Operand::Value(p.value()?))),
        Tok::Ident(name) if *p.peek_at(1) == Tok::LParen => call(p, &name),
        _ if p.at_path() => Ok(Term::Operand(Operand::Path(p.path()?))),
        _ => Err(p.syntax_error()),
    }
}
