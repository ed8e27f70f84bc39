//! Conformance cases taken from executions recorded on AWS: LocalStack's Step Functions
//! snapshot tests (`tests/aws/services/stepfunctions/v2/…/*.snapshot.json` in
//! localstack/localstack, each recorded against AWS and named here by its test id). Each
//! case runs the recorded definition and input and compares the texts operators search
//! logs for: the error, the cause, and the events around the failure.

mod support;

use serde_json::{Value, json};
use support::{Run, T0};

use keiyaku_states::Status;

/// The last event's details (the `ExecutionFailed` of a failed run).
fn last_details(run: &Run) -> Value {
    run.exec
        .history()
        .last()
        .and_then(|e| e.details().cloned())
        .expect("an event with details")
}

/// A run that failed with `States.Runtime` and `cause`, logged in `ExecutionFailed` right
/// after `after` (the state never exits), as AWS logs it.
fn assert_runtime_failure(run: &Run, cause: &str, after: &str) {
    assert_eq!(run.exec.status(), Status::Failed);
    assert_eq!(run.exec.error(), Some("States.Runtime"));
    assert_eq!(run.exec.cause(), Some(cause));
    let types = run.event_types();
    assert_eq!(
        types[types.len() - 2..],
        [after.to_owned(), "ExecutionFailed".to_owned()]
    );
    assert_eq!(
        last_details(run),
        json!({"error": "States.Runtime", "cause": cause})
    );
}

// test_base_scenarios.py::TestBaseScenarios::test_invalid_jsonpath[ST.INVALID_JSONPATH_IN_INPUTPATH,
// …_OUTPUTPATH, …_TIMEOUTSECONDSPATH, …_HEARTBEATSECONDSPATH] (AWS, 2025-01-02).
#[test]
fn a_path_that_names_nothing_fails_in_jayway_s_words() {
    let input = json!({"int-literal": 0});
    for (field, path) in [
        ("InputPath", "$.NoSuchInputPath"),
        ("OutputPath", "$.NoSuchOutputPath"),
    ] {
        let def = json!({"StartAt": "pass", "States": {"pass": {"Type": "Pass", field: path, "End": true}}});
        let run = Run::start(&def.to_string(), input.clone());
        let key = &path[2..];
        assert_runtime_failure(
            &run,
            &format!(
                "An error occurred while executing the state 'pass' (entered at the event id #2). Invalid path '{path}' : No results for path: $['{key}']"
            ),
            "PassStateEntered",
        );
    }
    for field in ["TimeoutSecondsPath", "HeartbeatSecondsPath"] {
        let def = json!({"StartAt": "task", "States": {"task": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "f", "Payload": {"token.$": "$$.Task.Token"}},
            field: "$.NoSuchTimeoutSecondsPath",
            "End": true
        }}});
        let run = Run::start(&def.to_string(), input.clone());
        assert_runtime_failure(
            &run,
            "An error occurred while executing the state 'task' (entered at the event id #2). Invalid path '$.NoSuchTimeoutSecondsPath' : No results for path: $['NoSuchTimeoutSecondsPath']",
            "TaskStateEntered",
        );
    }
}

// test_base_scenarios.py::TestBaseScenarios::test_catch_states_runtime (AWS, 2023-11-23): an
// OutputPath whose first key is missing, on a Lambda's result; the Catch naming
// States.Runtime is not applied.
#[test]
fn a_missing_key_on_the_way_is_a_missing_property_and_no_catch_takes_it() {
    let def = json!({"Comment": "CATCH_STATE_RUNTIME", "StartAt": "RaiseRuntime", "States": {
        "RaiseRuntime": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:111111111111:function:identity",
            "OutputPath": "$.no.such.result.path",
            "Catch": [{"ErrorEquals": ["States.Runtime"], "Next": "CaughtRuntime"}],
            "Next": "Final"},
        "CaughtRuntime": {"Type": "Pass", "End": true},
        "Final": {"Type": "Pass", "End": true}}});
    let mut run = Run::start(&def.to_string(), json!({}));
    run.succeed(json!({}));
    assert_runtime_failure(
        &run,
        "An error occurred while executing the state 'RaiseRuntime' (entered at the event id #2). Invalid path '$.no.such.result.path' : Missing property in path $['no']",
        "LambdaFunctionSucceeded",
    );
}

