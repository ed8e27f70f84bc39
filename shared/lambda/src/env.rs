//! A function's configuration from its environment, as the template sets it. A value that
//! is missing or malformed is an error naming the variable and what it is for, at cold
//! start — never a panic on the first request.

use keiyaku_core::config::Config;

/// What reading the environment can fail with.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EnvError {
    /// A required variable is not set (or is empty).
    #[error("{name} is not set: it names {what}")]
    Missing {
        /// The variable.
        name: &'static str,
        /// What it is for.
        what: &'static str,
    },
    /// A variable is set to something unusable.
    #[error("{name}: {why}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// Why it is unusable.
        why: String,
    },
}

/// A function's environment.
pub struct Env<F> {
    lookup: F,
}

/// The process's own environment.
pub fn from_process() -> Env<impl Fn(&str) -> Option<String>> {
    Env::new(|name: &str| std::env::var(name).ok())
}

impl<F: Fn(&str) -> Option<String>> Env<F> {
    /// An environment read through `lookup` (tests give a map).
    pub fn new(lookup: F) -> Self {
        Env { lookup }
    }

    /// The value of `name`, if set and not empty.
    pub fn optional(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|v| !v.trim().is_empty())
    }

    /// The value of `name`, which names `what`.
    pub fn required(&self, name: &'static str, what: &'static str) -> Result<String, EnvError> {
        self.optional(name).ok_or(EnvError::Missing { name, what })
    }

    /// The service's settings: `KEIYAKU_PUBLIC_URL` (required: the address written into
    /// mails), `KEIYAKU_MAX_DOCUMENT_MB` (the largest document, 20 by default) and
    /// `KEIYAKU_MAIL_FROM` (the sender of mail, SES-verified) and `KEIYAKU_ORIGIN_SECRET`
    /// (what CloudFront sends in `X-Keiyaku-Origin`, at least 32 characters).
    pub fn config(&self) -> Result<Config, EnvError> {
        let url = self.required(
            "KEIYAKU_PUBLIC_URL",
            "the address the service is reached at (https://…), written into mails",
        )?;
        let url = url::Url::parse(&url)
            .ok()
            .filter(|u| u.scheme() == "https" && u.host().is_some())
            .ok_or(EnvError::Invalid {
                name: "KEIYAKU_PUBLIC_URL",
                why: format!("{url:?} is not an https:// URL"),
            })?;
        let mut config = Config::new(url.as_str().trim_end_matches('/'));
        if let Some(mb) = self.optional("KEIYAKU_MAX_DOCUMENT_MB") {
            let mb: u64 =
                mb.parse()
                    .ok()
                    .filter(|mb| (1..=100).contains(mb))
                    .ok_or(EnvError::Invalid {
                        name: "KEIYAKU_MAX_DOCUMENT_MB",
                        why: format!("{mb:?} is not a number of megabytes from 1 to 100"),
                    })?;
            config.max_document_bytes = mb * 1024 * 1024;
        }
        if let Some(from) = self.optional("KEIYAKU_MAIL_FROM") {
            config.mail_from = from;
        }
        if let Some(secret) = self.optional("KEIYAKU_ORIGIN_SECRET") {
            if secret.len() < 32 {
                return Err(EnvError::Invalid {
                    name: "KEIYAKU_ORIGIN_SECRET",
                    why: "shorter than 32 characters".into(),
                });
            }
            config.origin_secret = Some(secret);
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> Env<impl Fn(&str) -> Option<String>> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Env::new(move |name: &str| map.get(name).cloned())
    }

    #[test]
    fn settings_come_from_the_environment_with_clear_errors() {
        let config = env(&[
            ("KEIYAKU_PUBLIC_URL", "https://keiyaku.example.jp/"),
            ("KEIYAKU_MAX_DOCUMENT_MB", "30"),
            ("KEIYAKU_MAIL_FROM", "keiyaku <no-reply@keiyaku.example.jp>"),
        ])
        .config()
        .unwrap();
        assert_eq!(config.public_url, "https://keiyaku.example.jp");
        assert_eq!(config.max_document_bytes, 30 << 20);
        assert_eq!(config.mail_from, "keiyaku <no-reply@keiyaku.example.jp>");
        assert_eq!(config.origin_secret, None);
        let e = env(&[
            ("KEIYAKU_PUBLIC_URL", "https://keiyaku.example.jp"),
            ("KEIYAKU_ORIGIN_SECRET", "short"),
        ])
        .config()
        .unwrap_err();
        assert!(matches!(
            e,
            EnvError::Invalid {
                name: "KEIYAKU_ORIGIN_SECRET",
                ..
            }
        ));

        let missing = env(&[]).config().unwrap_err();
        assert!(matches!(
            missing,
            EnvError::Missing {
                name: "KEIYAKU_PUBLIC_URL",
                ..
            }
        ));
        assert!(
            missing
                .to_string()
                .starts_with("KEIYAKU_PUBLIC_URL is not set")
        );
        assert!(matches!(
            env(&[("KEIYAKU_PUBLIC_URL", "  ")]).config(),
            Err(EnvError::Missing { .. })
        ));
        for bad in ["http://keiyaku.example.jp", "keiyaku.example.jp"] {
            assert!(matches!(
                env(&[("KEIYAKU_PUBLIC_URL", bad)]).config(),
                Err(EnvError::Invalid {
                    name: "KEIYAKU_PUBLIC_URL",
                    ..
                })
            ));
        }
        for bad in ["0", "many", "1000"] {
            let e = env(&[
                ("KEIYAKU_PUBLIC_URL", "https://keiyaku.example.jp"),
                ("KEIYAKU_MAX_DOCUMENT_MB", bad),
            ])
            .config()
            .unwrap_err();
            assert!(
                matches!(
                    e,
                    EnvError::Invalid {
                        name: "KEIYAKU_MAX_DOCUMENT_MB",
                        ..
                    }
                ),
                "{bad}"
            );
        }
    }
}
