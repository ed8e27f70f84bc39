//! Who a document goes to: its recipients, in the order they agree, and its approvers, who
//! answer before anything goes out. A draft's parties, message and deadline are edited with
//! [`edit_draft`]; the workflow reads them by id (state carries ids, never names or
//! addresses).

use time::OffsetDateTime;

use crate::domain::document::{Document, Status};
use crate::domain::party::{
    Approver, MAX_APPROVERS, MAX_RECIPIENTS, Recipient, check_expiry, message,
    normalize_access_code,
};
use crate::domain::user::Caller;

use crate::error::{Error, Result};
use crate::services::needs::{Items, Time};
use crate::text::{self, Email};

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
    /// 親展 (see [`crate::domain::document::Document::confidential`]).
    pub confidential: Option<bool>,
}

/// A validation error at a path into a list (`recipients[2].email`).
fn invalid_at(code: &'static str, path: String, message: &str) -> Error {
    Error::Invalid {
        code,
        message: format!("{path}: {message}"),
        field: Some(path.into()),
    }
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

/// Edits a draft: title, recipients, approvers, message, deadline. Only the sender, only a
/// draft; one conditioned write with a history event.
pub async fn edit_draft(
    s: &(impl Items + Time),
    caller: &Caller,
    id: &str,
    edit: DraftEdit,
) -> Result<Document> {
    let (mut doc, item) = crate::app::documents::load(s, caller, id).await?;
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
    if let Some(confidential) = edit.confidential {
        doc.confidential = confidential;
    }
    doc.updated_at = now;
    if doc.title != before {
        // The old title's postings stay: deleting them could race a concurrent edit back
        // to it, and a search reads each candidate's title anyway.
        crate::store::search::index_title(
            s.items(),
            &doc.team_id,
            &doc.id,
            Some(&before),
            &doc.title,
        )
        .await?;
    }
    crate::store::documents::commit_change(s, caller, &doc, &item, "document.edited").await?;
    Ok(doc)
}
