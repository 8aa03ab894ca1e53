//! The recursive-descent parser shared by all expression kinds: token cursor, document paths,
//! placeholders, and DynamoDB's error reporting.
//!
//! Grammar (tokens as in `lexer.rs`; keywords case-insensitive, function names case-sensitive):
//!
//! ```text
//! condition   := or
//! or          := and ( OR and )*
//! and         := not ( AND not )*
//! not         := NOT not | primary
//! primary     := '(' or ')' [ tail ]            -- a parenthesized operand continues into `tail`
//!              | operand tail
//!              | cond-func '(' args ')'
//! tail        := comparator operand
//!              | BETWEEN operand AND operand
//!              | IN '(' operand ( ',' operand )* ')'        -- at most 100 candidates
//! comparator  := '=' | '<>' | '<' | '<=' | '>' | '>='
//! operand     := path | ':value' | 'size' '(' path ')' | '(' operand ')'
//! cond-func   := attribute_exists(path) | attribute_not_exists(path) | attribute_type(path, :type)
//!              | begins_with(operand, operand) | contains(operand, operand)
//!
//! update      := section+                        -- each of SET REMOVE ADD DELETE at most once
//! section     := SET path '=' set-value ( ',' path '=' set-value )*
//!              | REMOVE path ( ',' path )*
//!              | ADD path ':value' ( ',' path ':value' )*
//!              | DELETE path ':value' ( ',' path ':value' )*
//! set-value   := term [ ( '+' | '-' ) term ] | '(' set-value ')'
//! term        := path | ':value' | '(' term ')'
//!              | if_not_exists '(' path ',' term ')' | list_append '(' term ',' term ')'
//!
//! projection  := path ( ',' path )*
//! key-cond    := condition restricted to: pk = :v [ AND sort-cond ]  (see key_condition.rs)
//!
//! path        := name ( '.' name | '[' integer ']' )*
//! name        := identifier (not a reserved word) | '#name'
//! ```
//!
//! Precedence, tightest first: comparators/IN/BETWEEN/functions, NOT, AND, OR.
//!
//! Errors: a syntax error is returned at once, naming the token, the text near it and its byte
//! offset. Semantic errors (reserved word, undefined placeholder, bad function use, overlapping
//! paths...) are only reported if the whole text parses, and then in DynamoDB's order of
//! precedence (`Rank`), so the user sees the same error DynamoDB would give first.

use crate::error::{Error, Result};
use crate::item::Value;

use super::ast::{Path, PathElem};
use super::attributes::ExpressionAttributes;
use super::lexer::{slice, syntax_error, tokenize, Tok, Token};
use super::reserved::is_reserved;

/// DynamoDB's limit on the length of one expression, in bytes.
pub(super) const MAX_EXPRESSION_BYTES: usize = 4096;
/// Parentheses and NOTs nested deeper than this are rejected, so no input can exhaust the stack.
const MAX_NESTING: usize = 128;

/// The order in which DynamoDB reports semantic errors: lower first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Rank {
    Parens,
    UnknownFunction,
    MisusedFunction,
    Reserved,
    Section,
    Name,
    Value,
    OperandCount,
    Overlap,
    Conflict,
    Distinct,
    Type,
}

static EOF: Tok = Tok::Eof;

pub(super) struct Parser<'t, 'a> {
    pub text: &'t str,
    /// "Condition", "Update", "Projection", "KeyCondition", "Filter": the error prefix.
    pub kind: &'static str,
    toks: Vec<Token>,
    pub pos: usize,
    attrs: &'a ExpressionAttributes<'a>,
    deferred: Option<(Rank, String)>,
    depth: usize,
}

impl<'t, 'a> Parser<'t, 'a> {
    pub fn new(text: &'t str, kind: &'static str, attrs: &'a ExpressionAttributes<'a>) -> Result<Self> {
        let p = |msg: String| Error::validation(format!("Invalid {kind}Expression: {msg}"));
        if text.trim_matches(|c: char| c.is_ascii_whitespace()).is_empty() {
            return Err(p("The expression can not be empty;".into()));
        }
        if text.len() > MAX_EXPRESSION_BYTES {
            return Err(p(format!(
                "Expression size has exceeded the maximum allowed size; expression size: {}",
                text.len()
            )));
        }
        let toks = tokenize(text, kind)?;
        Ok(Parser { text, kind, toks, pos: 0, attrs, deferred: None, depth: 0 })
    }

    pub fn peek(&self) -> &Tok {
        self.peek_at(0)
    }

    pub fn peek_at(&self, n: usize) -> &Tok {
        self.toks.get(self.pos + n).map_or(&EOF, |t| &t.tok)
    }

    pub fn bump(&mut self) -> Tok {
        let t = self.peek().clone();
        if self.pos < self.toks.len() {
            self.pos += 1;
        }
        t
    }

    pub fn eat(&mut self, t: &Tok) -> bool {
        if self.peek() == t {
            self.bump();
            true
        } else {
            false
        }
    }

    pub fn expect(&mut self, t: &Tok) -> Result<()> {
        if self.eat(t) {
            Ok(())
        } else {
            Err(self.syntax_error())
        }
    }

