//! The table catalog: which tables exist, their key schemas and keyspaces. It lives in the
//! metadata keyspace (0), written through the WAL like any data, so creating or deleting a
//! table is atomic and durable; the engine loads it at open.
//!
//! ```text
//! metadata key "table/<name>"  → table def
//! table def := version:u8 (= 1) | keyspace:u32 LE | created_at_ms:u64 LE
//!              | varint len | partition key name | partition type:u8 ('S' 'N' 'B')
//!              | has_sort:u8 [| varint len | sort key name | sort type:u8]
//! metadata key "next-keyspace" → u32 LE: the next keyspace to give a table (never reused)
//! ```
//!
//! Keyspace 1 is the default table's (databases made before the catalog existed keep their
//! data there).
//!
//! Concurrency contract: the map is read under a read lock by every item operation; creating
//! and deleting tables serialize on `Catalog::changes`, which also orders keyspace allocation.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use crate::batch::{Keyspace, WriteBatch};
use crate::db::Db;
use crate::error::{Error, ErrorCode, Result};
use crate::key::{KeyAttribute, KeySchema, KeyType};
use crate::varint::{put_u64, Reader};

pub const METADATA_KEYSPACE: Keyspace = 0;
pub const DEFAULT_TABLE: &str = "default";
pub const DEFAULT_TABLE_KEYSPACE: Keyspace = 1;
const TABLE_PREFIX: &[u8] = b"table/";
const NEXT_KEYSPACE: &[u8] = b"next-keyspace";

/// A table as the catalog records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDef {
    pub name: String,
    pub keyspace: Keyspace,
    pub key: KeySchema,
    pub created_at_ms: u64,
}

fn type_byte(t: KeyType) -> u8 {
    t.as_str().as_bytes().first().copied().unwrap_or(b'S')
}

fn type_from(b: u8) -> Result<KeyType> {
    KeyType::parse(std::str::from_utf8(&[b]).unwrap_or("?")).map_err(|_| Error::corruption("catalog: bad key type"))
}

impl TableDef {
    fn encode(&self) -> Vec<u8> {
        let mut out = vec![1u8];
        out.extend_from_slice(&self.keyspace.to_le_bytes());
        out.extend_from_slice(&self.created_at_ms.to_le_bytes());
        let attr = |a: &KeyAttribute, out: &mut Vec<u8>| {
            put_u64(out, a.name.len() as u64);
            out.extend_from_slice(a.name.as_bytes());
            out.push(type_byte(a.key_type));
        };
        attr(&self.key.partition, &mut out);
        match &self.key.sort {
            Some(s) => {
                out.push(1);
                attr(s, &mut out);
            }
            None => out.push(0),
        }
        out
    }

    fn decode(name: &str, buf: &[u8]) -> Result<TableDef> {
        let mut r = Reader::new(buf, "catalog entry");
        if r.u8()? != 1 {
            return Err(Error::corruption(format!("catalog entry of table {name} has an unknown version")));
        }
        let keyspace = r.u32_le()?;
        let created_at_ms = r.u64_le()?;
        let attr = |r: &mut Reader<'_>| -> Result<KeyAttribute> {
            let n =
                String::from_utf8(r.len_prefixed()?.to_vec()).map_err(|_| Error::corruption("catalog: bad name"))?;
            Ok(KeyAttribute { name: n, key_type: type_from(r.u8()?)? })
        };
        let partition = attr(&mut r)?;
        let sort = if r.u8()? == 1 { Some(attr(&mut r)?) } else { None };
        Ok(TableDef { name: name.to_string(), keyspace, key: KeySchema { partition, sort }, created_at_ms })
    }
}

/// DynamoDB's rule for table names: 3 to 255 of `a-z A-Z 0-9 _ - .`.
pub fn check_table_name(name: &str) -> Result<()> {
    let ok_chars = name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
    if !(3..=255).contains(&name.len()) || !ok_chars {
        return Err(Error::validation(format!(
            "table name '{name}' is invalid: use 3 to 255 letters, digits, '_', '-' or '.'"
        )));
    }
    Ok(())
}

fn check_attribute_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 255 {
        return Err(Error::validation(format!("key attribute name '{name}' must be 1 to 255 bytes long")));
    }
    Ok(())
}