// test_base_scenarios.py::TestBaseScenarios::test_invalid_jsonpath[INVALID_JSONPATH_IN_ERRORPATH]
// and [ST.INVALID_JSONPATH_IN_CAUSEPATH] (AWS, 2025-01-02).
#[test]
fn a_fail_state_s_error_or_cause_path_that_names_nothing() {
    for (fail, field, path) in [
        (
            json!({"Type": "Fail", "ErrorPath": "$.ErrorX"}),
            "ErrorPath",
            "$.ErrorX",
        ),
        (
            json!({"Type": "Fail", "ErrorPath": "$.Error", "CausePath": "$.NoSuchCausePath"}),
            "CausePath",
            "$.NoSuchCausePath",
        ),
    ] {
        let def = json!({"StartAt": "pass", "States": {
            "pass": {"Type": "Pass", "Next": "fail", "Parameters": {"Error": "error-value"}},
            "fail": fail}});
        let run = Run::start(&def.to_string(), json!({"int-literal": 0}));
        assert_runtime_failure(
            &run,
            &format!(
                "An error occurred while executing the state 'fail' (entered at the event id #4). The JSONPath '{path}' specified for the field '{field}' could not be found in the input '{{\"Error\":\"error-value\"}}'"
            ),
            "FailStateEntered",
        );
    }
}

// test_wait.py::TestSfnWait::test_base_wait_seconds_path[-1, -1.5, 0, 1, 1.5] (AWS,
// 2024-03-22); test_base_scenarios.py::TestBaseScenarios::test_wait_timestamp_path[NO_T,
// NO_Z, INVALID_DATE, INVALID_TIME, INVALID_ISO, SECONDS, NANOSECONDS] (AWS, 2024-12-27).
#[test]
fn wait_paths_with_values_aws_refuses() {
    let def = json!({"Comment": "WAIT_SECONDS_PATH", "StartAt": "WaitState",
        "States": {"WaitState": {"Type": "Wait", "SecondsPath": "$.input.waitSeconds", "End": true}}});
    for (seconds, problem) in [
        (json!(-1), Some("references a negative value")),
        (json!(-1.5), Some("cannot be parsed as a long value")),
        (json!(1.5), Some("cannot be parsed as a long value")),
        (json!(0), None),
        (json!(1), None),
    ] {
        let mut run = Run::start(&def.to_string(), json!({"input": {"waitSeconds": seconds}}));
        match problem {
            Some(problem) => assert_runtime_failure(
                &run,
                &format!(
                    "An error occurred while executing the state 'WaitState' (entered at the event id #2). The SecondsPath parameter {problem}: $.input.waitSeconds == {seconds}"
                ),
                "WaitStateEntered",
            ),
            None => {
                run.fire_next_timer();
                assert_eq!(run.exec.status(), Status::Succeeded, "{seconds}");
            }
        }
    }
    let def = json!({"StartAt": "WaitUntil",
        "States": {"WaitUntil": {"Type": "Wait", "TimestampPath": "$.TimestampValue", "End": true}}});
    for bad in [
        "2016-12-05 21:29:29Z",
        "2016-12-05T21:29:29",
        "2016-13-05T21:29:29Z",
        "2016-12-05T25:29:29Z",
        "05-12-2016T21:29:29Z",
    ] {
        let run = Run::start(&def.to_string(), json!({"TimestampValue": bad}));
        assert_runtime_failure(
            &run,
            &format!(
                "An error occurred while executing the state 'WaitUntil' (entered at the event id #2). The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: $.TimestampValue == {bad}"
            ),
            "WaitStateEntered",
        );
    }
    for past in ["2016-03-14T01:59:00Z", "2016-03-05T21:29:29.243167252Z"] {
        let mut run = Run::start(&def.to_string(), json!({"TimestampValue": past}));
        run.fire_next_timer();
        assert_eq!(run.exec.status(), Status::Succeeded, "{past}");
    }
}

