//! keystone-core: the keystonedb storage engine and data model, in pure Rust.
//!
//! The public surface is this list; everything else is private to the crate.

mod background;
mod batch;
mod commit;
mod compaction;
mod db;
mod error;
mod flush;
mod item;
mod key;
mod lock;
mod manifest;
mod memtable;
mod merge;
mod options;
mod range;
mod read;
mod recovery;
mod sst;
mod stats;
mod tables;
mod varint;
mod version;
mod wal;

pub use batch::{Keyspace, WriteBatch};
pub use db::Db;
pub use error::{Error, ErrorCode, Result};
pub use item::{decode_item, encode_item, Item, Value};
pub use key::{KeySchema, KeyType};
pub use options::{CompactionOptions, Durability, Options};
pub use sst::Compression;
pub use stats::{CompactionStats, Health, HealthStatus, Stats};

/// The keyspace of the default table.
pub const DEFAULT_TABLE_KEYSPACE: Keyspace = 1;
