//! The one key layout of keiyaku's items, for every adapter of the ItemStore (SQLite and
//! DynamoDB alike): nothing outside this module spells a key. Items of a team live under
//! `TEAM#<team>`; lookups that must be unique or found without a team (addresses, tokens,
//! sessions, links) have their own partitions, written in the same transaction as the item
//! they point to, because a secondary index is only eventually consistent.
//!
//! | partition | sort key | what |
//! |---|---|---|
//! | `TEAM#<team>` | `TEAM` | the team |
//! | `TEAM#<team>` | `USER#<user>` | an account |
//! | `TEAM#<team>` | `INVITE#<id>` | an invitation to join the team, until accepted or expired |
//! | `TEAM#<team>` | `TOTP#<user>` | an account's second factor (its secret encrypted) |
//! | `TEAM#<team>` | `APITOKEN#<user>#<id>` | an API token's record, for listing and revoking |
//! | `TEAM#<team>` | `AUDIT#<id>` | an audit-log event (index, until chained: `AUDITPENDING` / `<team>#<id>`) |
//! | `TEAM#<team>` | `AUDITHEAD` | where the team's audit chain stands (index: `AUDITHEADS` / `<team>`) |
//! | `TEAM#<team>` | `DOC#<doc>` | a document (index: `OWNER#<user>` / `DOC#<doc>`) |
//! | `TEAM#<team>` | `HIST#<doc>#<id>` | a document's history event |
//! | `TEAM#<team>` | `UPLOAD#<upload>` | an upload slot |
//! | `TEAM#<team>` | `IDEM#<user>#<hash>` | an `Idempotency-Key` of a create |
//! | `TEAM#<team>` | `WAIT#<doc>#<party>` | a party's latest task token (server-side only) |
//! | `TEAM#<team>` | `TITLEINDEX` | the team's titles are all indexed |
//! | `TITLE#<team>#<gram>` | `<doc>` | a title search posting |
//! | `APPROVER#<email>` | `DOC#<doc>` | a document waiting for an approver's answer |
//! | `EMAIL#<email>` | `EMAIL` | an address's account (uniqueness) |
//! | `DOMAIN#<domain>` | `DOMAIN` | the team that claimed a mail domain (uniqueness) |
//! | `DOMAINCLAIM#<hash>` | `DOMAINCLAIM` | a domain claim waiting for its mailed proof |
//! | `ADDRESS#<hash>` | `ADDRESS` | an address change waiting for its mailed proof |
//! | `INVITATION#<hash>` | `INVITATION` | an invitation's mailed token |
//! | `TOKEN#<hash>` / `SESSION#<hash>` / `DEVICE#<hash>` | same word | one-time tokens, sessions, known devices |
//! | `RLINK#<hash>` / `RSESSION#<hash>` | same word | recipient links and their sessions |
//! | `PENDING` | `START#…` `ANSWER#…` `CANCEL#…` | the outbox of workflow calls |
//! | `MAIL#<message id>` | `MAIL` | a mail that was sent (exactly once) |
//! | `RATE#<limit>#<hash>` | `W#<window start>` | a rate-limit counter |

use crate::ids::{DocumentId, TeamId, UploadId, UserId};
use crate::ports::Key;
use crate::text::Email;

/// Sort-key prefix of documents (also of the owner and approver indexes).
pub const DOC: &str = "DOC#";
/// Sort-key prefix of accounts.
pub const USER: &str = "USER#";
/// Sort-key prefix of audit-log entries.
pub const AUDIT: &str = "AUDIT#";
/// Sort-key prefix of upload slots.
pub const UPLOAD: &str = "UPLOAD#";
/// The partition of the workflow outbox.
pub const PENDING: &str = "PENDING";

/// The partition of everything a team owns.
pub fn team_pk(team: &TeamId) -> String {
    format!("TEAM#{team}")
}

/// A team.
pub fn team(team: &TeamId) -> Key {
    Key::new(team_pk(team), "TEAM")
}

/// An account of a team.
pub fn user(team: &TeamId, user: &UserId) -> Key {
    Key::new(team_pk(team), format!("{USER}{user}"))
}

/// Sort-key prefix of a team's invitations.
pub const INVITE: &str = "INVITE#";

/// An invitation to join `team`.
pub fn invite(team: &TeamId, id: &str) -> Key {
    Key::new(team_pk(team), format!("{INVITE}{id}"))
}

/// The invitation an invitation token (by its hash) opens.
pub fn invitation_token(hash: &str) -> Key {
    Key::new(format!("INVITATION#{hash}"), "INVITATION")
}

