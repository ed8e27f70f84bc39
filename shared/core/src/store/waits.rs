//! The waits of a send in the store: each party's latest task token (server-side only,
//! never mailed), and who the document waits for now.

use crate::domain::document::{Document, Ids, Phase, Status};
use crate::error::Result;
use crate::ports::Key;
use crate::services::needs::Items;
use crate::store::keys;

/// Where a party's latest task token waits (server-side only; never mailed). The party
/// `ops` is the parked failed seal's token, which an operator's retry completes.
pub(crate) fn wait_key(ids: &Ids, party: &str) -> Key {
    keys::wait(&ids.team_id, &ids.document_id, party)
}

/// The waits recorded in this send: (party, task token), parked seals included.
pub(crate) async fn waits(s: &impl Items, ids: &Ids) -> Result<Vec<(String, String)>> {
    let page = s
        .items()
        .query(&crate::ports::Query {
            pk: keys::team_pk(&ids.team_id),
            sk_prefix: keys::waits_prefix(&ids.document_id),
            after: None,
            descending: false,
            // At most every approver, every recipient and the parked seal.
            limit: 100,
        })
        .await?;
    Ok(page
        .items
        .into_iter()
        .filter(|item| item.body["send"] == ids.send)
        .filter_map(|item| {
            let party = item.key.sk.rsplit('#').next()?.to_owned();
            let token = item.body["task_token"].as_str()?.to_owned();
            Some((party, token))
        })
        .collect())
}

/// The latest task token a party's wait left (what an answer completes).
pub async fn waiting_token(s: &impl Items, ids: &Ids, party: &str) -> Result<Option<String>> {
    Ok(s.items()
        .get(&wait_key(ids, party))
        .await?
        .filter(|item| item.body["send"] == ids.send)
        .and_then(|item| item.body["task_token"].as_str().map(str::to_owned)))
}

/// The party the document waits for now: asked (their wait recorded) and not yet answered;
/// none while a seal is being applied or once it ended.
pub(crate) async fn current_party(
    s: &impl Items,
    doc: &Document,
) -> Result<Option<(Phase, String)>> {
    let phase = match doc.status {
        Status::AwaitingApproval => Phase::Approval,
        Status::InProgress => Phase::Agreement,
        _ => return Ok(None),
    };
    let ids = doc.current_send();
    let asked: Vec<String> = crate::store::waits::waits(s, &ids)
        .await?
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    let parties: Vec<&String> = match phase {
        Phase::Approval => doc.approvers.iter().map(|a| &a.id).collect(),
        Phase::Agreement => doc.recipients.iter().map(|r| &r.id).collect(),
    };
    Ok(parties
        .into_iter()
        .find(|p| asked.contains(p) && doc.answer_of(ids.send, p).is_none())
        .map(|p| (phase, p.clone())))
}

/// The party name under which a parked seal's token is kept.
pub(crate) const OPS_PARTY: &str = "ops";
