//! PDF work for keiyaku: a strict, bounded, lazy reader and the upload check built on it
//! (sealing and verification will build on the same reader), and RFC 3161 time-stamping.

mod error;
mod lexer;
mod reader;
pub mod sample;
pub mod seal;
pub mod timestamp;
mod validate;

pub use error::PdfError;
pub use reader::{
    MAX_DECODED_STREAM, MAX_DECODED_TOTAL, MAX_OBJECT_NUMBER, MAX_SECTIONS, PdfReader, SectionKind,
    XrefEntry, XrefKind, XrefSection,
};
pub use timestamp::{FailureInfo, TimestampError, Token, TsaSigner};
pub use validate::{MAX_PAGE_TREE_NODES, MAX_PAGES, PdfInfo, inspect};
