//! A Distributed Map's ResultWriter: the children's records go to objects (`S3PutObject`
//! tasks of the driver's) and the Map's result says where. The events and the Map's result
//! are as recorded on AWS by LocalStack's snapshot test test_map_state_result_writer
//! (2024-08-19); the records and the manifest follow the Developer Guide's examples, which
//! no recording shows.

mod support;

use keiyaku_states::{Integration, Invocation, Status};
use serde_json::{Value, json};
use support::Run;

fn machine(child: Value, tolerated: Option<u64>) -> Value {
    let mut map = json!({"Type": "Map",
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "IteratorInner", "States": {"IteratorInner": child}},
        "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": "result-bucket", "Prefix": "mapJobs"}},
        "Label": "TestMap", "End": true});
    if let Some(n) = tolerated {
        map["ToleratedFailureCount"] = json!(n);
    }
    json!({"Comment": "MAP_STATE_RESULT_WRITER_JSON", "StartAt": "MapState", "States": {"MapState": map}})
}

/// Runs `def`, keeping every object written (and failing the write of `refuse`, if any);
/// Lambda tasks fail on input "bad" and echo anything else.
fn run(def: &Value, input: Value, refuse: Option<&str>) -> (Run, Vec<Invocation>) {
    let mut run = Run::start(&def.to_string(), input);
    let mut writes = Vec::new();
    run.run(|t| match t.integration {
        Integration::S3PutObject => {
            writes.push(t.clone());
            match refuse {
                Some(k)
                    if t.payload["Key"]
                        .as_str()
                        .is_some_and(|key| key.ends_with(k)) =>
                {
                    Err(("S3.AccessDenied".into(), "Access Denied".into()))
                }
                _ => Ok(json!({})),
            }
        }
        _ if t.payload == json!("bad") => Err(("Item.Bad".into(), "bad item".into())),
        _ => Ok(t.payload.clone()),
    });
    (run, writes)
}

fn body(w: &Invocation) -> Value {
    serde_json::from_str(w.payload["Body"].as_str().expect("a body")).expect("JSON")
}

// test_map_state_result_writer: the Map's result names the manifest; the events are the
// Map Run's.
#[test]
fn results_are_written_and_the_map_says_where() {
    let def = machine(json!({"Type": "Pass", "End": true}), None);
    let (run, writes) = run(&def, json!(["Hello", "World"]), None);
    assert_eq!(
        run.event_types(),
        [
            "ExecutionStarted",
            "MapStateEntered",
            "MapStateStarted",
            "MapRunStarted",
            "MapRunSucceeded",
            "MapStateSucceeded",
            "MapStateExited",
            "ExecutionSucceeded"
        ]
    );
    let history = run.exec.history();
    assert_eq!(history[2].details(), Some(&json!({"length": 2})));
    assert_eq!(history[6].previous_event_id, 5);
    let arn = history[3].detail_str("mapRunArn").unwrap().to_owned();
    assert!(arn.contains(":mapRun:keiyaku/TestMap:"), "{arn}");
    let run_id = arn.rsplit(':').next().unwrap();
    let manifest = format!("mapJobs/{run_id}/manifest.json");
    assert_eq!(
        run.output(),
        json!({"MapRunArn": arn, "ResultWriterDetails": {"Bucket": "result-bucket", "Key": manifest}})
    );

    // What was written: the successes' records, then the manifest that lists them.
    let keys: Vec<&str> = writes
        .iter()
        .map(|w| w.payload["Key"].as_str().unwrap())
        .collect();
    let results = format!("mapJobs/{run_id}/SUCCEEDED_0.json");
    assert_eq!(keys, [results.as_str(), manifest.as_str()]);
    assert!(
        writes.iter().all(|w| w.payload["Bucket"] == "result-bucket"
            && w.resource == "arn:aws:states:::s3:putObject")
    );
    let records = body(&writes[0]);
    let records = records.as_array().unwrap();
    assert_eq!(records.len(), 2);
    for (record, item) in records.iter().zip(["Hello", "World"]) {
        let fields: Vec<&str> = record
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            fields,
            [
                "ExecutionArn",
                "Input",
                "InputDetails",
                "Name",
                "Output",
                "OutputDetails",
                "StartDate",
                "StateMachineArn",
                "Status",
                "StopDate"
            ]
        );
        assert_eq!(record["Input"], json!(format!("\"{item}\"")));
        assert_eq!(record["Output"], record["Input"]);
        assert_eq!(record["Status"], "SUCCEEDED");
        assert!(
            record["StateMachineArn"]
                .as_str()
                .unwrap()
                .ends_with(":stateMachine:keiyaku/TestMap")
        );
        let arn = record["ExecutionArn"].as_str().unwrap();
        assert!(
            arn.ends_with(&format!("/TestMap:{}", record["Name"].as_str().unwrap())),
            "{arn}"
        );
        assert!(record["StartDate"].as_str().unwrap().ends_with('Z'));
    }
    assert_eq!(
        body(&writes[1]),
        json!({"DestinationBucket": "result-bucket", "MapRunArn": arn, "ResultFiles": {
            "FAILED": [], "PENDING": [],
            "SUCCEEDED": [{"Key": results, "Size": writes[0].payload["Body"].as_str().unwrap().len()}]}})
    );
}

// Ours: a failure within the tolerance gets its record in FAILED_0.json, with its error.
#[test]
fn tolerated_failures_are_written_apart() {
    let task = json!({"Type": "Task", "Resource": "arn:aws:lambda:local:000000000000:function:work", "End": true});
    let def = machine(task, Some(1));
    let (run, writes) = run(&def, json!(["good", "bad"]), None);
    assert_eq!(run.exec.status(), Status::Succeeded);
    let keys: Vec<String> = writes
        .iter()
        .map(|w| {
            w.payload["Key"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(keys, ["SUCCEEDED_0.json", "FAILED_0.json", "manifest.json"]);
    let failed = body(&writes[1]);
    assert_eq!(failed[0]["Error"], "Item.Bad");
    assert_eq!(failed[0]["Cause"], "bad item");
    assert_eq!(failed[0]["Status"], "FAILED");
    assert!(failed[0].get("Output").is_none());
    let manifest = body(&writes[2]);
    assert_eq!(
        manifest["ResultFiles"]["FAILED"][0]["Key"],
        writes[1].payload["Key"]
    );
}

// Ours: a write that fails fails the Map Run with States.ResultWriterFailed.
#[test]
fn a_failed_write_fails_the_run() {
    let def = machine(json!({"Type": "Pass", "End": true}), None);
    let (run, _) = run(&def, json!(["Hello"]), Some("SUCCEEDED_0.json"));
    assert_eq!(run.exec.status(), Status::Failed);
    assert_eq!(run.exec.error(), Some("States.ResultWriterFailed"));
    assert_eq!(run.exec.cause(), Some("Access Denied"));
    assert!(run.tasks.is_empty(), "the other write is cancelled");
    assert_eq!(
        run.event_types()[4..],
        ["MapRunFailed", "MapStateFailed", "ExecutionFailed"]
    );
}
