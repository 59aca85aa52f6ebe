//! One file per route.

pub mod approvals;
pub mod assistant;
pub mod audit;
pub mod consent;
pub mod dashboard;
pub mod insight;
pub mod keys;
pub mod login;
pub mod not_found;
pub mod policies;
pub mod policy_editor;
pub mod policy_import;
pub mod preview;
pub mod receipts;
pub mod releases;
pub mod tenant;
pub mod tenants;
pub mod tools;
pub mod users;
pub mod versions;
