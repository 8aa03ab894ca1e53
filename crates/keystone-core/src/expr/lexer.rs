//! The expression lexer: text in, tokens with byte positions out.
//!
//! ```text
//! token      byte form                        note
//! Ident      [A-Za-z_][A-Za-z0-9_]*           attribute or function name; keywords split out below
//! Keyword    AND OR NOT BETWEEN IN            case-insensitive
//!            SET REMOVE ADD DELETE
//! Name       '#' [A-Za-z0-9_]+                an ExpressionAttributeNames key
//! Value      ':' [A-Za-z0-9_]+                an ExpressionAttributeValues key
//! Int        [0-9]+                           list indexes only
//! Eq Ne      '='  '<>'
//! Lt Le      '<'  '<='
//! Gt Ge      '>'  '>='
//! punct      ( ) [ ] , . + -
//! Eof                                         at the end of the text
//! ```
//!
//! Whitespace is space, tab, CR and LF. Any other byte is a syntax error that names it, the way
//! DynamoDB reports `Syntax error; token: "$", near: "a $ b"`.

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keyword {
    And,
    Or,
    Not,
    Between,
    In,
    Set,
    Remove,
    Add,
    Delete,
}

impl Keyword {
    fn from_ident(s: &str) -> Option<Keyword> {
        const ALL: [(&str, Keyword); 9] = [
            ("AND", Keyword::And),
            ("OR", Keyword::Or),
            ("NOT", Keyword::Not),
            ("BETWEEN", Keyword::Between),
            ("IN", Keyword::In),
            ("SET", Keyword::Set),
            ("REMOVE", Keyword::Remove),
            ("ADD", Keyword::Add),
            ("DELETE", Keyword::Delete),
        ];
        ALL.iter().find(|(k, _)| k.eq_ignore_ascii_case(s)).map(|&(_, kw)| kw)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    Ident(String),
    Keyword(Keyword),
    Name(String),
    Value(String),
    Int(String),
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    Plus,
    Minus,
    Eof,
}

/// A token and the byte range `start..end` of the text it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The text of `text[start..end]`, or "" when the range is not on character boundaries.
pub(crate) fn slice(text: &str, start: usize, end: usize) -> &str {
    text.get(start..end).unwrap_or("")
}

/// DynamoDB's syntax error: the offending token and the text around it, plus its byte offset
/// (which DynamoDB does not give, but which makes a long expression's error findable).
pub(crate) fn syntax_error(kind: &str, token: &str, near: &str, at: usize) -> Error {
    Error::validation(format!(
        "Invalid {kind}Expression: Syntax error; token: \"{token}\", near: \"{near}\", at byte {at}"
    ))
}

/// Splits `text` into tokens, ending with `Eof`. `kind` ("Condition", "Update", ...) prefixes errors.
pub(crate) fn tokenize(text: &str, kind: &str) -> Result<Vec<Token>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let start = i;
        let tok = match b {
            b' ' | b'\t' | b'\r' | b'\n' => {
                i += 1;
                continue;
            }
            b'#' | b':' => {
                i += 1;
                while bytes.get(i).is_some_and(|&c| is_ident_byte(c)) {
                    i += 1;
                }
                let name = slice(text, start, i).to_string();
                if i == start + 1 {
                    return Err(bad_char(text, kind, start));
                }
                if b == b'#' {
                    Tok::Name(name)
                } else {
                    Tok::Value(name)
                }
            }
            b'0'..=b'9' => {
                while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                }
                Tok::Int(slice(text, start, i).to_string())
            }
            c if is_ident_byte(c) => {
                while bytes.get(i).is_some_and(|&c| is_ident_byte(c)) {
                    i += 1;
                }
                let word = slice(text, start, i);
                match Keyword::from_ident(word) {
                    Some(kw) => Tok::Keyword(kw),
                    None => Tok::Ident(word.to_string()),
                }
            }
            b'<' => match bytes.get(i + 1) {
                Some(b'=') => {
                    i += 2;
                    Tok::Le
                }
                Some(b'>') => {
                    i += 2;
                    Tok::Ne
                }
                _ => {
                    i += 1;
                    Tok::Lt
                }
            },
            b'>' => {
                if bytes.get(i + 1) == Some(&b'=') {
                    i += 2;
                    Tok::Ge
                } else {
                    i += 1;
                    Tok::Gt
                }
            }
            _ => {
                let single = match b {
                    b'=' => Some(Tok::Eq),
                    b'(' => Some(Tok::LParen),
                    b')' => Some(Tok::RParen),
                    b'[' => Some(Tok::LBracket),
                    b']' => Some(Tok::RBracket),
                    b',' => Some(Tok::Comma),
                    b'.' => Some(Tok::Dot),
                    b'+' => Some(Tok::Plus),
                    b'-' => Some(Tok::Minus),
                    _ => None,
                };
                match single {
                    Some(t) => {
                        i += 1;
                        t
                    }
                    None => return Err(bad_char(text, kind, start)),
                }
            }
        };
        out.push(Token { tok, start, end: i });
    }
    out.push(Token { tok: Tok::Eof, start: text.len(), end: text.len() });
    Ok(out)
}

