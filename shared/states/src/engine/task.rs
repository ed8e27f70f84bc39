//! A Task's invocation as Step Functions reports it: the Lambda Invoke response, the
//! events of a task's end, and delivering a result, a failure or a timeout to a waiting task.

use super::*;

/// What `lambda:invoke` gives ResultSelector/ResultPath: Lambda's Invoke response, the
/// handler's output under `Payload` (hence the common `OutputPath: $.Payload`), with the
/// headers as AWS records them (LocalStack's `test_invoke`, AWS, 2025): the list-valued
/// `AllHttpHeaders` in the order the service sends them and the `HttpHeaders` sorted
/// without regard to case. `Content-Length` is the length of the function's response (our
/// handlers answer compact JSON), `Date` is now, the request and trace ids are fresh (a
/// trace id as X-Ray writes one). With `LogType: Tail` the log's tail comes back as
/// `LogResult` (base64) and `X-Amz-Log-Result`: for an in-process handler, the platform's
/// START and END lines, as it writes no log lines of its own. Plain function ARNs and
/// task-token callbacks give the output as it is.
pub(super) fn lambda_response(
    payload: Value,
    now: OffsetDateTime,
    log_tail: bool,
    rng: &mut Rng,
) -> Value {
    let request_id = rng.uuid();
    let len = payload.to_string().len().to_string();
    let date = http_date(now);
    let trace = format!(
        "Root=1-{:08x}-{:024x};Parent={:016x};Sampled=0",
        now.unix_timestamp(),
        u128::from(rng.next_u64()) << 32 | u128::from(rng.next_u64() as u32),
        rng.next_u64()
    );
    let log = log_tail.then(|| {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(format!(
            "START RequestId: {request_id} Version: $LATEST\nEND RequestId: {request_id}\n"
        ))
    });
    let mut all = Map::new();
    if let Some(l) = &log {
        all.insert("X-Amz-Log-Result".into(), json!([l]));
    }
    for (name, value) in [
        ("X-Amz-Executed-Version", "$LATEST"),
        ("x-amzn-Remapped-Content-Length", "0"),
        ("Connection", "keep-alive"),
        ("x-amzn-RequestId", &request_id),
        ("Content-Length", &len),
        ("Date", &date),
        ("X-Amzn-Trace-Id", &trace),
        ("Content-Type", "application/json"),
    ] {
        all.insert(name.into(), json!([value]));
    }
    let mut headers: Vec<(String, Value)> =
        all.iter().map(|(k, v)| (k.clone(), v[0].clone())).collect();
    headers.sort_by_key(|(k, _)| k.to_ascii_lowercase());
    let mut out = Map::new();
    out.insert("ExecutedVersion".into(), json!("$LATEST"));
    if let Some(l) = log {
        out.insert("LogResult".into(), json!(l));
    }
    out.insert("Payload".into(), payload);
    out.insert(
        "SdkHttpMetadata".into(),
        json!({
            "AllHttpHeaders": all,
            "HttpHeaders": Map::from_iter(headers),
            "HttpStatusCode": 200
        }),
    );
    out.insert(
        "SdkResponseMetadata".into(),
        json!({ "RequestId": request_id }),
    );
    out.insert("StatusCode".into(), json!(200));
    Value::Object(out)
}

/// An HTTP date (RFC 9110's IMF-fixdate): `Thu, 05 Feb 2026 20:02:22 GMT`.
pub(super) fn http_date(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    t.format(&format).unwrap_or_default()
}

pub(super) fn resource_names(i: Integration) -> (&'static str, &'static str) {
    match i {
        Integration::LambdaInvoke => ("lambda", "invoke"),
        Integration::LambdaInvokeWaitForTaskToken => ("lambda", "invoke.waitForTaskToken"),
        Integration::LambdaFunction => ("lambda", "function"),
        Integration::S3GetObject => ("s3", "getObject"),
        Integration::S3ListObjectsV2 => ("s3", "listObjectsV2"),
        Integration::S3PutObject => ("s3", "putObject"),
    }
}

/// How a task's result is logged. A plain function ARN logs AWS's `LambdaFunction*` events
/// (without `resourceType`/`resource`); a service integration logs the `Task*` events.
pub(super) fn task_result_event(
    i: Integration,
    outcome: TaskOutcome,
    mut details: Value,
) -> (EventType, Value) {
    let legacy = i == Integration::LambdaFunction;
    if legacy && let Some(map) = details.as_object_mut() {
        map.remove("resourceType");
        map.remove("resource");
    }
    let kind = match (outcome, legacy) {
        (TaskOutcome::Succeeded, false) => EventType::TaskSucceeded,
        (TaskOutcome::Failed, false) => EventType::TaskFailed,
        (TaskOutcome::TimedOut, false) => EventType::TaskTimedOut,
        (TaskOutcome::Succeeded, true) => EventType::LambdaFunctionSucceeded,
        (TaskOutcome::Failed, true) => EventType::LambdaFunctionFailed,
        (TaskOutcome::TimedOut, true) => EventType::LambdaFunctionTimedOut,
    };
    (kind, details)
}

