//! PDF work for keiyaku: a strict, bounded, lazy reader; the upload check, PAdES sealing
//! (B-B, B-T, long-term form) and verification built on it; and RFC 3161 time-stamping.

mod cms_read;
mod crypto;
mod error;
mod lexer;
mod reader;
pub mod render;
#[cfg(any(test, feature = "test-support"))]
pub mod sample;
pub mod seal;
#[cfg(any(test, feature = "test-support"))]
pub mod tamper;
pub mod timestamp;
mod validate;
pub mod verify;

pub use error::PdfError;
pub use reader::{
    MAX_DECODED_STREAM, MAX_DECODED_TOTAL, MAX_OBJECT_NUMBER, MAX_SECTIONS, PdfReader, ReadBudget,
    SectionKind, XrefEntry, XrefKind, XrefSection,
};
pub use timestamp::{FailureInfo, TimestampError, Token, TsaSigner};
pub use validate::{MAX_PAGE_TREE_NODES, MAX_PAGES, PdfInfo, inspect};