// test_base_scenarios.py::TestBaseScenarios::test_max_concurrency_path[max_concurrency_value0,
// NoNumber, 0, 1] (AWS, 2024-06-19).
#[test]
fn a_max_concurrency_path_that_is_not_an_integer() {
    let def = json!({"Comment": "MAX_CONCURRENCY_PATH", "StartAt": "MapState", "States": {
        "MapState": {"Type": "Map", "ItemsPath": "$.Values", "MaxConcurrencyPath": "$.MaxConcurrencyValue",
            "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "HandleItem",
                "States": {"HandleItem": {"Type": "Pass", "End": true}}},
            "Next": "Final"},
        "Final": {"Type": "Pass", "End": true}}});
    for (value, quoted) in [(json!("NoNumber"), "NoNumber"), (json!({}), "{}")] {
        let run = Run::start(
            &def.to_string(),
            json!({"MaxConcurrencyValue": value, "Values": ["HelloWorld"]}),
        );
        assert_runtime_failure(
            &run,
            &format!(
                "An error occurred while executing the state 'MapState' (entered at the event id #2). The MaxConcurrencyPath field refers to value \"{quoted}\" which is not a valid integer: $.MaxConcurrencyValue"
            ),
            "MapStateEntered",
        );
    }
    for fine in [0, 1] {
        let run = Run::start(
            &def.to_string(),
            json!({"MaxConcurrencyValue": fine, "Values": ["HelloWorld"]}),
        );
        assert_eq!(run.exec.status(), Status::Succeeded);
    }
}

// test_states_errors.py::TestStatesErrors::test_service_task_lambada_data_limit_exceeded_on_large_utf8_response,
// …_catch_state_all_…, test_task_lambda_data_limit_exceeded_on_large_utf8_response and
// test_start_large_input (AWS, 2024-03-21): a result over the limit names who returned it,
// and a Task's is caught, by States.ALL too.
#[test]
fn results_over_the_payload_limit() {
    let big = json!("a".repeat(257 * 1024));
    let cause = |who: &str| {
        format!(
            "The state/task '{who}' returned a result with a size exceeding the maximum number of bytes service limit."
        )
    };
    let function = "arn:aws:lambda:us-east-1:111111111111:function:large";
    for (resource, who, event) in [
        ("arn:aws:states:::lambda:invoke", "lambda", "TaskFailed"),
        (function, function, "LambdaFunctionFailed"),
    ] {
        let mut task = json!({"Type": "Task", "Resource": resource, "Next": "ProcessResult",
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "HandleGeneralError"}]});
        if resource.starts_with("arn:aws:states") {
            task["Parameters"] =
                json!({"FunctionName.$": "$.FunctionName", "Payload.$": "$.Payload"});
        }
        let def = json!({"StartAt": "InvokeLambda", "States": {
            "InvokeLambda": task,
            "ProcessResult": {"Type": "Pass", "End": true},
            "HandleGeneralError": {"Type": "Pass", "End": true}}});
        let mut run = Run::start(
            &def.to_string(),
            json!({"FunctionName": function, "Payload": null}),
        );
        run.succeed(big.clone());
        let failed = run
            .exec
            .history()
            .iter()
            .find(|e| format!("{:?}", e.kind) == event)
            .cloned()
            .expect("the task's failure");
        assert_eq!(failed.detail_str("error"), Some("States.DataLimitExceeded"));
        assert_eq!(failed.detail_str("cause"), Some(cause(who).as_str()));
        assert_eq!(run.exec.status(), Status::Succeeded);
        assert_eq!(
            run.output(),
            json!({"Error": "States.DataLimitExceeded", "Cause": cause(who)})
        );
        assert_eq!(run.entered().last().unwrap(), "HandleGeneralError");
    }
    let def = json!({"StartAt": "State_1", "States": {"State_1": {"Type": "Pass", "Result": {"Arg1": big}, "End": true}}});
    let run = Run::start(&def.to_string(), json!({}));
    assert_eq!(run.exec.error(), Some("States.DataLimitExceeded"));
    assert_eq!(run.exec.cause(), Some(cause("State_1").as_str()));
    assert_eq!(
        run.event_types(),
        ["ExecutionStarted", "PassStateEntered", "ExecutionFailed"]
    );
}