pub struct Catalog {
    tables: RwLock<BTreeMap<String, Arc<TableDef>>>,
    changes: Mutex<()>,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

impl Catalog {
    /// Reads the catalog; creates the default table with `default_key` if there is none.
    pub fn load(db: &Db, default_key: Option<&KeySchema>) -> Result<Catalog> {
        let mut tables = BTreeMap::new();
        let start = Bound::Included(TABLE_PREFIX);
        let end = crate::key::prefix_successor(TABLE_PREFIX);
        let end = end.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
        for entry in db.inner().range(METADATA_KEYSPACE, start, end)? {
            let (key, value) = entry?;
            let name = String::from_utf8_lossy(key.get(TABLE_PREFIX.len()..).unwrap_or_default()).into_owned();
            let def = TableDef::decode(&name, &value)?;
            tables.insert(name, Arc::new(def));
        }
        let catalog = Catalog { tables: RwLock::new(tables), changes: Mutex::new(()) };
        match catalog.get(DEFAULT_TABLE) {
            Ok(existing) => {
                if let Some(wanted) = default_key {
                    if *wanted != existing.key {
                        return Err(Error::validation(format!(
                            "the database's default table has the key {}, not {}",
                            existing.key.describe(),
                            wanted.describe()
                        )));
                    }
                }
            }
            Err(_) => {
                let key = default_key.cloned().unwrap_or_else(KeySchema::default_table);
                catalog.insert(db, DEFAULT_TABLE, key, Some(DEFAULT_TABLE_KEYSPACE))?;
            }
        }
        Ok(catalog)
    }

    pub fn get(&self, name: &str) -> Result<Arc<TableDef>> {
        self.tables
            .read()
            .get(name)
            .cloned()
            .ok_or_else(|| Error::new(ErrorCode::ResourceNotFound, format!("table '{name}' does not exist")))
    }

    pub fn names(&self) -> Vec<String> {
        self.tables.read().keys().cloned().collect()
    }

    pub fn create(&self, db: &Db, name: &str, key: KeySchema) -> Result<Arc<TableDef>> {
        check_table_name(name)?;
        check_attribute_name(&key.partition.name)?;
        if let Some(s) = &key.sort {
            check_attribute_name(&s.name)?;
            if s.name == key.partition.name {
                return Err(Error::validation("the sort key must be a different attribute from the partition key"));
            }
        }
        self.insert(db, name, key, None)
    }

    fn insert(&self, db: &Db, name: &str, key: KeySchema, keyspace: Option<Keyspace>) -> Result<Arc<TableDef>> {
        let _one_at_a_time = self.changes.lock();
        if self.tables.read().contains_key(name) {
            return Err(Error::new(ErrorCode::ResourceInUse, format!("table '{name}' already exists")));
        }
        let mut batch = WriteBatch::new();
        let keyspace = match keyspace {
            Some(k) => k,
            None => {
                let next = match db.get(METADATA_KEYSPACE, NEXT_KEYSPACE)? {
                    Some(v) => u32::from_le_bytes(
                        v.as_slice().try_into().map_err(|_| Error::corruption("catalog: bad next-keyspace"))?,
                    ),
                    None => DEFAULT_TABLE_KEYSPACE + 1,
                };
                batch.put(METADATA_KEYSPACE, NEXT_KEYSPACE.to_vec(), (next + 1).to_le_bytes().to_vec());
                next
            }
        };
        let def = TableDef { name: name.to_string(), keyspace, key, created_at_ms: now_ms() };
        batch.put(METADATA_KEYSPACE, [TABLE_PREFIX, name.as_bytes()].concat(), def.encode());
        db.write(batch, None)?;
        let def = Arc::new(def);
        self.tables.write().insert(name.to_string(), Arc::clone(&def));
        Ok(def)
    }

    /// Removes the table from the catalog and deletes its items.
    pub fn delete(&self, db: &Db, name: &str) -> Result<Arc<TableDef>> {
        let _one_at_a_time = self.changes.lock();
        let def = self.get(name)?;
        if name == DEFAULT_TABLE {
            return Err(Error::validation("the default table cannot be deleted"));
        }
        let mut batch = WriteBatch::new();
        batch.delete(METADATA_KEYSPACE, [TABLE_PREFIX, name.as_bytes()].concat());
        db.write(batch, None)?;
        self.tables.write().remove(name);
        // The keyspace is never given out again, so what remains of it is unreachable; delete
        // it so the space comes back at the next compaction.
        let mut batch = WriteBatch::new();
        for entry in db.inner().range(def.keyspace, Bound::Unbounded, Bound::Unbounded)? {
            batch.delete(def.keyspace, entry?.0);
            if batch.len() >= 1000 {
                db.write(std::mem::take(&mut batch), Some(crate::Durability::None))?;
            }
        }
        db.write(batch, None)?;
        Ok(def)
    }
}
