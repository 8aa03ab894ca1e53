//! ExpressionAttributeNames and ExpressionAttributeValues of one request, and which of them its
//! expressions used.
//!
//! DynamoDB rejects a request whose maps hold a key that none of the request's expressions
//! (condition, update, key condition, filter, projection) mentions. Each parse records what it
//! resolved here; after parsing all of them the caller asks `check_unused`.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

use crate::error::{Error, Result};
use crate::item::Value;

/// The placeholders of one request. Not shared across threads: one request, one parse.
pub(crate) struct ExpressionAttributes<'a> {
    pub names: &'a HashMap<String, String>,
    pub values: &'a HashMap<String, Value>,
    used_names: RefCell<BTreeSet<String>>,
    used_values: RefCell<BTreeSet<String>>,
}

fn valid_key(key: &str, sigil: char) -> bool {
    key.strip_prefix(sigil)
        .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
}

impl<'a> ExpressionAttributes<'a> {
    pub fn new(names: &'a HashMap<String, String>, values: &'a HashMap<String, Value>) -> Self {
        ExpressionAttributes { names, values, used_names: RefCell::default(), used_values: RefCell::default() }
    }

    /// DynamoDB's checks on the maps themselves, before any expression is parsed.
    pub fn validate_keys(&self) -> Result<()> {
        let mut names: Vec<&String> = self.names.keys().collect();
        names.sort();
        if let Some(bad) = names.into_iter().find(|k| !valid_key(k, '#')) {
            return Err(Error::validation(format!(
                "ExpressionAttributeNames contains invalid key: Syntax error; key: \"{bad}\""
            )));
        }
        let mut values: Vec<&String> = self.values.keys().collect();
        values.sort();
        if let Some(bad) = values.into_iter().find(|k| !valid_key(k, ':')) {
            return Err(Error::validation(format!(
                "ExpressionAttributeValues contains invalid key: Syntax error; key: \"{bad}\""
            )));
        }
        Ok(())
    }

    /// The attribute name `#key` stands for, marking it used.
    pub(super) fn name(&self, key: &str) -> Option<String> {
        let v = self.names.get(key)?;
        self.used_names.borrow_mut().insert(key.to_string());
        Some(v.clone())
    }

    /// The value `:key` stands for, marking it used.
    pub(super) fn value(&self, key: &str) -> Option<Value> {
        let v = self.values.get(key)?;
        self.used_values.borrow_mut().insert(key.to_string());
        Some(v.clone())
    }

    /// DynamoDB's error for placeholders no expression of the request used (names first).
    pub fn check_unused(&self) -> Result<()> {
        let unused = |all: Vec<&String>, used: &BTreeSet<String>| -> Vec<String> {
            let mut v: Vec<String> = all.into_iter().filter(|k| !used.contains(*k)).cloned().collect();
            v.sort();
            v
        };
        let names = unused(self.names.keys().collect(), &self.used_names.borrow());
        if !names.is_empty() {
            return Err(Error::validation(format!(
                "Value provided in ExpressionAttributeNames unused in expressions: keys: {{{}}}",
                names.join(", ")
            )));
        }
        let values = unused(self.values.keys().collect(), &self.used_values.borrow());
        if !values.is_empty() {
            return Err(Error::validation(format!(
                "Value provided in ExpressionAttributeValues unused in expressions: keys: {{{}}}",
                values.join(", ")
            )));
        }
        Ok(())
    }
}
