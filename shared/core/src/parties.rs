//! Who a document goes to: its recipients, in the order they agree, and its approvers, who
//! answer before anything goes out. A draft's parties, message and deadline are edited with
//! [`edit_draft`]; the workflow reads them by id (state carries ids, never names or
//! addresses).

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use unicode_normalization::UnicodeNormalization;

use crate::accounts::Caller;
use crate::documents::{Document, Status};
use crate::error::{Error, Result};
use crate::services::Services;
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

/// An approver as the sender names them.
#[derive(Clone, Debug, Default)]
pub struct ApproverInput {
    /// E-mail address.
    pub email: String,
    /// Name, if the sender gives one.
    pub name: Option<String>,
}

/// A recipient as the sender names them.
#[derive(Clone, Debug, Default)]
pub struct RecipientInput {
    /// Name.
    pub name: String,
    /// E-mail address.
    pub email: String,
    /// 会社名.
    pub company: Option<String>,
    /// 部署.
    pub department: Option<String>,
    /// An access code (4 to 32 letters or digits; full-width digits are read as digits).
    pub access_code: Option<String>,
}

/// What a draft edit changes (absent fields stay as they are).
#[derive(Clone, Debug, Default)]
pub struct DraftEdit {
    /// New title.
    pub title: Option<String>,
    /// The recipients, in order (replaces the list).
    pub recipients: Option<Vec<RecipientInput>>,
    /// The approvers, in order (replaces the list).
    pub approvers: Option<Vec<ApproverInput>>,
    /// The message to the parties (`Some("")` clears it).
    pub message: Option<String>,
    /// The deadline for every answer.
    pub expires_at: Option<OffsetDateTime>,
}

/// A validation error at a path into a list (`recipients[2].email`).
fn invalid_at(code: &'static str, path: String, message: &str) -> Error {
    Error::Invalid {
        code,
        message: format!("{path}: {message}"),
        field: Some(path.into()),
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

async fn recipients(inputs: &[RecipientInput]) -> Result<Vec<Recipient>> {
    if inputs.len() > MAX_RECIPIENTS {
        return Err(Error::invalid(
            "too_many_recipients",
            "recipients",
            format!("at most {MAX_RECIPIENTS} recipients"),
        ));
    }
    let mut out: Vec<Recipient> = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.iter().enumerate() {
        let at = |sub: &str| format!("recipients[{i}].{sub}");
        let name = text::line(&input.name, "name", 100).map_err(|e| reindex(e, at("name")))?;
        let email = Email::parse(&input.email, "email").map_err(|e| reindex(e, at("email")))?;
        if out.iter().any(|r| r.email == email) {
            return Err(invalid_at(
                "duplicate_recipient",
                at("email"),
                "this address is already a recipient",
            ));
        }
        let optional = |value: &Option<String>, sub: &'static str| -> Result<Option<String>> {
            text::optional_line(value.as_deref(), sub, 100).map_err(|e| reindex(e, at(sub)))
        };
        let company = optional(&input.company, "company")?;
        let department = optional(&input.department, "department")?;
        let access_code_hash = match input.access_code.as_deref() {
            None | Some("") => None,
            Some(raw) => {
                let code = normalize_access_code(raw).ok_or_else(|| {
                    invalid_at(
                        "invalid_access_code",
                        at("access_code"),
                        "an access code is 4 to 32 letters or digits",
                    )
                })?;
                Some(crate::password::hash(&code).await?)
            }
        };
        out.push(Recipient {
            id: format!("r{}", i + 1),
            name,
            email,
            company,
            department,
            access_code_hash,
            link_generation: 0,
        });
    }
    Ok(out)
}

/// Puts the list index into a field error (`name` → `recipients[2].name`).
fn reindex(e: Error, path: String) -> Error {
    match e {
        Error::Invalid { code, message, .. } => invalid_at(code, path, &message),
        other => other,
    }
}

fn approvers(caller: &Caller, inputs: &[ApproverInput]) -> Result<Vec<Approver>> {
    if inputs.len() > MAX_APPROVERS {
        return Err(Error::invalid(
            "too_many_approvers",
            "approvers",
            format!("at most {MAX_APPROVERS} approvers"),
        ));
    }
    let mut out: Vec<Approver> = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.iter().enumerate() {
        let path = format!("approvers[{i}]");
        let email =
            Email::parse(&input.email, "approvers").map_err(|e| reindex(e, path.clone()))?;
        if out.iter().any(|a| a.email == email) {
            return Err(invalid_at("duplicate_approver", path, "named twice"));
        }
        if email == caller.user.email {
            return Err(invalid_at(
                "approver_is_sender",
                path,
                "the sender cannot approve their own document",
            ));
        }
        let name = text::optional_line(input.name.as_deref(), "name", 100)
            .map_err(|e| reindex(e, format!("{path}.name")))?;
        out.push(Approver {
            id: format!("a{}", i + 1),
            name,
            email,
        });
    }
    Ok(out)
}

/// A message to the parties: NFC, no control characters but line breaks, at most
/// [`MAX_MESSAGE`] characters; empty clears it.
fn message(raw: &str) -> Result<Option<String>> {
    text::free_text(raw, "message", MAX_MESSAGE)
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

/// Edits a draft: title, recipients, approvers, message, deadline. Only the sender, only a
/// draft; one conditioned write with a history event.
pub async fn edit_draft(
    s: &Services,
    caller: &Caller,
    id: &str,
    edit: DraftEdit,
) -> Result<Document> {
    let (mut doc, item) = crate::documents::load(s, caller, id).await?;
    if doc.status != Status::Draft {
        return Err(Error::conflict(
            "not_a_draft",
            "only a draft can be edited; this document has gone out",
        ));
    }
    let now = s.now();
    let before = doc.title.clone();
    if let Some(title) = &edit.title {
        doc.title = text::line(title, "title", 200)?;
    }
    if let Some(inputs) = &edit.recipients {
        doc.recipients = recipients(inputs).await?;
    }
    if let Some(inputs) = &edit.approvers {
        doc.approvers = approvers(caller, inputs)?;
    }
    if let Some(raw) = &edit.message {
        doc.message = message(raw)?;
    }
    if let Some(at) = edit.expires_at {
        doc.expires_at = Some(check_expiry(at, now)?);
    }
    doc.updated_at = now;
    if doc.title != before {
        // The old title's postings stay: deleting them could race a concurrent edit back
        // to it, and a search reads each candidate's title anyway.
        crate::search::index_title(&*s.items, &doc.team_id, &doc.id, Some(&before), &doc.title)
            .await?;
    }
    crate::documents::commit_change(s, caller, &doc, &item, "document.edited").await?;
    Ok(doc)
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