/// An account's second factor (TOTP secret, last step used, recovery-code hashes).
pub fn two_factor(team: &TeamId, user: &UserId) -> Key {
    Key::new(team_pk(team), format!("TOTP#{user}"))
}

/// The account an address belongs to.
pub fn email(email: &Email) -> Key {
    Key::new(format!("EMAIL#{email}"), "EMAIL")
}

/// The team that claimed a mail domain.
pub fn claimed_domain(domain: &str) -> Key {
    Key::new(format!("DOMAIN#{domain}"), "DOMAIN")
}

/// A domain claim waiting for the mailed proof, by its token's hash.
pub fn domain_claim(hash: &str) -> Key {
    Key::new(format!("DOMAINCLAIM#{hash}"), "DOMAINCLAIM")
}

/// An address change waiting for the mailed proof, by its token's hash.
pub fn address_change(hash: &str) -> Key {
    Key::new(format!("ADDRESS#{hash}"), "ADDRESS")
}

/// A one-time token (address confirmation, password reset) by its hash.
pub fn token(hash: &str) -> Key {
    Key::new(format!("TOKEN#{hash}"), "TOKEN")
}

/// A browser session or API token by its hash.
pub fn session(hash: &str) -> Key {
    Key::new(format!("SESSION#{hash}"), "SESSION")
}

/// An API token's record under its owner, so the owner can list and revoke it.
pub fn api_token(team: &TeamId, user: &UserId, id: &str) -> Key {
    Key::new(team_pk(team), format!("{}{id}", api_tokens_prefix(user)))
}

/// The sort-key prefix of a user's API tokens.
pub fn api_tokens_prefix(user: &UserId) -> String {
    format!("APITOKEN#{user}#")
}

/// A device an account has logged in from, by its hash.
pub fn device(hash: &str) -> Key {
    Key::new(format!("DEVICE#{hash}"), "DEVICE")
}

/// An audit-log entry of a team.
pub fn audit(team: &TeamId, id: &str) -> Key {
    Key::new(team_pk(team), format!("{AUDIT}{id}"))
}

/// Where an audit event waits for the chaining job (in the index).
pub fn audit_pending(team: &TeamId, id: &str) -> Key {
    Key::new(AUDIT_PENDING, format!("{}{id}", audit_pending_prefix(team)))
}

/// The index partition of audit events not chained yet, of every team.
pub const AUDIT_PENDING: &str = "AUDITPENDING";

/// The sort-key prefix of a team's events waiting to be chained.
pub fn audit_pending_prefix(team: &TeamId) -> String {
    format!("{team}#")
}

/// Where a team's audit chain stands.
pub fn audit_head(team: &TeamId) -> Key {
    Key::new(team_pk(team), "AUDITHEAD")
}

/// The index entry of a team's chain head, so that retention finds every team's log.
pub fn audit_head_index(team: &TeamId) -> Key {
    Key::new(AUDIT_HEADS, team.to_string())
}

/// The index partition of every team's chain head.
pub const AUDIT_HEADS: &str = "AUDITHEADS";

/// A document.
pub fn document(team: &TeamId, id: &DocumentId) -> Key {
    Key::new(team_pk(team), document_sk(id))
}

/// The sort key of a document (in its team and in the indexes).
pub fn document_sk(id: &DocumentId) -> String {
    format!("{DOC}{id}")
}

/// The document a document key's sort key names, if it names one.
pub fn document_id(sk: &str) -> Option<DocumentId> {
    sk.strip_prefix(DOC).map(|id| DocumentId(id.to_owned()))
}

/// A document's place in its owner's index (newest first by id).
pub fn owner_index(user: &UserId, id: &DocumentId) -> Key {
    Key::new(owner_index_pk(user), document_sk(id))
}

/// The index partition of the documents a user owns.
pub fn owner_index_pk(user: &UserId) -> String {
    format!("OWNER#{user}")
}

/// Where an approver finds a document of another team that waits for them (written when
/// it is sent): under the approver's address, which need not be registered yet.
pub fn approver_index(email: &Email, id: &DocumentId) -> Key {
    Key::new(approver_index_pk(email), document_sk(id))
}

/// The partition of the documents waiting for an approver.
pub fn approver_index_pk(email: &Email) -> String {
    format!("APPROVER#{email}")
}

/// Where documents sent before approvers were named by address alone indexed them (by
/// user id); still read so that their approvals can finish.
pub fn legacy_approver_index(user: &UserId, id: &DocumentId) -> Key {
    Key::new(format!("APPROVER#{user}"), document_sk(id))
}

