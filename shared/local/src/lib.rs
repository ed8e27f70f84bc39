//! The local shape's adapters: SQLite, a blob folder, a key file, a maildir (and SMTP), a
//! timer table, the local CA and TSA, behind keiyaku's ports. The `keiyaku` binary
//! (`shared/server`) composes them into the all-in-one server.

pub mod blobs;
pub mod items;
pub mod keys;
pub mod mailer;
pub mod pki;
pub mod revocation;
pub mod scheduler;
pub mod sealing;
pub mod staging;

#[cfg(test)]
mod contract_tests;

pub use blobs::FolderBlobStore;
pub use items::SqliteItemStore;
pub use keys::KeyFile;
pub use mailer::Maildir;
