//! A Distributed Map's ResultWriter: when every child has ended, their records are written
//! (`S3PutObject` tasks of the driver's) as `<Prefix>/<map run id>/SUCCEEDED_0.json` and
//! `FAILED_0.json` (each only when it has records) and `manifest.json`, and the Map's result
//! says where: `{"MapRunArn", "ResultWriterDetails": {"Bucket", "Key"}}` (recorded on AWS,
//! LocalStack's test_map_state_result_writer, 2024). The records and the manifest follow the
//! Developer Guide's examples (unrecorded): each child's `ExecutionArn`, `Input`, `Name`,
//! `Output` (or `Error` and `Cause`), dates and status; a write that fails fails the run
//! with `States.ResultWriterFailed`.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::distributed::run_succeeded;
use super::{
    Cx, Effect, Frame, FrameStatus, Invocation, MapRun, Outcome, Step, TaskId, finish,
    payload_string, state,
};
use crate::definition::{Integration, Kind, Machine};
use crate::errors::{self, Failure};
use crate::history::EventType;

/// Where a ResultWriter writes: its `Bucket` and `Prefix`, evaluated when the run starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Destination {
    pub(super) bucket: String,
    pub(super) prefix: String,
}

/// A Map Run whose results are being written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Writing {
    /// The writes still out.
    pub(super) pending: Vec<Invocation>,
    /// The Map's result once they are done.
    output: Value,
    /// The id of the run's `MapRunStarted`.
    started_event: u64,
}

impl Writing {
    /// Whether write `task` is still out.
    pub(super) fn waits_for(&self, task: TaskId) -> bool {
        self.pending.iter().any(|i| i.task == task)
    }
}

/// A time as the records have it: RFC 3339 in UTC with milliseconds.
fn date(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let t = t
        .replace_nanosecond(t.millisecond() as u32 * 1_000_000)
        .unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_default()
}

/// Every child has ended: writes their records and the manifest, then waits for the writes.
pub(super) fn start(
    frame: &mut Frame,
    mr: &MapRun,
    dest: &Destination,
    cx: &mut Cx<'_>,
) -> Outcome {
    let Some(run) = &mr.run else {
        return Outcome::Blocked;
    };
    let (mut succeeded, mut failed) = (Vec::new(), Vec::new());
    for ((f, child), input) in mr.frames.iter().zip(&run.children).zip(&mr.items) {
        let mut record = json!({
            "ExecutionArn": child.arn,
            "Input": payload_string(input),
            "InputDetails": {"Included": true},
            "Name": child.name,
        });
        match &f.status {
            FrameStatus::Succeeded(v) => {
                record["Output"] = json!(payload_string(v));
                record["OutputDetails"] = json!({"Included": true});
            }
            FrameStatus::Failed(x) => {
                record["Error"] = json!(x.error);
                record["Cause"] = json!(x.cause);
            }
            _ => continue,
        }
        record["StartDate"] = json!(date(child.started));
        record["StateMachineArn"] = json!(run.machine_arn);
        let status = match f.status {
            FrameStatus::Succeeded(_) => "SUCCEEDED",
            _ => "FAILED",
        };
        record["Status"] = json!(status);
        record["StopDate"] = json!(date(child.stopped.unwrap_or(cx.now)));
        match f.status {
            FrameStatus::Succeeded(_) => succeeded.push(record),
            _ => failed.push(record),
        }
    }
    let run_id = run.arn.rsplit(':').next().unwrap_or_default();
    let dir = match dest.prefix.trim_end_matches('/') {
        "" => run_id.to_owned(),
        prefix => format!("{prefix}/{run_id}"),
    };
    let mut files = Vec::new();
    let mut listed = json!({"FAILED": [], "PENDING": [], "SUCCEEDED": []});
    for (status, records) in [("SUCCEEDED", succeeded), ("FAILED", failed)] {
        if records.is_empty() {
            continue;
        }
        let key = format!("{dir}/{status}_0.json");
        let body = Value::Array(records).to_string();
        listed[status] = json!([{"Key": key, "Size": body.len()}]);
        files.push((key, body));
    }
    let manifest_key = format!("{dir}/manifest.json");
    let manifest = json!({
        "DestinationBucket": dest.bucket,
        "MapRunArn": run.arn,
        "ResultFiles": listed,
    });
    files.push((manifest_key.clone(), manifest.to_string()));
    let state = frame.active.as_ref().expect("active").name.clone();
    let pending = files
        .into_iter()
        .map(|(key, body)| {
            cx.counters.next_task += 1;
            let invocation = Invocation {
                task: TaskId(cx.counters.next_task),
                state: state.clone(),
                resource: "arn:aws:states:::s3:putObject".into(),
                integration: Integration::S3PutObject,
                function: String::new(),
                payload: json!({"Bucket": dest.bucket, "Key": key, "Body": body}),
                token: None,
            };
            cx.effects.push(Effect::InvokeTask(invocation.clone()));
            invocation
        })
        .collect();
    let output = json!({
        "MapRunArn": run.arn,
        "ResultWriterDetails": {"Bucket": dest.bucket, "Key": manifest_key},
    });
    let started_event = run.started_event;
    frame.active.as_mut().expect("active").step = Step::Writing(Box::new(Writing {
        pending,
        output,
        started_event,
    }));
    Outcome::Blocked
}

/// Write `task` ended (`failure` holds the cause when it failed): the run succeeds once every
/// write is done, and fails at the first that fails.
pub(super) fn written(
    frame: &mut Frame,
    machine: &Machine,
    cx: &mut Cx<'_>,
    task: TaskId,
    failure: Option<&str>,
) -> Outcome {
    let (st, _) = state(machine, frame);
    if !matches!(st.kind, Kind::Map(_)) {
        return Outcome::Blocked;
    }
    let active = frame.active.as_mut().expect("active");
    let Step::Writing(w) = &mut active.step else {
        return Outcome::Blocked;
    };
    w.pending.retain(|i| i.task != task);
    if let Some(cause) = failure {
        for i in w.pending.drain(..) {
            cx.effects.push(Effect::CancelTask { task: i.task });
        }
        active.step = Step::Ready;
        let f = Failure::new(errors::RESULT_WRITER_FAILED, cause);
        cx.emit(
            &mut frame.last_event,
            EventType::MapRunFailed,
            json!({"error": f.error, "cause": f.cause}),
        );
        cx.emit(
            &mut frame.last_event,
            EventType::MapStateFailed,
            Value::Null,
        );
        return Outcome::Error(f);
    }
    if !w.pending.is_empty() {
        return Outcome::Blocked;
    }
    let (output, started) = (std::mem::take(&mut w.output), w.started_event);
    active.step = Step::Ready;
    run_succeeded(frame, st, started, cx);
    finish(frame, st, output, cx)
}
