//! Mailer into a maildir: every message lands as an `.eml` file, written to `tmp/`,
//! fsynced, then moved to `new/`. Its name comes from the Message-ID, so sending the same
//! message twice leaves one file. Without a relay the maildir is the delivery. With an SMTP
//! URL the file is only the outbox: a note in `relay/` (its envelope recipients) is written
//! before it, and once the relay accepts the message both are deleted (mail holds link
//! tokens and signed contracts in the clear). The first attempt is made before `send`
//! returns; a start relays what a stop left in the outbox. A failed relay is retried with
//! backoff on its own task, and a relay that still fails is logged as an error and recorded
//! in `failed/` beside the message, which stays, never silently dropped.

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
        for sub in ["tmp", "new", "cur", "failed", "relay"] {
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
    /// One SMTP transaction.
    async fn send_once(&self, mail: &OutgoingMail) -> Result<(), String> {
        let to = mail
            .to
            .iter()
            .map(|a| a.parse::<lettre::Address>().map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        let envelope = Envelope::new(Some(self.from.clone()), to).map_err(|e| e.to_string())?;
        self.transport
            .send_raw(&envelope, &mail.raw)
            .await
            .map(|_| ())
            .map_err(|e| {
                tracing::warn!(message_id = %mail.message_id, "SMTP relay failed: {e}");
                e.to_string()
            })
    }

    /// Tries again after each wait of the backoff.
    async fn retry(&self, mail: &OutgoingMail) -> Result<(), String> {
        let mut last = String::from("no retry configured");
        for wait in &self.backoff {
            tokio::time::sleep(*wait).await;
            match self.send_once(mail).await {
                Ok(()) => return Ok(()),
                Err(e) => last = e,
            }
        }
        Err(last)
    }
}

impl Maildir {
    /// Removes a relayed message and its note from the outbox.
    async fn relayed(root: &Path, name: &str, message_id: &str) {
        for done in [root.join("new").join(name), root.join("relay").join(name)] {
            if let Err(e) = tokio::fs::remove_file(&done).await {
                tracing::warn!(%message_id, "relayed, but {} stays: {e}", done.display());
            }
        }
    }

    /// Relays the message in `new/<name>` once now; if the relay does not take it, the
    /// retries run on their own task.
    async fn relay(root: &Path, relay: Relay, name: String, mail: OutgoingMail) {
        match relay.send_once(&mail).await {
            Ok(()) => Self::relayed(root, &name, &mail.message_id).await,
            Err(_) => Self::relay_in_background(root.to_owned(), relay, name, mail),
        }
    }

    /// Relays, on its own task with the backoff, the message in `new/<name>`: a slow relay
    /// does not hold the request, and its final failure is recorded.
    fn relay_in_background(root: PathBuf, relay: Relay, name: String, mail: OutgoingMail) {
        tokio::spawn(async move {
            match relay.retry(&mail).await {
                Ok(()) => Self::relayed(&root, &name, &mail.message_id).await,
                Err(why) => {
                    tracing::error!(message_id = %mail.message_id, "SMTP relay gave up: {why}");
                    let failed = root.join("failed").join(format!("{name}.txt"));
                    let _ =
                        tokio::fs::write(&failed, format!("{}\n{why}\n", mail.message_id)).await;
                }
            }
        });
    }

    /// Relays what a stop left in the outbox (a note in `relay/` whose message is still in
    /// `new/`); a note without its message (the stop came before the message was written)
    /// is dropped. Needs a Tokio runtime; does nothing without a relay.
    pub fn resume_relays(&self) {
        let Some(relay) = self.relay.clone() else {
            return;
        };
        let Ok(notes) = std::fs::read_dir(self.root.join("relay")) else {
            return;
        };
        for note in notes.flatten() {
            let name = note.file_name().to_string_lossy().into_owned();
            let (Ok(to), Ok(raw)) = (
                std::fs::read_to_string(note.path()),
                std::fs::read(self.root.join("new").join(&name)),
            ) else {
                let _ = std::fs::remove_file(note.path());
                continue;
            };
            let mut lines = to.lines();
            let message_id = lines.next().unwrap_or_default().to_owned();
            let mail = OutgoingMail {
                to: lines.map(str::to_owned).collect(),
                message_id,
                raw,
            };
            tracing::info!(message_id = %mail.message_id, "relaying what the last stop left");
            let (root, relay) = (self.root.clone(), relay.clone());
            tokio::spawn(async move { Self::relay(&root, relay, name, mail).await });
        }
    }
}

#[async_trait]
impl Mailer for Maildir {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        let name = Self::file_name(mail);
        if self.relay.is_some() {
            // The note first: a message in `new/` without one would never be relayed.
            let note = std::iter::once(mail.message_id.as_str())
                .chain(mail.to.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join("\n");
            tokio::fs::write(self.root.join("relay").join(&name), note)
                .await
                .map_err(unavailable)?;
        }
        self.deliver(&name, &mail.raw).await?;
        if let Some(relay) = self.relay.clone() {
            // The first attempt is made now, so that once this returns a relay that
            // answered has the message and the outbox no longer holds it; only the retries
            // of a relay that is down run on their own.
            Self::relay(&self.root, relay, name, mail.clone()).await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    fn mail(id: &str) -> OutgoingMail {
        OutgoingMail {
            to: vec!["hanako@example.jp".into()],
            message_id: format!("{id}@keiyaku"),
            raw: format!(
                "Message-ID: <{id}@keiyaku>\r\nSubject: =?utf-8?b?5aWR57SE?=\r\n\r\n本文\r\n"
            )
            .into_bytes(),
        }
    }

    /// A minimal SMTP server that records each message's DATA.
    async fn smtp_server() -> (u16, Arc<Mutex<Vec<String>>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let got = Arc::new(Mutex::new(Vec::new()));
        let seen = got.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let seen = seen.clone();
                tokio::spawn(async move {
                    let (read, mut write) = socket.into_split();
                    let mut lines = BufReader::new(read).lines();
                    write.write_all(b"220 test ESMTP\r\n").await.unwrap();
                    let mut data: Option<String> = None;
                    while let Ok(Some(line)) = lines.next_line().await {
                        if let Some(body) = data.as_mut() {
                            if line == "." {
                                seen.lock().unwrap().push(std::mem::take(body));
                                data = None;
                                write.write_all(b"250 queued\r\n").await.unwrap();
                            } else {
                                body.push_str(&line);
                                body.push('\n');
                            }
                            continue;
                        }
                        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                        let reply: &[u8] = match verb.as_str() {
                            "EHLO" | "HELO" => b"250-test\r\n250 8BITMIME\r\n",
                            "DATA" => {
                                data = Some(String::new());
                                b"354 go ahead\r\n"
                            }
                            "QUIT" => {
                                let _ = write.write_all(b"221 bye\r\n").await;
                                break;
                            }
                            _ => b"250 ok\r\n",
                        };
                        write.write_all(reply).await.unwrap();
                    }
                });
            }
        });
        (port, got)
    }

    async fn wait_for(what: &str, check: impl Fn() -> bool) {
        for _ in 0..200 {
            if check() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("timed out waiting for {what}");
    }

    /// A maildir at `dir` relaying to 127.0.0.1:`port` with `backoff`.
    fn relaying(dir: &Path, port: u16, backoff: Vec<Duration>) -> Maildir {
        Maildir::open(dir)
            .unwrap()
            .with_relay(
                &format!("smtp://127.0.0.1:{port}"),
                "keiyaku <no-reply@keiyaku.invalid>",
                backoff,
            )
            .unwrap()
    }

    /// A loopback port nothing listens on.
    fn closed_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    #[tokio::test]
    async fn relayed_mail_is_sent_and_not_kept_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let (port, got) = smtp_server().await;
        let maildir = relaying(dir.path(), port, vec![]);
        maildir.send(&mail("one")).await.unwrap();
        maildir.send(&mail("one")).await.unwrap();
        assert_eq!(
            std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
            0
        );
        wait_for("the relayed messages", || got.lock().unwrap().len() == 2).await;
        assert!(got.lock().unwrap()[0].contains("Message-ID: <one@keiyaku>"));
        // Relayed: nothing holding its link tokens stays on disk.
        wait_for("the outbox emptied", || {
            std::fs::read_dir(maildir.new_dir()).unwrap().count() == 0
        })
        .await;
    }

    #[tokio::test]
    async fn a_failing_relay_is_retried_then_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let closed = closed_port();
        let maildir = relaying(
            dir.path(),
            closed,
            vec![Duration::from_millis(10), Duration::from_millis(10)],
        );
        maildir.send(&mail("lost")).await.unwrap();
        let failed = dir.path().join("failed");
        wait_for("the failure record", || {
            std::fs::read_dir(&failed).unwrap().count() == 1
        })
        .await;
        let record = std::fs::read_dir(&failed)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        assert!(
            std::fs::read_to_string(record)
                .unwrap()
                .starts_with("lost@keiyaku")
        );
        assert_eq!(
            std::fs::read_dir(maildir.new_dir()).unwrap().count(),
            1,
            "the message itself is kept"
        );
    }

    #[tokio::test]
    async fn what_a_stop_left_in_the_outbox_is_relayed_at_the_next_start() {
        let dir = tempfile::tempdir().unwrap();
        let closed = closed_port();
        // The relay is down: the message and its note stay, as after a stop.
        let down = relaying(dir.path(), closed, vec![]);
        down.send(&mail("left")).await.unwrap();
        wait_for("the failure record", || {
            std::fs::read_dir(dir.path().join("failed"))
                .unwrap()
                .count()
                == 1
        })
        .await;
        // A note whose message was never written is dropped.
        std::fs::write(
            dir.path().join("relay/ghost.eml"),
            "ghost@keiyaku\nx@example.jp",
        )
        .unwrap();
        let (port, got) = smtp_server().await;
        let up = relaying(dir.path(), port, vec![]);
        up.resume_relays();
        wait_for("the left message relayed", || {
            got.lock().unwrap().len() == 1
        })
        .await;
        assert!(got.lock().unwrap()[0].contains("Message-ID: <left@keiyaku>"));
        wait_for("the outbox emptied", || {
            std::fs::read_dir(up.new_dir()).unwrap().count() == 0
                && std::fs::read_dir(dir.path().join("relay")).unwrap().count() == 0
        })
        .await;
    }

    /// Counts what reaches it, failing while `fail` is set.
    #[derive(Default)]
    struct Counting {
        sent: Mutex<Vec<String>>,
        fail: std::sync::atomic::AtomicBool,
    }

    #[async_trait]
    impl Mailer for Counting {
        async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
            if self.fail.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(MailError::Unavailable("down".into()));
            }
            self.sent.lock().unwrap().push(mail.message_id.clone());
            Ok(())
        }
    }

    #[tokio::test]
    async fn each_message_id_is_delivered_once_and_a_failed_one_again() {
        use keiyaku_core::clock::ManualClock;
        use keiyaku_core::delivery::DeliverOnce;
        let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
        let items = Arc::new(crate::items::SqliteItemStore::in_memory(clock.clone()).unwrap());
        let inner = Arc::new(Counting::default());
        let once = DeliverOnce::new(items, inner.clone(), clock.clone());
        once.send(&mail("a")).await.unwrap();
        once.send(&mail("a")).await.unwrap();
        assert_eq!(
            *inner.sent.lock().unwrap(),
            ["a@keiyaku"],
            "a retry skips it"
        );
        // A failed send is sent by the next attempt.
        inner.fail.store(true, std::sync::atomic::Ordering::SeqCst);
        assert!(once.send(&mail("b")).await.is_err());
        inner.fail.store(false, std::sync::atomic::Ordering::SeqCst);
        once.send(&mail("b")).await.unwrap();
        once.send(&mail("b")).await.unwrap();
        assert_eq!(*inner.sent.lock().unwrap(), ["a@keiyaku", "b@keiyaku"]);
    }

    #[test]
    fn bad_relay_urls_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        for url in [
            "http://x",
            "smtp://",
            "smtp://host:notaport",
            "smtps://host",
        ] {
            let m = Maildir::open(dir.path()).unwrap();
            assert!(m.with_relay(url, "a <a@b.c>", vec![]).is_err(), "{url}");
        }
    }
}
