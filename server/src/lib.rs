//! The Charter process: configuration, the axum router with the console and its sessions, demo
//! data and start-up. `main.rs` only wires these together, so tests drive [`router::app`] directly.

pub mod api;
pub mod config;
pub mod demo;
pub mod router;

pub use config::Config;
pub use router::{app, Services};
