//! PDF work for keiyaku: a strict, bounded, lazy reader and the upload check built on it
//! (sealing and verification will build on the same reader).

mod error;
mod lexer;
mod reader;
pub mod sample;
mod validate;

pub use error::PdfError;
pub use reader::{
    MAX_DECODED_STREAM, MAX_DECODED_TOTAL, MAX_OBJECT_NUMBER, MAX_SECTIONS, PdfReader, SectionKind,
    XrefEntry, XrefKind, XrefSection,
};
pub use validate::{MAX_PAGE_TREE_NODES, MAX_PAGES, PdfInfo, inspect};
