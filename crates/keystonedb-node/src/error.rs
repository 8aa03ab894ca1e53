//! Every engine error reaches JavaScript here, as a JS `Error` whose message starts with the
//! stable code: `"<Code>: <message>"`. `src/errors.ts` turns that prefix into the matching
//! `KeystoneError` subclass. (napi-rs async tasks can only reject with its own `Status` codes,
//! so the code travels in the message, in one agreed shape.)

use keystone_core::{Error, ErrorCode};

pub fn to_napi(err: Error) -> napi::Error {
    napi::Error::new(napi::Status::GenericFailure, err.to_string())
}

/// A request the binding rejects before it reaches the engine.
pub fn validation(message: impl Into<String>) -> napi::Error {
    to_napi(Error::new(ErrorCode::Validation, message))
}

pub fn closed() -> napi::Error {
    to_napi(Error::new(ErrorCode::Closed, "the database is closed"))
}

/// A failure of the binding's own machinery (a thread the OS would not start), as `Io`.
pub fn io(message: impl Into<String>) -> napi::Error {
    to_napi(Error::new(ErrorCode::Io, message))
}
