//! One file per route.

pub mod approvals;
pub mod dashboard;
pub mod login;
pub mod not_found;
pub mod tenant;
pub mod tenants;
pub mod users;
