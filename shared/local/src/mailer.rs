//! Mailer into a maildir: every message lands as an `.eml` file, written to `tmp/`,
//! fsynced, then moved to `new/`. Its name comes from the Message-ID, so sending the same
//! message twice leaves one file. With an SMTP URL the message is also relayed; a failed
//! relay is retried with backoff, and a relay that still fails is logged as an error and
//! recorded in `failed/` beside the message, never silently dropped.

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use keiyaku_core::ports::{MailError, Mailer, OutgoingMail};
use lettre::address::Envelope;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

/// A maildir, and optionally an SMTP relay.
#[derive(Clone)]
pub struct Maildir {
    root: PathBuf,
    relay: Option<Relay>,
}

#[derive(Clone)]
struct Relay {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: lettre::Address,
    backoff: Vec<Duration>,
}

fn unavailable(e: impl std::fmt::Display) -> MailError {
    MailError::Unavailable(e.to_string())
}

impl Maildir {
    /// Uses (creating) the maildir at `root`.
    pub fn open(root: &Path) -> Result<Self, MailError> {
        for sub in ["tmp", "new", "cur", "failed"] {
            std::fs::create_dir_all(root.join(sub)).map_err(unavailable)?;
        }
        Ok(Maildir {
            root: root.to_owned(),
            relay: None,
        })
    }

    /// Also relays every message through the SMTP server at `url` (`smtp://host[:port]`,
    /// a relay on a trusted network: plain SMTP), with envelope sender `from`.
    pub fn with_relay(
        mut self,
        url: &str,
        from: &str,
        backoff: Vec<Duration>,
    ) -> Result<Self, MailError> {
        let bad = || {
            MailError::Unavailable(format!(
                "KEIYAKU_SMTP_URL {url:?}: expected smtp://host[:port]"
            ))
        };
        let authority = url
            .strip_prefix("smtp://")
            .ok_or_else(bad)?
            .trim_end_matches('/');
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, p.parse::<u16>().map_err(|_| bad())?),
            None => (authority, 25),
        };
        if host.is_empty() || host.contains(['/', '@', '?']) {
            return Err(bad());
        }
        let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .timeout(Some(Duration::from_secs(30)))
            .build();
        let from = from
            .parse::<lettre::message::Mailbox>()
            .map_err(unavailable)?
            .email;
        self.relay = Some(Relay {
            transport,
            from,
            backoff,
        });
        Ok(self)
    }

    /// The `new/` folder, where delivered messages are.
    pub fn new_dir(&self) -> PathBuf {
        self.root.join("new")
    }

    fn file_name(mail: &OutgoingMail) -> String {
        let digest = hex::encode(&Sha256::digest(mail.message_id.as_bytes())[..12]);
        let readable: String = mail
            .message_id
            .split('@')
            .next()
            .unwrap_or("")
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(40)
            .collect();
        format!("{readable}.{digest}.eml")
    }

    async fn deliver(&self, name: &str, raw: &[u8]) -> Result<(), MailError> {
        let tmp = self.root.join("tmp").join(name);
        let mut f = tokio::fs::File::create(&tmp).await.map_err(unavailable)?;
        f.write_all(raw).await.map_err(unavailable)?;
        f.sync_all().await.map_err(unavailable)?;
        tokio::fs::rename(&tmp, self.root.join("new").join(name))
            .await
            .map_err(unavailable)
    }
}

impl Relay {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), String> {
        let to = mail
            .to
            .iter()
            .map(|a| a.parse::<lettre::Address>().map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        let envelope = Envelope::new(Some(self.from.clone()), to).map_err(|e| e.to_string())?;
        let mut last = String::new();
        for (attempt, wait) in std::iter::once(Duration::ZERO)
            .chain(self.backoff.iter().copied())
            .enumerate()
        {
            tokio::time::sleep(wait).await;
            match self.transport.send_raw(&envelope, &mail.raw).await {
                Ok(_) => return Ok(()),
                Err(e) => {
                    tracing::warn!(message_id = %mail.message_id, attempt, "SMTP relay failed: {e}");
                    last = e.to_string();
                }
            }
        }
        Err(last)
    }
}

#[async_trait]
impl Mailer for Maildir {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        let name = Self::file_name(mail);
        self.deliver(&name, &mail.raw).await?;
        if let Some(relay) = self.relay.clone() {
            let mail = mail.clone();
            let failed = self.root.join("failed").join(format!("{name}.txt"));
            // The message is safe in the maildir; relaying runs on its own so a slow relay
            // does not hold the request, and its final failure is recorded.
            tokio::spawn(async move {
                if let Err(why) = relay.send(&mail).await {
                    tracing::error!(message_id = %mail.message_id, "SMTP relay gave up: {why}");
                    let _ =
                        tokio::fs::write(&failed, format!("{}\n{why}\n", mail.message_id)).await;
                }
            });
        }
        Ok(())
    }
}
