//! A Distributed Map's ResultWriter: when every child has ended, their records are written
//! (`S3PutObject` tasks of the driver's) as `<Prefix>/<map run id>/SUCCEEDED_0.json` and
//! `FAILED_0.json` (each only when it has records) and `manifest.json`, and the Map's result
//! says where: `{"MapRunArn", "ResultWriterDetails": {"Bucket", "Key"}}` (recorded on AWS,
//! LocalStack's test_map_state_result_writer, 2024). The records and the manifest follow the
//! Developer Guide's examples (unrecorded): each child's `ExecutionArn`, `Input`, `Name`,
//! `Output` (or `Error` and `Cause`), dates and status; the manifest is written after the
//! files it lists; a write that fails fails the run with `States.ResultWriterFailed`.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::distributed::{run_failed, run_succeeded, s3_task};
use super::{
    Cx, DistributedRun, Effect, Frame, FrameStatus, Invocation, MapRun, Outcome, Step, TaskId,
    finish, payload_string, state,
};
use crate::definition::{Integration, Machine};
use crate::errors::{self, Failure};

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
    /// The manifest's write, made once the result files are written (so it never names a
    /// file that is not there).
    manifest: Option<Value>,
    /// The Map's result once every write is done.
    output: Value,
    /// The id of the run's `MapRunStarted`.
    started_event: Option<u64>,
}

impl Writing {
    /// Whether write `task` is still out.
    pub(super) fn waits_for(&self, task: TaskId) -> bool {
        self.pending.iter().any(|i| i.task == task)
    }
}

/// The largest results file written: the files wait in the execution's snapshot until
/// they are written.
const MAX_RESULTS_BYTES: usize = 8 << 20;

/// A time as the records have it: RFC 3339 in UTC with milliseconds.
fn date(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let t = t
        .replace_nanosecond(t.millisecond() as u32 * 1_000_000)
        .unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_default()
}

/// Each ended child's record, successes and failures apart.
fn records(mr: &MapRun, run: &DistributedRun, now: OffsetDateTime) -> (Vec<Value>, Vec<Value>) {
    let (mut succeeded, mut failed) = (Vec::new(), Vec::new());
    for ((f, child), input) in mr.frames.iter().zip(&run.children).zip(&mr.items) {
        let mut record = json!({
            "ExecutionArn": child.arn,
            "Input": payload_string(input),
            "InputDetails": {"Included": true},
            "Name": child.name,
        });
        let status = match &f.status {
            FrameStatus::Succeeded(v) => {
                record["Output"] = json!(payload_string(v));
                record["OutputDetails"] = json!({"Included": true});
                "SUCCEEDED"
            }
            FrameStatus::Failed(x) => {
                record["Error"] = json!(x.error);
                record["Cause"] = json!(x.cause);
                "FAILED"
            }
            _ => continue,
        };
        record["StartDate"] = json!(date(child.started));
        record["StateMachineArn"] = json!(run.machine_arn);
        record["Status"] = json!(status);
        record["StopDate"] = json!(date(child.stopped.unwrap_or(now)));
        match status {
            "SUCCEEDED" => succeeded.push(record),
            _ => failed.push(record),
        }
    }
    (succeeded, failed)
}

/// Every child has ended: writes their records, then the manifest, and waits for the writes.
pub(super) fn start(
    frame: &mut Frame,
    mr: MapRun,
    run: DistributedRun,
    dest: Destination,
    cx: &mut Cx<'_>,
) -> Outcome {
    let (succeeded, failed) = records(&mr, &run, cx.now);
    let run_id = run.arn.rsplit(':').next().unwrap_or_default();
    let dir = match dest.prefix.trim_end_matches('/') {
        "" => run_id.to_owned(),
        prefix => format!("{prefix}/{run_id}"),
    };
    let state = frame.active.as_ref().expect("active").name.clone();
    let mut listed = json!({"FAILED": [], "PENDING": [], "SUCCEEDED": []});
    let mut pending = Vec::new();
    for (status, records) in [("SUCCEEDED", succeeded), ("FAILED", failed)] {
        if records.is_empty() {
            continue;
        }
        let key = format!("{dir}/{status}_0.json");
        let body = Value::Array(records).to_string();
        if body.len() > MAX_RESULTS_BYTES {
            let cause = format!(
                "The results file {key} would hold {} bytes, more than the {MAX_RESULTS_BYTES} this engine writes",
                body.len()
            );
            return run_failed(frame, cx, Failure::new(errors::RESULT_WRITER_FAILED, cause));
        }
        listed[status] = json!([{"Key": key, "Size": body.len()}]);
        let payload = json!({"Bucket": dest.bucket, "Key": key, "Body": body});
        pending.push(s3_task(cx, &state, Integration::S3PutObject, payload));
    }
    let manifest_key = format!("{dir}/manifest.json");
    let manifest = json!({
        "DestinationBucket": dest.bucket,
        "MapRunArn": run.arn,
        "ResultFiles": listed,
    });
    let manifest =
        json!({"Bucket": dest.bucket, "Key": manifest_key, "Body": manifest.to_string()});
    let output = json!({
        "MapRunArn": run.arn,
        "ResultWriterDetails": {"Bucket": dest.bucket, "Key": manifest_key},
    });
    let mut writing = Writing {
        pending,
        manifest: Some(manifest),
        output,
        started_event: run.started_event,
    };
    if writing.pending.is_empty() {
        writing.pending.push(s3_task(
            cx,
            &state,
            Integration::S3PutObject,
            writing.manifest.take().unwrap_or_default(),
        ));
    }
    frame.active.as_mut().expect("active").step = Step::Writing(Box::new(writing));
    Outcome::Blocked
}

/// Write `task` ended (`failure` holds the cause when it failed): the manifest follows the
/// result files; the run succeeds once it is written, and fails at the first write that
/// fails.
pub(super) fn written(
    frame: &mut Frame,
    machine: &Machine,
    cx: &mut Cx<'_>,
    task: TaskId,
    failure: Option<&str>,
) -> Outcome {
    let (st, _) = state(machine, frame);
    let active = frame.active.as_mut().expect("active");
    let name = active.name.clone();
    let Step::Writing(w) = &mut active.step else {
        return Outcome::Blocked;
    };
    w.pending.retain(|i| i.task != task);
    if let Some(cause) = failure {
        for i in w.pending.drain(..) {
            cx.effects.push(Effect::CancelTask { task: i.task });
        }
        let f = Failure::new(errors::RESULT_WRITER_FAILED, cause);
        return run_failed(frame, cx, f);
    }
    if !w.pending.is_empty() {
        return Outcome::Blocked;
    }
    if let Some(manifest) = w.manifest.take() {
        w.pending
            .push(s3_task(cx, &name, Integration::S3PutObject, manifest));
        return Outcome::Blocked;
    }
    let (output, started) = (std::mem::take(&mut w.output), w.started_event);
    active.step = Step::Ready;
    run_succeeded(frame, st, started, cx);
    finish(frame, st, output, cx)
}
