//! The domain's one error type. The HTTP layer maps it to a status and a JSON body in one
//! place; `Internal` carries a cause that is logged, never shown to the caller.

use std::time::Duration;

/// Result with the domain error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, in the caller's terms. `code` strings are a stable API.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed or a value breaks a rule.
    #[error("{message}")]
    Invalid {
        /// The stable code clients choose their words by.
        code: &'static str,
        /// What happened, for a person (never a cause from inside).
        message: String,
        /// The field, as a JSON path into the request (`recipients[2].email`).
        field: Option<std::borrow::Cow<'static, str>>,
    },
    /// Well-formed, but the content cannot be accepted (e.g. not a sealable PDF).
    #[error("{message}")]
    Unprocessable {
        /// The stable code clients choose their words by.
        code: String,
        /// What happened, for a person (never a cause from inside).
        message: String,
    },
    /// Not authenticated (no session, expired session, wrong password).
    #[error("{message}")]
    Unauthorized {
        /// The stable code clients choose their words by.
        code: &'static str,
        /// What happened, for a person (never a cause from inside).
        message: String,
    },
    /// Authenticated or not, this request is refused (CSRF, foreign origin, unverified).
    #[error("{message}")]
    Forbidden {
        /// The stable code clients choose their words by.
        code: &'static str,
        /// What happened, for a person (never a cause from inside).
        message: String,
    },
    /// No such thing, or not one the caller may see (never 403: that would confirm it exists).
    #[error("not found")]
    NotFound,
    /// The state changed under the caller, or the thing already exists.
    #[error("{message}")]
    Conflict {
        /// The stable code clients choose their words by.
        code: &'static str,
        /// What happened, for a person (never a cause from inside).
        message: String,
    },
    /// Too large for this route.
    #[error("{message}")]
    TooLarge {
        /// What happened, for a person (never a cause from inside).
        message: String,
    },
    /// Wrong content type for this route.
    #[error("{message}")]
    UnsupportedMediaType {
        /// What happened, for a person (never a cause from inside).
        message: String,
    },
    /// Slowed down: try again after `retry_after`.
    #[error("too many requests")]
    RateLimited {
        /// When to try again.
        retry_after: Duration,
    },
    /// Stored data failed authentication: never served.
    #[error("stored data failed its integrity check")]
    Integrity(String),
    /// What the request acts on has ended (an answer after cancellation, decline or expiry).
    #[error("{message}")]
    Gone {
        /// The stable code clients choose their words by.
        code: &'static str,
        /// What happened, for a person (never a cause from inside).
        message: String,
    },
    /// The request took longer than the server allows.
    #[error("request timed out")]
    Timeout {
        /// The time the server allows.
        limit: Duration,
    },
    /// This server is at capacity for such work: try again after `retry_after`.
    #[error("busy")]
    Busy {
        /// When to try again.
        retry_after: Duration,
    },
    /// A service we depend on (a TSA, the key service, a CRL source) failed: worth retrying.
    #[error("a service we depend on is unavailable")]
    Unavailable(String),
    /// Anything else: logged with its cause, answered without it.
    #[error("internal error")]
    Internal(String),
}

impl Error {
    /// A validation error for one field.
    pub fn invalid(code: &'static str, field: &'static str, message: impl Into<String>) -> Self {
        Error::Invalid {
            code,
            message: message.into(),
            field: Some(field.into()),
        }
    }

    /// A validation error not tied to one field.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Error::Invalid {
            code,
            message: message.into(),
            field: None,
        }
    }

    /// A conflict with a code.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Error::Conflict {
            code,
            message: message.into(),
        }
    }

    /// The caller is not (or no longer) authenticated.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Error::Unauthorized {
            code: "unauthorized",
            message: message.into(),
        }
    }

    /// An internal failure with its cause (logged, not shown).
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Error::Internal(cause.to_string())
    }
}

impl From<crate::ports::StoreError> for Error {
    fn from(e: crate::ports::StoreError) -> Self {
        Error::Internal(format!("item store: {e}"))
    }
}

impl From<crate::ports::BlobError> for Error {
    fn from(e: crate::ports::BlobError) -> Self {
        match e {
            crate::ports::BlobError::NotFound => Error::Internal("blob missing".into()),
            crate::ports::BlobError::Rejected(inner) => *inner,
            other => Error::Internal(format!("blob store: {other}")),
        }
    }
}

impl From<crate::ports::KeyError> for Error {
    fn from(e: crate::ports::KeyError) -> Self {
        match e {
            crate::ports::KeyError::Unwrap => Error::Integrity("data key failed to unwrap".into()),
            other => Error::Internal(format!("keys: {other}")),
        }
    }
}

impl From<crate::ports::MailError> for Error {
    fn from(e: crate::ports::MailError) -> Self {
        Error::Internal(format!("mailer: {e}"))
    }
}

impl From<crate::ports::WorkflowError> for Error {
    fn from(e: crate::ports::WorkflowError) -> Self {
        match e {
            crate::ports::WorkflowError::NotFound => Error::NotFound,
            crate::ports::WorkflowError::Unavailable(why) => Error::Unavailable(why),
            other => Error::Internal(format!("workflow: {other}")),
        }
    }
}

impl From<crate::ports::StagingError> for Error {
    fn from(e: crate::ports::StagingError) -> Self {
        match e {
            crate::ports::StagingError::Unavailable(why) => Error::Unavailable(why),
        }
    }
}

impl From<crate::ports::SchedulerError> for Error {
    fn from(e: crate::ports::SchedulerError) -> Self {
        match e {
            crate::ports::SchedulerError::Unavailable(why) => Error::Unavailable(why),
        }
    }
}
