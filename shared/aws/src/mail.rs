//! The Mailer port on SES v2: `SendEmail` with the raw MIME message the domain built (the
//! same bytes the maildir keeps locally), to the message's envelope recipients. Sending once
//! per Message-ID is the core's `DeliverOnce` (a record in the item store before and after),
//! so a retried task mails nobody twice here as locally. SES writes its own Message-ID
//! header on the way out; ours stays the key of that record.

use async_trait::async_trait;
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, RawMessage};
use keiyaku_core::ports::{MailError, Mailer, OutgoingMail};

/// Sends through SES v2.
pub struct SesMailer {
    client: Client,
    configuration_set: Option<String>,
}

impl SesMailer {
    /// Sends with `client`, under `configuration_set` when given (where bounces and
    /// complaints are published).
    pub fn new(client: Client, configuration_set: Option<String>) -> Self {
        SesMailer {
            client,
            configuration_set,
        }
    }
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        let raw = RawMessage::builder()
            .data(Blob::new(mail.raw.clone()))
            .build()
            .map_err(|e| MailError::Unavailable(e.to_string()))?;
        self.client
            .send_email()
            .destination(
                Destination::builder()
                    .set_to_addresses(Some(mail.to.clone()))
                    .build(),
            )
            .content(EmailContent::builder().raw(raw).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await
            .map_err(|e| {
                MailError::Unavailable(format!(
                    "{}: {}",
                    mail.message_id,
                    aws_sdk_sesv2::error::DisplayErrorContext(&e)
                ))
            })?;
        Ok(())
    }
}
