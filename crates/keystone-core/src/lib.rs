//! keystone-core: the keystonedb storage engine and data model, in pure Rust.
//!
//! The public surface is this list; everything else is private to the crate.

mod batch;
mod commit;
mod db;
mod error;
mod item;
mod key;
mod lock;
mod manifest;
mod memtable;
mod options;
mod varint;
mod version;
mod wal;

pub use batch::{Keyspace, WriteBatch};
pub use db::Db;
pub use error::{Error, ErrorCode, Result};
pub use item::{decode_item, encode_item, Item, Value};
pub use key::{KeySchema, KeyType};
pub use options::{Durability, Options};

/// The keyspace of the default table.
pub const DEFAULT_TABLE_KEYSPACE: Keyspace = 1;