    /// A syntax error at the current token.
    pub fn syntax_error(&self) -> Error {
        self.syntax_error_at(self.pos)
    }

    pub fn syntax_error_at(&self, ix: usize) -> Error {
        let Some(tok) = self.toks.get(ix) else {
            return syntax_error(self.kind, "<EOF>", "", self.text.len());
        };
        let token = if tok.tok == Tok::Eof { "<EOF>" } else { slice(self.text, tok.start, tok.end) };
        let start = ix.checked_sub(1).and_then(|p| self.toks.get(p)).map_or(tok.start, |t| t.start);
        let end = self.toks.get(ix + 1).map_or(tok.end, |t| t.end).max(tok.end);
        syntax_error(self.kind, token, slice(self.text, start, end), tok.start)
    }

    /// An error with this expression kind's prefix.
    pub fn error(&self, msg: impl AsRef<str>) -> Error {
        Error::validation(format!("Invalid {}Expression: {}", self.kind, msg.as_ref()))
    }

    /// Records a semantic error, to be reported if the text turns out to be syntactically valid.
    pub fn defer(&mut self, rank: Rank, msg: impl Into<String>) {
        if self.deferred.as_ref().is_none_or(|(r, _)| rank < *r) {
            self.deferred = Some((rank, msg.into()));
        }
    }

    /// Ends a parse: the text must be used up, then the first deferred error (if any) is returned.
    pub fn finish<T>(mut self, v: T) -> Result<T> {
        if *self.peek() != Tok::Eof {
            return Err(self.syntax_error());
        }
        match self.deferred.take() {
            Some((_, msg)) => Err(self.error(msg)),
            None => Ok(v),
        }
    }

    /// Guards recursion: call before descending into a parenthesis or NOT, `leave` after.
    pub fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(self.error(format!("The expression is nested more than {MAX_NESTING} levels deep")));
        }
        Ok(())
    }

    pub fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// True if the current token can start a document path.
    pub fn at_path(&self) -> bool {
        matches!(self.peek(), Tok::Ident(_) | Tok::Name(_))
    }

    /// `path := name ( '.' name | '[' integer ']' )*`
    pub fn path(&mut self) -> Result<Path> {
        let mut elements = vec![PathElem::Name(self.name()?)];
        loop {
            match self.peek() {
                Tok::Dot => {
                    self.bump();
                    elements.push(PathElem::Name(self.name()?));
                }
                Tok::LBracket => {
                    self.bump();
                    let Tok::Int(digits) = self.peek().clone() else {
                        return Err(self.syntax_error());
                    };
                    let Ok(ix) = digits.parse::<u32>() else {
                        return Err(self.syntax_error());
                    };
                    self.bump();
                    self.expect(&Tok::RBracket)?;
                    elements.push(PathElem::Index(ix));
                }
                _ => return Ok(Path { elements }),
            }
        }
    }

    fn name(&mut self) -> Result<String> {
        match self.peek().clone() {
            Tok::Ident(word) => {
                self.bump();
                if is_reserved(&word) {
                    self.defer(
                        Rank::Reserved,
                        format!("Attribute name is a reserved keyword; reserved keyword: {word}"),
                    );
                }
                Ok(word)
            }
            Tok::Name(key) => {
                self.bump();
                Ok(self.attrs.name(&key).unwrap_or_else(|| {
                    self.defer(
                        Rank::Name,
                        format!("An expression attribute name used in the document path is not defined; attribute name: {key}"),
                    );
                    key
                }))
            }
            _ => Err(self.syntax_error()),
        }
    }

    /// The value of the `:value` placeholder at the cursor.
    pub fn value(&mut self) -> Result<Value> {
        let Tok::Value(key) = self.peek().clone() else {
            return Err(self.syntax_error());
        };
        self.bump();
        Ok(self.attrs.value(&key).unwrap_or_else(|| {
            self.defer(
                Rank::Value,
                format!("An expression attribute value used in expression is not defined; attribute value: {key}"),
            );
            Value::Null
        }))
    }
}

/// Checks a set of written (or projected) paths pairwise: one may not be a prefix of another
/// ("overlap"), nor may they disagree on map key vs list index at the same depth ("conflict").
pub(super) fn check_paths(p: &mut Parser<'_, '_>, paths: &[&Path]) {
    for (i, a) in paths.iter().enumerate() {
        for b in paths.iter().skip(i + 1) {
            let mut diverged = false;
            for (x, y) in a.elements.iter().zip(&b.elements) {
                match (x, y) {
                    (PathElem::Name(_), PathElem::Index(_)) | (PathElem::Index(_), PathElem::Name(_)) => {
                        p.defer(
                            Rank::Conflict,
                            format!("Two document paths conflict with each other; must remove or rewrite one of these paths; path one: {a}, path two: {b}"),
                        );
                        diverged = true;
                        break;
                    }
                    _ if x != y => {
                        diverged = true;
                        break;
                    }
                    _ => {}
                }
            }
            if !diverged {
                p.defer(
                    Rank::Overlap,
                    format!("Two document paths overlap with each other; must remove or rewrite one of these paths; path one: {a}, path two: {b}"),
                );
            }
        }
    }
}