/// An event of a document's history.
pub fn history(team: &TeamId, doc: &DocumentId, id: &str) -> Key {
    Key::new(team_pk(team), format!("{}{id}", history_prefix(doc)))
}

/// The sort-key prefix of a document's history.
pub fn history_prefix(doc: &DocumentId) -> String {
    format!("HIST#{doc}#")
}

/// An upload slot.
pub fn upload(team: &TeamId, id: &UploadId) -> Key {
    Key::new(team_pk(team), format!("{UPLOAD}{id}"))
}

/// The record of an `Idempotency-Key` (by its hash) a user created a document with.
pub fn idempotency(team: &TeamId, user: &UserId, key_hash: &str) -> Key {
    Key::new(team_pk(team), format!("IDEM#{user}#{key_hash}"))
}

/// Where a party's latest task token waits (server-side only; never mailed).
pub fn wait(team: &TeamId, doc: &DocumentId, party: &str) -> Key {
    Key::new(team_pk(team), format!("{}{party}", waits_prefix(doc)))
}

/// The sort-key prefix of a document's waits.
pub fn waits_prefix(doc: &DocumentId) -> String {
    format!("WAIT#{doc}#")
}

/// An entry of the workflow outbox: a call of one kind (`START`, `ANSWER`, `CANCEL`) for
/// one send of a document, and for the party it concerns.
pub fn pending(kind: &str, doc: &DocumentId, send: u32, party: Option<&str>) -> Key {
    let sk = match party {
        Some(party) => format!("{kind}#{doc}#{send}#{party}"),
        None => format!("{kind}#{doc}#{send}"),
    };
    Key::new(PENDING, sk)
}

/// That a recipient reached the last page of one send of a document.
pub fn viewed(team: &TeamId, doc: &DocumentId, send: u32, party: &str) -> Key {
    Key::new(team_pk(team), format!("VIEWED#{doc}#{send}#{party}"))
}

/// A recipient link by its token's hash.
pub fn recipient_link(token_hash: &str) -> Key {
    Key::new(format!("RLINK#{token_hash}"), "RLINK")
}

/// A recipient's session by its hash.
pub fn recipient_session(hash: &str) -> Key {
    Key::new(format!("RSESSION#{hash}"), "RSESSION")
}

/// The record that a mail with this Message-ID was sent.
pub fn mail_sent(message_id: &str) -> Key {
    Key::new(format!("MAIL#{message_id}"), "MAIL")
}

/// A rate-limit counter of one window, for a limit and a subject's hash.
pub fn rate(limit: &str, subject_hash: &str, window_start: i64) -> Key {
    Key::new(
        format!("RATE#{limit}#{subject_hash}"),
        format!("W#{window_start}"),
    )
}

/// The partition of one gram's title postings in a team.
pub fn title_postings_pk(team: &TeamId, gram: &str) -> String {
    format!("TITLE#{team}#{gram}")
}

/// A title posting: a document whose title holds the gram.
pub fn title_posting(team: &TeamId, gram: &str, id: &DocumentId) -> Key {
    Key::new(title_postings_pk(team, gram), id.to_string())
}

/// Where a team records that every document it had when the index came is indexed.
pub fn titles_indexed(team: &TeamId) -> Key {
    Key::new(team_pk(team), "TITLEINDEX")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_key_names_its_document() {
        let key = document(&TeamId("t1".into()), &DocumentId("d1".into()));
        assert_eq!(key, Key::new("TEAM#t1", "DOC#d1"));
        assert_eq!(document_id(&key.sk), Some(DocumentId("d1".into())));
        assert_eq!(document_id("UPLOAD#d1"), None);
    }

    #[test]
    fn prefixes_match_the_keys_they_find() {
        let (team, user, doc) = (
            TeamId("t".into()),
            UserId("u".into()),
            DocumentId("d".into()),
        );
        assert!(
            api_token(&team, &user, "x")
                .sk
                .starts_with(&api_tokens_prefix(&user))
        );
        assert!(
            history(&team, &doc, "x")
                .sk
                .starts_with(&history_prefix(&doc))
        );
        assert!(wait(&team, &doc, "p").sk.starts_with(&waits_prefix(&doc)));
        assert_eq!(owner_index(&user, &doc).pk, owner_index_pk(&user));
        // A party named like another party's prefix never shares its waits.
        assert!(
            !wait(&team, &DocumentId("d2".into()), "p")
                .sk
                .starts_with(&waits_prefix(&doc))
        );
    }
}
