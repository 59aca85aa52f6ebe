//! One file per route.

pub mod dashboard;
pub mod login;
pub mod not_found;
pub mod tenant;
pub mod tenants;
pub mod users;
