//! Errors of the engine. Each variant has a stable [`ErrorCode`] that the binding passes to
//! JavaScript unchanged, so a user can branch on `err.code`.

use std::fmt;
use std::io;

/// Stable, user-facing error codes. The string form is part of the public API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The request is malformed: wrong key, wrong type, limit exceeded.
    Validation,
    /// The item is larger than DynamoDB's 400 KB limit.
    ItemTooLarge,
    /// `create` on a path that already holds a database.
    AlreadyExists,
    /// `open` on a path that holds no database.
    NotFound,
    /// Another process holds the database's lock.
    Locked,
    /// The database was closed.
    Closed,
    /// A checksum or structural check failed: the data on disk is damaged.
    Corruption,
    /// The operating system refused an operation.
    Io,
    /// An earlier fsync failed; writes are refused until the database is reopened.
    Poisoned,
    /// The table does not exist.
    ResourceNotFound,
    /// The table already exists.
    ResourceInUse,
    /// An item changed between the read and the write of a read-modify-write, too often to
    /// retry (DynamoDB's TransactionConflict).
    TransactionConflict,
    /// A clientRequestToken was reused for a different transaction within 10 minutes.
    IdempotentParameterMismatch,
}

impl ErrorCode {
    /// The code as the string JavaScript sees in `err.code`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Validation => "Validation",
            ErrorCode::ItemTooLarge => "ItemTooLarge",
            ErrorCode::AlreadyExists => "AlreadyExists",
            ErrorCode::NotFound => "NotFound",
            ErrorCode::Locked => "Locked",
            ErrorCode::Closed => "Closed",
            ErrorCode::Corruption => "Corruption",
            ErrorCode::Io => "Io",
            ErrorCode::Poisoned => "Poisoned",
            ErrorCode::ResourceNotFound => "ResourceNotFound",
            ErrorCode::ResourceInUse => "ResourceInUse",
            ErrorCode::TransactionConflict => "TransactionConflict",
            ErrorCode::IdempotentParameterMismatch => "IdempotentParameterMismatch",
        }
    }
}

/// An engine error: a code and a message that says what happened and, where it helps, what to do.
#[derive(Debug, thiserror::Error)]
pub struct Error {
    code: ErrorCode,
    message: String,
    #[source]
    source: Option<io::Error>,
}

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error { code, message: message.into(), source: None }
    }

    /// An I/O failure while doing `what` (e.g. "writing wal_000001.log").
    pub fn io(what: impl fmt::Display, err: io::Error) -> Self {
        Error { code: ErrorCode::Io, message: format!("{what}: {err}"), source: Some(err) }
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Error::new(ErrorCode::Validation, message)
    }

    pub fn corruption(message: impl Into<String>) -> Self {
        Error::new(ErrorCode::Corruption, message)
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// User text quoted in a message: cut to this many characters.
const MAX_QUOTED_CHARS: usize = 64;

/// User text for a message, cut short if long.
pub(crate) fn quoted(text: &str) -> String {
    if text.chars().count() <= MAX_QUOTED_CHARS {
        text.to_string()
    } else {
        let head: String = text.chars().take(MAX_QUOTED_CHARS).collect();
        format!("{head}…")
    }
}
