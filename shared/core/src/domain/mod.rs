//! The domain: keiyaku's records and their rules, pure and synchronous (no ports, no I/O),
//! so each rule is tested on its own. The store keeps these records; the use cases change
//! them.

pub mod answer;
pub mod audit;
pub mod document;
pub mod party;
pub mod seal;
pub mod team;
pub mod two_factor;
pub mod user;