// test_task_service_lambda.py::TestTaskServiceLambda::test_raise_exception_catch and
// test_task_lambda.py::TestTaskLambda::test_raise_exception_catch (AWS, 2023-06-22): the
// same Python function error, re-serialised compactly through lambda:invoke, verbatim
// through a plain function ARN.
#[test]
fn a_function_error_s_payload_is_the_cause() {
    let payload = r#"{"errorMessage": "Some exception was raised.", "errorType": "Exception", "requestId": "1b2c", "stackTrace": ["  File \"/var/task/handler.py\", line 2, in handler\n    raise Exception(\"Some exception was raised.\")\n"]}"#;
    let compact = r#"{"errorMessage":"Some exception was raised.","errorType":"Exception","requestId":"1b2c","stackTrace":["  File \"/var/task/handler.py\", line 2, in handler\n    raise Exception(\"Some exception was raised.\")\n"]}"#;
    for (resource, cause) in [
        ("arn:aws:states:::lambda:invoke", compact),
        (
            "arn:aws:lambda:us-east-1:111111111111:function:raise",
            payload,
        ),
    ] {
        let mut task = json!({"Type": "Task", "Resource": resource, "End": true,
            "Catch": [{"ErrorEquals": ["Exception"], "Next": "Caught"}]});
        if resource.starts_with("arn:aws:states") {
            task["Parameters"] = json!({"FunctionName": "raise", "Payload": null});
        }
        let def = json!({"StartAt": "Start", "States": {"Start": task, "Caught": {"Type": "Pass", "End": true}}});
        let mut run = Run::start(&def.to_string(), json!({}));
        run.fail("Exception", payload);
        assert_eq!(run.output(), json!({"Error": "Exception", "Cause": cause}));
    }
}

// test_timeouts.py::TestTimeouts::test_fixed_timeout_service_lambda and
// test_fixed_timeout_lambda, test_task_service_lambda.py::TestTaskServiceLambda::test_invoke_timeout
// (AWS, 2024-03-10): a task's timeout has no cause.
#[test]
fn a_task_timeout_has_no_cause() {
    for (resource, event, details) in [
        (
            "arn:aws:states:::lambda:invoke",
            "TaskTimedOut",
            json!({"error": "States.Timeout", "resource": "invoke", "resourceType": "lambda"}),
        ),
        (
            "arn:aws:lambda:us-east-1:111111111111:function:sleep",
            "LambdaFunctionTimedOut",
            json!({"error": "States.Timeout"}),
        ),
    ] {
        let mut task =
            json!({"Type": "Task", "Resource": resource, "TimeoutSeconds": 5, "End": true});
        if resource.starts_with("arn:aws:states") {
            task["Parameters"] = json!({"FunctionName": "sleep", "Payload": null});
        }
        let def = json!({"StartAt": "Start", "States": {"Start": task.clone()}});
        let mut run = Run::start(&def.to_string(), json!({}));
        run.fire_next_timer();
        let timed_out = run
            .exec
            .history()
            .iter()
            .find(|e| format!("{:?}", e.kind) == event)
            .and_then(|e| e.details().cloned());
        assert_eq!(timed_out, Some(details));
        assert_eq!(last_details(&run), json!({"error": "States.Timeout"}));
        assert_eq!(run.exec.cause(), None);

        task["Catch"] = json!([{"ErrorEquals": ["States.Timeout"], "Next": "Caught"}]);
        let def = json!({"StartAt": "Start", "States": {"Start": task, "Caught": {"Type": "Pass", "End": true}}});
        let mut run = Run::start(&def.to_string(), json!({}));
        run.fire_next_timer();
        assert_eq!(
            run.output(),
            json!({"Error": "States.Timeout", "Cause": ""})
        );
    }
}

