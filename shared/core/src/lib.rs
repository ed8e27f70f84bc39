//! keiyaku's domain: accounts, teams, documents and their rules, written against ports
//! (traits) that the local and AWS adapters implement. Nothing here names SQLite or AWS.

pub mod accounts;
pub mod answers;
pub mod clock;
pub mod config;
pub mod contract;
pub mod cpu;
pub mod delivery;
pub mod documents;
pub mod domain;
pub mod envelope;
pub mod error;
pub mod evidence;
pub mod failpoint;
pub mod followups;
pub mod housekeeping;
pub mod ids;
pub mod jobs;
pub mod listing;
pub mod mail;
pub mod notify;
pub mod ops;
pub mod parties;
pub mod password;
pub mod ports;
pub mod ratelimit;
pub mod recipients;
pub mod reminders;
pub mod routes;
pub mod scheduled;
pub mod sealing;
pub mod search;
pub mod services;
pub mod store;
pub mod tasks;
pub mod text;
pub mod uploads;
pub mod verification;

pub use error::{Error, Result};
pub use services::Services;
