//! Why a PDF was refused: a stable code for clients, a plain message for people, and the
//! internal detail kept apart for logs.

use lopdf::ObjectId;

/// A PDF that the strict reader refuses, or a limit it would exceed.
///
/// `Display` is the user-facing message and carries no parser detail; [`PdfError::detail`]
/// is the cause worth logging.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PdfError {
    /// The file has no bytes at all.
    #[error("The file is empty.")]
    Empty,
    /// The file does not start with a PDF header.
    #[error("The file is not a PDF.")]
    NotPdf,
    /// The end of the file (`startxref` … `%%EOF`) is missing: the upload was cut short.
    #[error("The PDF is incomplete; it may have been cut short during upload.")]
    Truncated,
    /// The file is encrypted or password-protected.
    #[error("The PDF is encrypted or password-protected; upload an unprotected copy.")]
    Encrypted,
    /// A certification signature (DocMDP, P=1) forbids any change, so it cannot be sealed.
    #[error("The PDF is certified with no changes allowed, so it cannot be sealed.")]
    CertifiedNoChanges,
    /// The cross-reference table or trailer is damaged.
    #[error("The PDF is damaged: its cross-reference table is invalid.")]
    BrokenXref(String),
    /// An object the reader needed is damaged.
    #[error("The PDF is damaged: an object in it is invalid.")]
    BrokenObject {
        /// The object being read.
        id: ObjectId,
        /// What was wrong with it.
        reason: String,
    },
    /// The catalog or page tree is damaged.
    #[error("The PDF is damaged: its page structure is invalid.")]
    BrokenPageTree(String),
    /// The document has no pages.
    #[error("The PDF has no pages.")]
    NoPages,
    /// The file is beyond a limit the service sets (size, nesting, counts).
    #[error("The PDF is too complex to be accepted.")]
    LimitExceeded(String),
}

impl PdfError {
    /// A stable snake_case code that the HTTP layer returns to clients.
    pub fn code(&self) -> &'static str {
        match self {
            PdfError::Empty => "empty_file",
            PdfError::NotPdf => "not_a_pdf",
            PdfError::Truncated => "truncated_pdf",
            PdfError::Encrypted => "encrypted_pdf",
            PdfError::CertifiedNoChanges => "certified_no_changes",
            PdfError::BrokenXref(_) => "broken_xref",
            PdfError::BrokenObject { .. } => "broken_object",
            PdfError::BrokenPageTree(_) => "broken_page_tree",
            PdfError::NoPages => "no_pages",
            PdfError::LimitExceeded(_) => "pdf_limit_exceeded",
        }
    }

    /// The internal cause, for logs only (it names offsets and objects).
    pub fn detail(&self) -> String {
        match self {
            PdfError::BrokenXref(why)
            | PdfError::BrokenPageTree(why)
            | PdfError::LimitExceeded(why) => why.clone(),
            PdfError::BrokenObject { id, reason } => format!("object {} {}: {reason}", id.0, id.1),
            other => other.to_string(),
        }
    }

    pub(crate) fn object(id: ObjectId, reason: impl Into<String>) -> Self {
        PdfError::BrokenObject {
            id,
            reason: reason.into(),
        }
    }

    pub(crate) fn xref(reason: impl Into<String>) -> Self {
        PdfError::BrokenXref(reason.into())
    }

    pub(crate) fn limit(reason: impl Into<String>) -> Self {
        PdfError::LimitExceeded(reason.into())
    }

    pub(crate) fn tree(reason: impl Into<String>) -> Self {
        PdfError::BrokenPageTree(reason.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_and_messages_hide_detail() {
        let cases = [
            (PdfError::Empty, "empty_file"),
            (PdfError::NotPdf, "not_a_pdf"),
            (PdfError::Truncated, "truncated_pdf"),
            (PdfError::Encrypted, "encrypted_pdf"),
            (PdfError::xref("offset 99 outside"), "broken_xref"),
            (PdfError::object((3, 0), "bad /Length"), "broken_object"),
            (PdfError::tree("cycle at 2 0"), "broken_page_tree"),
            (PdfError::NoPages, "no_pages"),
            (PdfError::limit("depth"), "pdf_limit_exceeded"),
        ];
        for (error, code) in cases {
            assert_eq!(error.code(), code);
            let shown = error.to_string();
            assert!(
                !shown.contains("offset") && !shown.contains("3 0"),
                "{shown}"
            );
        }
        assert_eq!(
            PdfError::object((3, 0), "bad /Length").detail(),
            "object 3 0: bad /Length"
        );
    }
}
