//! keiyaku's core, in layers: `domain` (pure records and rules), `store` (repositories over
//! the ItemStore and the one key layout), `app` (the use cases), written against `ports`
//! (traits) that the local and AWS adapters implement. Nothing here names SQLite or AWS;
//! `tests/layers.rs` keeps the layers apart.

pub mod app;
pub mod clock;
pub mod config;
pub mod cpu;
pub mod delivery;
pub mod domain;
pub mod envelope;
pub mod error;
pub mod failpoint;
pub mod ids;
pub mod password;
pub mod ports;
pub mod ratelimit;
pub mod routes;
pub mod sealing;
pub mod services;
pub mod store;
pub mod text;

pub use error::{Error, Result};
pub use services::Services;