// test_lambda_task_service.py::TestTaskServiceLambda::test_invoke and
// test_invoke_unsupported_param (AWS, 2025-11-06): the Invoke response's shape, with and
// without `LogType: Tail`.
#[test]
fn lambda_invoke_results_carry_the_invoke_response_as_aws_gives_it() {
    let def = |log_type: Option<&str>| {
        let mut parameters = json!({"FunctionName.$": "$.FunctionName", "Payload.$": "$.Payload"});
        if let Some(l) = log_type {
            parameters["LogType"] = json!(l);
        }
        json!({"StartAt": "Start", "States": {
            "Start": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": parameters, "Next": "EndWithFinal"},
            "EndWithFinal": {"Type": "Pass", "ResultPath": "$.final", "End": true}}})
        .to_string()
    };
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    for log_type in [None, Some("None"), Some("Tail")] {
        let mut run = Run::start(
            &def(log_type),
            json!({"FunctionName": "f", "Payload": null}),
        );
        run.succeed(json!({}));
        let out = run.output();
        let tail = log_type == Some("Tail");
        let mut top = vec![
            "ExecutedVersion",
            "Payload",
            "SdkHttpMetadata",
            "SdkResponseMetadata",
            "StatusCode",
            "final",
        ];
        let mut all = vec![
            "X-Amz-Executed-Version",
            "x-amzn-Remapped-Content-Length",
            "Connection",
            "x-amzn-RequestId",
            "Content-Length",
            "Date",
            "X-Amzn-Trace-Id",
            "Content-Type",
        ];
        let mut sorted = vec![
            "Connection",
            "Content-Length",
            "Content-Type",
            "Date",
            "X-Amz-Executed-Version",
            "x-amzn-Remapped-Content-Length",
            "x-amzn-RequestId",
            "X-Amzn-Trace-Id",
        ];
        if tail {
            top.insert(1, "LogResult");
            all.insert(0, "X-Amz-Log-Result");
            sorted.insert(5, "X-Amz-Log-Result");
        }
        assert_eq!(keys(&out), top);
        let meta = &out["SdkHttpMetadata"];
        assert_eq!(keys(&meta["AllHttpHeaders"]), all);
        assert_eq!(keys(&meta["HttpHeaders"]), sorted);
        let headers = &meta["HttpHeaders"];
        assert_eq!(headers["Content-Length"], "2");
        assert_eq!(headers["Connection"], "keep-alive");
        assert_eq!(headers["x-amzn-Remapped-Content-Length"], "0");
        assert_eq!(headers["Date"], "Mon, 01 Apr 2024 09:00:00 GMT");
        assert_eq!(meta["AllHttpHeaders"]["Date"], json!([headers["Date"]]));
        let trace = headers["X-Amzn-Trace-Id"].as_str().unwrap();
        let root = format!("Root=1-{:08x}-", T0.unix_timestamp());
        assert!(
            trace.starts_with(&root) && trace.ends_with(";Sampled=0"),
            "{trace}"
        );
        assert_eq!(
            headers["x-amzn-RequestId"],
            out["SdkResponseMetadata"]["RequestId"]
        );
        if tail {
            use base64::Engine as _;
            let log = base64::engine::general_purpose::STANDARD
                .decode(out["LogResult"].as_str().unwrap())
                .unwrap();
            let request = headers["x-amzn-RequestId"].as_str().unwrap();
            assert_eq!(
                String::from_utf8(log).unwrap(),
                format!("START RequestId: {request} Version: $LATEST\nEND RequestId: {request}\n")
            );
            assert_eq!(headers["X-Amz-Log-Result"], out["LogResult"]);
        }
    }
    let refused = keiyaku_states::Definition::parse(&def(Some("Verbose"))).unwrap_err();
    assert_eq!(refused.path, "$.States.Start.Parameters.LogType");
}
