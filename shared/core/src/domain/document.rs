//! A document and its life: where it is (its status and the moves between them), the files
//! it has had, its parties' answers and its history. Pure records and rules; the store keeps
//! them and the use cases change them.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::domain::answer::Answer;
use crate::domain::party::{Approver, Recipient};
use crate::domain::seal::SealRecord;
use crate::ids::{DocumentId, TeamId, UserId};

/// Where a document is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Being prepared by its sender.
    Draft,
    /// Waiting for an approver.
    AwaitingApproval,
    /// Out with its recipients.
    InProgress,
    /// Everyone agreed; sealed to long-term form.
    Completed,
    /// A recipient declined.
    Declined,
    /// An approver rejected it.
    Rejected,
    /// Withdrawn by its sender.
    Cancelled,
    /// Not answered in time.
    Expired,
    /// Sealing failed; operations can retry.
    SealFailed,
}

/// A stored file of a document (the original now; sealed versions later).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StoredFile {
    /// Blob key.
    pub blob: String,
    /// `original` or `sealed`.
    pub role: String,
    /// Version number, bound into the encryption.
    pub version: u32,
    /// Plaintext size in bytes.
    pub size: u64,
    /// SHA-256 of the plaintext, hex.
    pub sha256: String,
}

/// A stored document.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Document {
    /// Its id.
    pub id: DocumentId,
    /// The team it belongs to.
    pub team_id: TeamId,
    /// Who uploaded it (its sender).
    pub owner_id: UserId,
    /// Title.
    pub title: String,
    /// Original file name, sanitised.
    pub filename: String,
    /// Page count.
    pub pages: u32,
    /// PDF version from the header.
    pub pdf_version: String,
    /// Where it is in its life.
    pub status: Status,
    /// The original as uploaded.
    pub original: StoredFile,
    /// The newest sealed version (with every seal so far), once there is one.
    #[serde(default)]
    pub sealed: Option<StoredFile>,
    /// The evidence steps applied, oldest first.
    #[serde(default)]
    pub seals: Vec<SealRecord>,
    /// For a file in long-term form: the date by which its document timestamp must be
    /// renewed (the renewal job comes later).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub renew_by: Option<OffsetDateTime>,
    /// The recipients, in the order they agree.
    #[serde(default)]
    pub recipients: Vec<Recipient>,
    /// The approvers, who answer before it goes out.
    #[serde(default)]
    pub approvers: Vec<Approver>,
    /// The sender's message to the parties.
    #[serde(default)]
    pub message: Option<String>,
    /// 親展: only its sender, approvers and recipients see it — the team's admins and
    /// auditors see that it exists, not what it is — and its file is never attached to mails.
    #[serde(default)]
    pub confidential: bool,
    /// The deadline for every answer (set on send when the sender named none).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// The parties' answers, in the order they came.
    #[serde(default)]
    pub answers: Vec<Answer>,
    /// How many times it was sent (the workflow's executions are named by it).
    #[serde(default)]
    pub send: u32,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// When it ended (completed, declined, rejected, cancelled or expired): recipient links
    /// expire a while after.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub ended_at: Option<OffsetDateTime>,
}

impl Document {
    /// The current file: the newest sealed version once there is one, else the original.
    pub fn current_file(&self) -> &StoredFile {
        self.sealed.as_ref().unwrap_or(&self.original)
    }

    /// Its latest send (what its workflow's execution is named by).
    pub fn current_send(&self) -> Ids {
        Ids {
            team_id: self.team_id.clone(),
            document_id: self.id.clone(),
            send: self.send,
        }
    }

    /// The party's answer in this send, if they gave one.
    pub fn answer_of(&self, send: u32, party: &str) -> Option<&Answer> {
        self.answers
            .iter()
            .find(|a| a.send == send && a.party_id == party)
    }
}

impl Status {
    /// The status's name as the API spells it (`in_progress`).
    pub fn name(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::AwaitingApproval => "awaiting_approval",
            Status::InProgress => "in_progress",
            Status::Completed => "completed",
            Status::Declined => "declined",
            Status::Rejected => "rejected",
            Status::Cancelled => "cancelled",
            Status::Expired => "expired",
            Status::SealFailed => "seal_failed",
        }
    }
}

/// The tabs a list of documents is cut into: 下書き, 確認待ち, 締結済み, and
/// 却下・取消・期限切れ. Every status is in exactly one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatusGroup {
    /// Drafts.
    Draft,
    /// Out and waiting: for an approver, a recipient, or a seal to be retried.
    Open,
    /// Agreed by everyone.
    Completed,
    /// Ended without agreement: declined, rejected, cancelled or expired.
    Closed,
}

impl StatusGroup {
    /// Whether a document in `status` belongs here.
    pub fn contains(self, status: Status) -> bool {
        use Status::*;
        match self {
            StatusGroup::Draft => status == Draft,
            StatusGroup::Open => matches!(status, AwaitingApproval | InProgress | SealFailed),
            StatusGroup::Completed => status == Completed,
            StatusGroup::Closed => matches!(status, Declined | Rejected | Cancelled | Expired),
        }
    }
}

/// One entry of a document's history.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HistoryEvent {
    /// When, UTC.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
    /// Who (a user id).
    pub actor: String,
    /// What, e.g. `document.created`.
    pub action: String,
    /// From which address.
    pub ip: String,
}

/// One send of a document: the ids every workflow task payload starts with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ids {
    /// The document's team.
    pub team_id: TeamId,
    /// The document.
    pub document_id: DocumentId,
    /// Which send of the document this execution is (1 for the first).
    pub send: u32,
}

impl Ids {
    /// The name of this send's execution: `doc-<document id>-<send number>` (at most 80
    /// characters, as Step Functions requires).
    pub fn execution_name(&self) -> String {
        format!("doc-{}-{}", self.document_id, self.send)
    }
}

/// Which loop of the machine asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Approvers, before anything goes out.
    Approval,
    /// Recipients, in order.
    Agreement,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_is_in_exactly_one_group() {
        use Status::*;
        let groups = [
            StatusGroup::Draft,
            StatusGroup::Open,
            StatusGroup::Completed,
            StatusGroup::Closed,
        ];
        for status in [
            Draft,
            AwaitingApproval,
            InProgress,
            Completed,
            Declined,
            Rejected,
            Cancelled,
            Expired,
            SealFailed,
        ] {
            let n = groups.iter().filter(|g| g.contains(status)).count();
            assert_eq!(n, 1, "{status:?} is in {n} groups");
        }
    }

    #[test]
    fn status_names_are_the_api_spelling() {
        for status in [
            Status::Draft,
            Status::AwaitingApproval,
            Status::InProgress,
            Status::Completed,
            Status::Declined,
            Status::Rejected,
            Status::Cancelled,
            Status::Expired,
            Status::SealFailed,
        ] {
            assert_eq!(serde_json::to_value(status).unwrap(), status.name());
        }
    }
}
