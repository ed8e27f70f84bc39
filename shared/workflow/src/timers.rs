//! Timers and recovery: the next due timer, firing every due one, and re-invoking the tasks
//! a stopped process left pending (invocations happen at least once).

use std::sync::Arc;

use keiyaku_core::ports::{Condition, Query, Write};
use keiyaku_states::{Input, Status};
use time::OffsetDateTime;

use crate::{
    ApplyError, ExecutionSummary, Inner, PAGE, Result, WorkflowError, check_definition, layout,
};

impl Inner {
    pub(crate) async fn next_timer_due(&self) -> Result<Option<OffsetDateTime>> {
        let page = self
            .items
            .query(&Query {
                pk: layout::TIMER_PK.into(),
                sk_prefix: String::new(),
                after: None,
                descending: false,
                limit: 1,
            })
            .await?;
        let Some(item) = page.items.first() else {
            return Ok(None);
        };
        let (due, _, _) = layout::parse_timer_sk(&item.key.sk)
            .ok_or_else(|| WorkflowError::Corrupt(format!("timer key {}", item.key.sk)))?;
        let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(due) * 1_000_000)
            .map_err(|e| WorkflowError::Corrupt(e.to_string()))?;
        Ok(Some(at))
    }

    pub(crate) async fn fire_due_timers(self: &Arc<Self>) -> Result<usize> {
        self.alive()?;
        let mut fired = 0;
        loop {
            let now = layout::now_ms(self.clock.now());
            let page = self
                .items
                .query(&Query {
                    pk: layout::TIMER_PK.into(),
                    sk_prefix: String::new(),
                    after: None,
                    descending: false,
                    limit: PAGE,
                })
                .await?;
            let mut later = page.next.is_none();
            let mut any = false;
            for item in &page.items {
                let Some((due, id, timer)) = layout::parse_timer_sk(&item.key.sk) else {
                    return Err(WorkflowError::Corrupt(format!("timer key {}", item.key.sk)));
                };
                if due > now {
                    later = true;
                    break;
                }
                any = true;
                self.fp("workflow.timer_fired_before_persist")?;
                match self.apply(&id, Input::TimerFired { timer }).await {
                    Ok(true) => fired += 1,
                    Ok(false) | Err(ApplyError::Refused) => {}
                    Err(ApplyError::Failed(WorkflowError::ExecutionDoesNotExist(_))) => {}
                    Err(ApplyError::Failed(
                        e @ (WorkflowError::StateMachineDoesNotExist(_)
                        | WorkflowError::Corrupt(_)
                        | WorkflowError::DefinitionChanged { .. }),
                    )) => {
                        // This process cannot run the execution; keeping the due timer at
                        // the head of the queue would spin the loop. `recover` re-arms it
                        // at the next start (e.g. once the machine is configured again).
                        tracing::error!(execution = %id, error = %e, "timer dropped: the execution cannot run here");
                    }
                    Err(ApplyError::Failed(e)) => return Err(e),
                }
                // The commit removed it if the engine still wanted it; a timer it no longer
                // wanted (it is not pending) is removed here.
                self.items.delete(&item.key, Condition::None).await?;
            }
            if later || !any {
                return Ok(fired);
            }
        }
    }

    pub(crate) async fn recover(self: &Arc<Self>) -> Result<usize> {
        self.alive()?;
        let mut invoked = 0;
        let mut after = None;
        loop {
            let page = self
                .items
                .query(&Query {
                    pk: layout::list_pk(Some(Status::Running)),
                    sk_prefix: String::new(),
                    after: after.clone(),
                    descending: false,
                    limit: PAGE,
                })
                .await?;
            for item in &page.items {
                let summary: ExecutionSummary = serde_json::from_value(item.body.clone())?;
                let id = summary.id;
                let slot = self.slot(&id);
                let mut guard = slot.lock().await;
                let live = match self.load(&id).await {
                    Ok(live) => match self.machines.get(&live.machine) {
                        Some(def) => match check_definition(&id, &live, def) {
                            Ok(()) => live,
                            // Logged by the check; its tasks are not invoked and its timers
                            // not re-armed: nothing of it may run under this definition.
                            Err(_) => continue,
                        },
                        None => {
                            // One execution this process cannot run must not stop the others.
                            tracing::error!(execution = %id, machine = %live.machine, "not recovered: unknown state machine");
                            continue;
                        }
                    },
                    Err(e @ WorkflowError::Corrupt(_)) => {
                        tracing::error!(execution = %id, error = %e, "not recovered");
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                // Timers are committed with the state, so they are normally all there; a
                // timer dropped because its execution could not run is put back here. Nothing
                // else writes at startup, and a timer put back twice only fires as a no-op.
                let rearm: Vec<Write> = live
                    .exec
                    .pending_timers()
                    .into_iter()
                    .map(|t| Write::Put {
                        item: layout::timer_item(t.at, &id, t.id),
                        condition: Condition::None,
                    })
                    .collect();
                for batch in rearm.chunks(keiyaku_core::ports::MAX_TRANSACTION_ITEMS) {
                    self.items.transact(batch.to_vec()).await?;
                }
                let tasks = live.exec.pending_tasks();
                *guard = Some(live);
                drop(guard);
                for inv in tasks {
                    self.spawn_invocation(id.clone(), inv, true);
                    invoked += 1;
                }
            }
            match page.next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        self.wake.notify_one();
        Ok(invoked)
    }
}
