//! Mailer: sends one finished MIME message (built in the domain, so both shapes send the
//! same bytes: SES v2 takes raw MIME, the maildir stores it as is).

use async_trait::async_trait;

/// A finished message.
#[derive(Clone, Debug)]
pub struct OutgoingMail {
    /// Envelope recipients.
    pub to: Vec<String>,
    /// The Message-ID without angle brackets (deterministic where a retry must not resend).
    pub message_id: String,
    /// The RFC 5322 message, CRLF line endings.
    pub raw: Vec<u8>,
}

/// What sending can fail with.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The message could not be handed over.
    #[error("mail not sent: {0}")]
    Unavailable(String),
}

/// Sends mail.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Hands one message over for delivery.
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError>;
}
