//! Who a document goes to: its recipients, in the order they agree, and its approvers, who
//! answer before anything goes out; the limits and rules of what a sender names.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use unicode_normalization::UnicodeNormalization;

use crate::error::{Error, Result};
use crate::text::{self, Email};

/// Most recipients of one document.
pub const MAX_RECIPIENTS: usize = 30;

/// Most approvers of one document.
pub const MAX_APPROVERS: usize = 10;

/// Longest message to the parties, in characters.
pub const MAX_MESSAGE: usize = 2000;

/// The latest deadline: Step Functions runs an execution for at most a year.
pub const MAX_EXPIRY_DAYS: i64 = 300;

/// The deadline when the sender names none.
pub const DEFAULT_EXPIRY_DAYS: i64 = 30;

/// A recipient, who agrees or declines through the link mailed to them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    /// Stable id within the document (`r1`, `r2`, …): what the workflow's state carries.
    pub id: String,
    /// Name as the sender typed it.
    pub name: String,
    /// Where the link goes.
    pub email: Email,
    /// 会社名.
    pub company: Option<String>,
    /// 部署.
    pub department: Option<String>,
    /// argon2id hash of the access code the sender set, if any (the code goes to the
    /// recipient another way, never by this service's mail).
    pub access_code_hash: Option<String>,
    /// How many times the sender reissued this recipient's link (part of the link's
    /// derivation: a reissue makes the earlier link and its sessions worthless).
    #[serde(default)]
    pub link_generation: u32,
}

/// An approver: whoever holds this address and has confirmed it in an account here
/// approves or rejects before the document goes out. Naming one looks nothing up, so the
/// sender learns nothing about who is registered; someone not yet registered is invited by
/// the approval mail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approver {
    /// Stable id within the document (`a1`, `a2`, …).
    pub id: String,
    /// Their name as the sender knows it (documents from before approvers were named by
    /// address alone carry the registered name here).
    #[serde(default)]
    pub name: Option<String>,
    /// Their address: the approver's identity.
    pub email: Email,
}

impl Approver {
    /// How mails to the other parties name them: the name the sender gave, else only the
    /// role (their address is not the other parties' to see).
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or("（承認者）")
    }
}

/// An access code as typed: NFKC (full-width digits and letters become ASCII), trimmed, 4 to
/// 32 ASCII letters or digits.
pub fn normalize_access_code(raw: &str) -> Option<String> {
    let code: String = raw.nfkc().collect::<String>().trim().to_owned();
    (4..=32)
        .contains(&code.chars().count())
        .then_some(())
        .filter(|()| code.chars().all(|c| c.is_ascii_alphanumeric()))
        .map(|()| code)
}

/// Longest reason given with a rejection or a decline, in characters.
pub const MAX_REASON: usize = 1000;

/// A reason given with a rejection or a decline (the rules of a message).
pub fn reason(raw: Option<&str>) -> Result<Option<String>> {
    raw.map_or(Ok(None), |r| text::free_text(r, "reason", MAX_REASON))
}

/// A deadline: after now, at most [`MAX_EXPIRY_DAYS`] ahead.
pub fn check_expiry(at: OffsetDateTime, now: OffsetDateTime) -> Result<OffsetDateTime> {
    if at <= now + Duration::hours(1) {
        return Err(Error::invalid(
            "invalid_expiry",
            "expires_at",
            "expires_at must be more than an hour from now",
        ));
    }
    if at > now + Duration::days(MAX_EXPIRY_DAYS) {
        return Err(Error::invalid(
            "invalid_expiry",
            "expires_at",
            format!("expires_at must be at most {MAX_EXPIRY_DAYS} days from now"),
        ));
    }
    Ok(at)
}

/// A message to the parties: NFC, no control characters but line breaks, at most
/// [`MAX_MESSAGE`] characters; empty clears it.
pub fn message(raw: &str) -> Result<Option<String>> {
    text::free_text(raw, "message", MAX_MESSAGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_codes_accept_full_width_digits_and_refuse_the_rest() {
        assert_eq!(normalize_access_code("１２３４").as_deref(), Some("1234"));
        assert_eq!(normalize_access_code(" ab12 ").as_deref(), Some("ab12"));
        assert_eq!(normalize_access_code("123"), None);
        assert_eq!(normalize_access_code("12 34"), None);
        assert_eq!(normalize_access_code(&"1".repeat(33)), None);
        assert_eq!(normalize_access_code("１２３４あ"), None);
    }

    #[test]
    fn messages_keep_line_breaks_and_refuse_other_controls() {
        assert_eq!(
            message("  よろしく\r\nお願いします ").unwrap().as_deref(),
            Some("よろしく\nお願いします")
        );
        assert_eq!(message("   ").unwrap(), None);
        assert!(message("a\u{0007}b").is_err());
        assert!(message(&"あ".repeat(MAX_MESSAGE + 1)).is_err());
    }

    #[test]
    fn deadlines_are_after_an_hour_and_within_300_days() {
        let now = OffsetDateTime::now_utc();
        assert!(check_expiry(now + Duration::days(30), now).is_ok());
        assert!(check_expiry(now + Duration::minutes(10), now).is_err());
        assert!(check_expiry(now + Duration::days(301), now).is_err());
    }
}
