//! keystone-core: the keystonedb storage engine and data model, in pure Rust.
//!
//! The public surface is this list; everything else is private to the crate.

mod background;
mod batch;
mod catalog;
mod commit;
mod compaction;
mod db;
mod error;
mod expr;
mod fast_put;
mod flush;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
mod item;
mod item_size;
mod items;
mod key;
mod lock;
mod manifest;
mod memtable;
mod merge;
mod number;
mod options;
mod query;
mod range;
mod read;
mod recovery;
mod sst;
mod stats;
mod tables;
#[cfg(test)]
mod test_alloc;
mod transact;
mod varint;
mod verify;
mod version;
#[doc(hidden)]
pub mod vfs;
mod wal;

pub use batch::{Keyspace, WriteBatch};
pub use catalog::{TableDef, DEFAULT_TABLE};
pub use db::Db;
pub use db::ReadCheck;
pub use error::{Error, ErrorCode, Result};
pub use item::{decode_item, encode_item, Item, Value};
pub use items::{BatchGet, ItemWrites, ReturnValues, UpdateRequest, WriteOp, WriteOutcome, WriteRequest};
pub use key::{KeyAttribute, KeySchema, KeyType};
pub use options::{CompactionOptions, Durability, Options};
pub use query::{Page, QueryRequest, ReadRequest, ScanRequest, Select};
pub use sst::Compression;
pub use stats::{CompactionStats, Health, HealthStatus, Stats};
pub use transact::{TxAction, TxGet, TxKind, TxOutcome, TxReason};
pub use verify::VerifyReport;
