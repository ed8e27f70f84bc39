//! The follow-ups of a committed change: starting the send's execution, completing a
//! party's waiting task with their answer, failing the waiting tasks of a cancelled send.
//! Each is recorded in the outbox with the change; done here and cleared; and if it fails,
//! left for the reconciler, which the scheduler runs shortly (and every start runs).

use serde_json::json;

use crate::domain::answer::Decision;
use crate::domain::document::Ids;
use crate::error::{Error, Result};
use crate::ports::{Condition, Query, WorkflowError};
use crate::services::needs::{Items, Schedule, Time, Workflows};
use crate::store::keys;
use crate::store::outbox::Pending;

/// Schedules the reminders before the deadline, starts the send's execution (a running one
/// with the same input is left as it is) and clears its outbox entry.
pub(crate) async fn start(s: &(impl Items + Workflows + Schedule + Time), ids: &Ids) -> Result<()> {
    let input = serde_json::to_value(ids).map_err(Error::internal)?;
    let (doc, _) = crate::store::documents::load(s, ids).await?;
    if let Some(deadline) = doc.expires_at {
        crate::app::jobs::schedule_reminders(s, ids, deadline).await?;
    }
    match s.workflow().start(&ids.execution_name(), input).await {
        Ok(_) => {}
        // Ended already, or (impossibly) another input: nothing to start.
        Err(WorkflowError::AlreadyExists) => {
            tracing::warn!(execution = %ids.execution_name(), "execution already exists");
        }
        Err(other) => return Err(other.into()),
    }
    done(s, &Pending::Start { ids: ids.clone() }).await
}

async fn done(s: &impl Items, pending: &Pending) -> Result<()> {
    s.items().delete(&pending.key(), Condition::None).await?;
    Ok(())
}

/// Completes the party's waiting task with their recorded answer and clears the outbox
/// entry. Without a token yet (the wait has not recorded it) the entry stays: the wait
/// delivers it when it runs.
pub(crate) async fn deliver(
    s: &(impl Items + Workflows),
    ids: &Ids,
    party: &str,
    decision: Decision,
) -> Result<()> {
    let Some(token) = crate::store::waits::waiting_token(s, ids, party).await? else {
        return Ok(());
    };
    match s
        .workflow()
        .succeed_task(&token, json!({ "decision": decision }))
        .await
    {
        // Gone: delivered before (a replay, the reconciler), or the wait ended otherwise.
        Ok(()) | Err(WorkflowError::TaskGone) => {}
        Err(other) => return Err(other.into()),
    }
    done(
        s,
        &Pending::Answer {
            ids: ids.clone(),
            party_id: party.to_owned(),
            decision,
        },
    )
    .await
}

/// The follow-up of a committed change (starting an execution, completing or failing a
/// task) failed: its outbox entry stays, and the reconciler is scheduled to finish it, so
/// the caller is answered for what was committed.
pub(crate) async fn follow_up(s: &(impl Schedule + Time), result: Result<()>) {
    if let Err(e) = result {
        tracing::warn!(error = %e, "a follow-up is left in the outbox; the reconciler will finish it");
        crate::app::jobs::schedule_reconcile(s).await;
    }
}

/// Fails every task the send waits on with `Keiyaku.Cancelled`, then clears the outbox.
pub(crate) async fn fail_waiting(s: &(impl Items + Workflows), ids: &Ids) -> Result<()> {
    for (_, token) in crate::store::waits::waits(s, ids).await? {
        match s
            .workflow()
            .fail_task(
                &token,
                "Keiyaku.Cancelled",
                "the sender cancelled the document",
            )
            .await
        {
            Ok(()) | Err(WorkflowError::TaskGone) => {}
            Err(other) => return Err(other.into()),
        }
    }
    done(s, &Pending::Cancel { ids: ids.clone() }).await
}

/// What a reconciliation did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reconciled {
    /// Follow-ups finished.
    pub finished: usize,
    /// Follow-ups still left (failed again, or an answer whose wait has not run yet).
    pub left: usize,
}

/// Finishes every follow-up left in the outbox (a process stopped, or a dependency failed,
/// between a committed change and its effect on the workflow). Runs at start and whenever
/// a follow-up failed (through the scheduler); one that fails again stays for the next run.
pub async fn reconcile(s: &(impl Items + Workflows + Schedule + Time)) -> Result<Reconciled> {
    let mut done = Reconciled::default();
    let mut after = None;
    loop {
        let page = s
            .items()
            .query(&Query {
                pk: keys::PENDING.into(),
                sk_prefix: String::new(),
                after: after.clone(),
                descending: false,
                limit: 1000,
            })
            .await?;
        for item in &page.items {
            reconcile_one(s, item, &mut done).await;
        }
        match page.next {
            Some(n) => after = Some(n),
            None => return Ok(done),
        }
    }
}

async fn reconcile_one(
    s: &(impl Items + Workflows + Schedule + Time),
    item: &crate::ports::Item,
    done: &mut Reconciled,
) {
    {
        let pending: Pending = match serde_json::from_value(item.body.clone()) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(key = %item.key.sk, error = %e, "unreadable outbox entry");
                done.left += 1;
                return;
            }
        };
        let result = match &pending {
            Pending::Start { ids } => start(s, ids).await,
            Pending::Answer {
                ids,
                party_id,
                decision,
            } => deliver(s, ids, party_id, *decision).await,
            Pending::Cancel { ids } => fail_waiting(s, ids).await,
        };
        match result {
            Ok(()) => done.finished += 1,
            Err(e) => {
                done.left += 1;
                tracing::warn!(key = %item.key.sk, error = %e, "outbox entry not finished");
            }
        }
    }
}