/// An unexpected character: the token is the whole UTF-8 character, "near" the surrounding words.
fn bad_char(text: &str, kind: &str, at: usize) -> Error {
    let ch = text.get(at..).and_then(|s| s.chars().next()).unwrap_or('?');
    let end = at + ch.len_utf8();
    let is_space = |c: char| c.is_ascii_whitespace();
    let before = text.get(..at).unwrap_or("");
    let near_start = before.trim_end_matches(is_space).rfind(is_space).map_or(0, |p| p + 1);
    let after = text.get(end..).unwrap_or("");
    let after_trimmed = after.trim_start_matches(is_space);
    let skipped = after.len() - after_trimmed.len();
    let near_end = end + skipped + after_trimmed.find(is_space).unwrap_or(after_trimmed.len());
    let near = text.get(near_start..near_end).unwrap_or("");
    syntax_error(kind, &ch.to_string(), near, at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<Tok> {
        tokenize(text, "Condition").map(|v| v.into_iter().map(|t| t.tok).collect()).unwrap_or_default()
    }

    #[test]
    fn operators_and_placeholders_tokenize_with_positions() {
        let toks = tokenize("#a.b[10] <= :v", "Condition").unwrap_or_default();
        let spans: Vec<(usize, usize)> = toks.iter().map(|t| (t.start, t.end)).collect();
        assert_eq!(spans, vec![(0, 2), (2, 3), (3, 4), (4, 5), (5, 7), (7, 8), (9, 11), (12, 14), (14, 14)]);
        assert_eq!(kinds("a<>b"), vec![Tok::Ident("a".into()), Tok::Ne, Tok::Ident("b".into()), Tok::Eof]);
    }

    #[test]
    fn keywords_are_case_insensitive() {
        assert_eq!(kinds("aNd"), vec![Tok::Keyword(Keyword::And), Tok::Eof]);
        assert_eq!(kinds("Between"), vec![Tok::Keyword(Keyword::Between), Tok::Eof]);
        assert_eq!(kinds("android"), vec![Tok::Ident("android".into()), Tok::Eof]);
    }

    #[test]
    fn stray_character_is_a_syntax_error_naming_it() {
        let msg = tokenize("a $ b", "Condition").err().map(|e| e.message().to_string()).unwrap_or_default();
        assert!(msg.contains("token: \"$\", near: \"a $ b\", at byte 2"), "{msg}");
        let msg = tokenize("a = é", "Condition").err().map(|e| e.message().to_string()).unwrap_or_default();
        assert!(msg.contains("token: \"é\""), "{msg}");
        assert!(tokenize("# = :v", "Update").is_err());
    }
}
