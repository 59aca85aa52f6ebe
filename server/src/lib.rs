//! The Charter process: configuration, the axum router with the console and its sessions, demo
//! data and start-up. `main.rs` only wires these together, so tests drive [`router::app`] directly.

// The console's view types nest deeply; rendering them on the server needs more than the default.
#![recursion_limit = "512"]

pub mod api;
pub mod balance;
pub mod body_limit;
pub mod client_address;
pub mod config;
pub mod csrf;
pub mod demo;
pub mod headers;
pub mod mcp;
pub mod metrics;
pub mod oauth;
pub mod router;

pub use config::Config;
pub use router::{app, Services, StartError};
