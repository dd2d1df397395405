//! Tessera's IAM policies, kept pure: validating a client's policy JSON, and deciding one request
//! (action, resource SRN, context) against a principal's policies. No I/O and no actors here, so
//! every rule of the decision is unit-tested in isolation; the actors load the policies and call in.

pub mod catalog;
mod document;
mod evaluate;
mod glob;

pub use document::{
    validate, ConditionValue, Conditions, Effect, Operator, PolicyDocument, Statement, MAX_ENTRIES, MAX_STATEMENTS,
    MAX_STRING_BYTES,
};
pub use evaluate::{evaluate, evaluate_narrowed, explain, Decision, Explanation, Request, StatementAt};
pub use glob::glob_match;