/// How a task ended, for its history event.
#[derive(Clone, Copy)]
pub(super) enum TaskOutcome {
    Succeeded,
    Failed,
    TimedOut,
}

pub(super) fn task_matches(t: &TaskWait, r: &TaskRef) -> bool {
    match r {
        TaskRef::Id(id) => t.invocation.task == *id,
        TaskRef::Token(tok) => t.invocation.token.as_deref() == Some(tok.as_str()),
    }
}

pub(super) enum TaskEvent {
    Stay,
    Done(Result<Value, Failure>),
}

pub(super) fn deliver_task(
    t: &mut TaskWait,
    prev: &mut u64,
    input: &Input,
    cx: &mut Cx<'_>,
) -> Option<TaskEvent> {
    let (rtype, rname) = resource_names(t.invocation.integration);
    let stop_timers = |t: &TaskWait, cx: &mut Cx<'_>| {
        if let Some(x) = &t.timeout {
            cx.cancel_timer(x);
        }
        if let Some((x, _)) = &t.heartbeat {
            cx.cancel_timer(x);
        }
    };
    match input {
        Input::TaskSubmitted { task, output } if task_matches(t, task) => {
            cx.emit(
                prev,
                EventType::TaskSubmitted,
                json!({"resourceType": rtype, "resource": rname, "output": payload_string(output)}),
            );
            Some(TaskEvent::Stay)
        }
        Input::TaskHeartbeat { task } if task_matches(t, task) => {
            if let Some((old, secs)) = t.heartbeat {
                cx.cancel_timer(&old);
                let fresh = cx.timer(cx.now + Duration::seconds(secs as i64));
                t.heartbeat = Some((fresh, secs));
            }
            Some(TaskEvent::Stay)
        }
        Input::TaskSucceeded { task, output } if task_matches(t, task) => {
            stop_timers(t, cx);
            if too_big(output) {
                let f = result_too_big(match t.invocation.integration {
                    Integration::LambdaFunction => &t.invocation.function,
                    _ => rtype,
                });
                let (kind, details) = task_result_event(
                    t.invocation.integration,
                    TaskOutcome::Failed,
                    json!({"resourceType": rtype, "resource": rname, "error": f.error, "cause": f.cause}),
                );
                cx.emit(prev, kind, details);
                return Some(TaskEvent::Done(Err(f)));
            }
            let result = match t.invocation.integration {
                Integration::LambdaInvoke => {
                    lambda_response(output.clone(), cx.now, t.log_tail, &mut cx.counters.rng)
                }
                _ => output.clone(),
            };
            let (kind, details) = task_result_event(
                t.invocation.integration,
                TaskOutcome::Succeeded,
                json!({"resourceType": rtype, "resource": rname, "output": payload_string(&result), "outputDetails": {"truncated": false}}),
            );
            cx.emit(prev, kind, details);
            Some(TaskEvent::Done(Ok(result)))
        }
        Input::TaskFailed { task, error, cause } if task_matches(t, task) => {
            stop_timers(t, cx);
            // Through `lambda:invoke` AWS re-serialises a function's error payload compactly;
            // a plain function ARN passes it on as the function wrote it (both recorded).
            let cause = match (
                t.invocation.integration,
                serde_json::from_str::<Value>(cause),
            ) {
                (Integration::LambdaFunction, _) | (_, Err(_)) => cause.clone(),
                (_, Ok(payload)) => payload.to_string(),
            };
            let (kind, details) = task_result_event(
                t.invocation.integration,
                TaskOutcome::Failed,
                json!({"resourceType": rtype, "resource": rname, "error": error, "cause": cause}),
            );
            cx.emit(prev, kind, details);
            Some(TaskEvent::Done(Err(Failure::new(error.clone(), cause))))
        }
        Input::TimerFired { timer } => {
            let which = if t.timeout.is_some_and(|x| x.id == *timer) {
                errors::TIMEOUT
            } else if t.heartbeat.is_some_and(|(x, _)| x.id == *timer) {
                errors::HEARTBEAT_TIMEOUT
            } else {
                return None;
            };
            stop_timers(t, cx);
            cx.effects.push(Effect::CancelTask {
                task: t.invocation.task,
            });
            // AWS gives a timeout no cause: the events have none, and a Catch sees
            // `"Cause": ""` (recorded).
            let (kind, details) = task_result_event(
                t.invocation.integration,
                TaskOutcome::TimedOut,
                json!({"resourceType": rtype, "resource": rname, "error": which}),
            );
            cx.emit(prev, kind, details);
            Some(TaskEvent::Done(Err(Failure::new(which, ""))))
        }
        _ => None,
    }
}
