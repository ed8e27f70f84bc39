//! The local shape: SQLite, a blob folder, a key file and a maildir behind keiyaku's ports,
//! and the all-in-one server that `cargo run --release` starts.

pub mod blobs;
pub mod cli;
pub mod items;
pub mod keys;
pub mod listen;
pub mod mailer;
pub mod pki;
pub mod remote_tsa;
pub mod revocation;
pub mod scheduler;
pub mod sealing;
pub mod server;

#[cfg(test)]
mod contract_tests;

pub use blobs::FolderBlobStore;
pub use items::SqliteItemStore;
pub use keys::KeyFile;
pub use mailer::Maildir;
