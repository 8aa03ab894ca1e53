//! DynamoDB's expression language: condition, filter, update, projection and key-condition
//! expressions: parsing (with DynamoDB's error messages) and evaluation against items.
//!
//! Parse each expression of a request with the request's [`ExpressionAttributes`], then call
//! [`ExpressionAttributes::check_unused`]: DynamoDB rejects placeholders that no expression used.
#![allow(dead_code, unused_imports, reason = "used by the data-model layer being wired in")]

mod ast;
mod attributes;
mod condition_functions;
mod condition_parser;
mod eval;
mod key_condition;
mod lexer;
mod parser;
mod projection;
mod reserved;
mod update;
mod update_parser;
mod value_order;

#[cfg(test)]
mod corpus_json;
#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod fuzz_tests;

pub(crate) use ast::{
    Comparator, Condition, KeyCondition, Operand, Path, PathElem, Projection, SetValue, SortKeyCondition, TypeName,
    Update, UpdateOperand,
};
pub(crate) use attributes::ExpressionAttributes;
pub(crate) use condition_parser::{parse_condition, parse_filter};
pub(crate) use eval::{eval_condition, resolve};
pub(crate) use key_condition::parse_key_condition;
pub(crate) use projection::project;
pub(crate) use update::{apply_update, UpdateEffect};
pub(crate) use update_parser::{parse_projection, parse_update};
