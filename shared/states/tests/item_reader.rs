//! A Distributed Map's ItemReader: the object the driver reads (an `S3GetObject` task)
//! becomes the items. Each case is an execution recorded on AWS by LocalStack's snapshot
//! tests (test_base_scenarios: test_map_item_reader_*, test_map_item_batching_*, recorded
//! 2023-09 to 2024-11), with the same object, input and outcome; the cases marked "ours"
//! were not recorded.

mod support;

use keiyaku_states::{Integration, Status};
use serde_json::{Value, json};
use support::Run;

const BUCKET: &str = "bucket-name";

/// The recorded machines: `MapState` reads with the given ReaderConfig and passes each item
/// on through a child execution.
fn machine(config: Value) -> Value {
    json!({"Comment": "MAP_ITEM_READER", "StartAt": "MapState", "States": {"MapState": {
        "Type": "Map", "MaxConcurrency": 1,
        "ItemReader": {"ReaderConfig": config, "Resource": "arn:aws:states:::s3:getObject",
            "Parameters": {"Bucket.$": "$.Bucket", "Key.$": "$.Key"}},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "PassItem", "States": {"PassItem": {"Type": "Pass", "End": true}}},
        "End": true}}})
}

/// Runs `def` on `input`, answering the read with `object` (after checking it asks for the
/// input's bucket and key) or, for `Err`, failing it.
fn run_with(def: &Value, input: Value, object: Result<&str, &str>) -> Run {
    let mut run = Run::start(&def.to_string(), input.clone());
    let mut reads = 0;
    run.run(|t| {
        assert_eq!(t.integration, Integration::S3GetObject);
        assert_eq!(t.resource, "arn:aws:states:::s3:getObject");
        assert_eq!(t.payload["Bucket"], input["Bucket"]);
        assert_eq!(t.payload["Key"], input["Key"]);
        reads += 1;
        match object {
            Ok(text) => Ok(Value::String(text.to_owned())),
            Err(cause) => Err(("S3.NoSuchKey".into(), cause.into())),
        }
    });
    assert!(reads <= 1, "the object is read once");
    run
}

fn read(config: Value, key: &str, object: &str) -> Run {
    run_with(
        &machine(config),
        json!({"Bucket": BUCKET, "Key": key}),
        Ok(object),
    )
}

/// The Map's output as AWS writes it: compact JSON, keys in order.
fn output(run: &Run) -> String {
    run.output().to_string()
}

const SUCCEEDED: [&str; 8] = [
    "ExecutionStarted",
    "MapStateEntered",
    "MapStateStarted",
    "MapRunStarted",
    "MapRunSucceeded",
    "MapStateSucceeded",
    "MapStateExited",
    "ExecutionSucceeded",
];

const CSV_BODY: &str =
    "Value1,Value2,Value3\nValue4,Value5,Value6\n,,,\ntrue,1,'HelloWorld'\nNull,None,\n   \n";

fn csv_given(headers: &[&str]) -> Value {
    json!({"InputType": "CSV", "CSVHeaderLocation": "GIVEN", "CSVHeaders": headers})
}

fn csv_first_row() -> Value {
    json!({"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"})
}

/// The failure's events and words: MapRunFailed and MapStateFailed, then the execution.
fn assert_reader_failed(run: &Run, cause: &str) {
    assert_eq!(run.exec.status(), Status::Failed);
    assert_eq!(run.exec.error(), Some("States.ItemReaderFailed"));
    assert_eq!(run.exec.cause(), Some(cause));
    assert_eq!(
        run.event_types(),
        [
            "ExecutionStarted",
            "MapStateEntered",
            "MapStateStarted",
            "MapRunStarted",
            "MapRunFailed",
            "MapStateFailed",
            "ExecutionFailed"
        ]
    );
    let failed = &run.exec.history()[4];
    assert_eq!(
        failed.details(),
        Some(&json!({"error": "States.ItemReaderFailed", "cause": cause}))
    );
    assert_eq!(failed.previous_event_id, 4);
}

// test_map_item_reader_base_json: a JSON array; each item's key order is kept.
#[test]
fn a_json_array_s_elements_are_the_items() {
    let object = r#"[{"verdict": "true", "statement_date": "6/11/2008", "statement_source": "speech"}, {"verdict": "false", "statement_date": "6/7/2022", "statement_source": "television"}, {"verdict": "mostly-true", "statement_date": "5/18/2016", "statement_source": "news"}]"#;
    let mut run = read(json!({"InputType": "JSON"}), "file.json", object);
    assert_eq!(
        output(&run),
        r#"[{"verdict":"true","statement_date":"6/11/2008","statement_source":"speech"},{"verdict":"false","statement_date":"6/7/2022","statement_source":"television"},{"verdict":"mostly-true","statement_date":"5/18/2016","statement_source":"news"}]"#
    );
    assert_eq!(run.event_types(), SUCCEEDED);
    let shape: Vec<(u64, u64)> = run
        .exec
        .history()
        .iter()
        .map(|e| (e.id, e.previous_event_id))
        .collect();
    assert_eq!(
        shape,
        [
            (1, 0),
            (2, 0),
            (3, 2),
            (4, 3),
            (5, 4),
            (6, 5),
            (7, 5),
            (8, 7)
        ]
    );
    // The length is 0: the items are not known when the state starts.
    assert_eq!(run.exec.history()[2].details(), Some(&json!({"length": 0})));
    let children = run.exec.take_child_history();
    let started = children
        .iter()
        .filter(|e| e.event.kind == keiyaku_states::EventType::ExecutionStarted)
        .count();
    assert_eq!(started, 3, "one child execution per item");
}

// test_map_item_reader_json_no_json_list_object.
#[test]
fn a_json_object_is_no_list_of_items() {
    let run = read(
        json!({"InputType": "JSON"}),
        "file.json",
        r#"{"Hello": "world"}"#,
    );
    assert_reader_failed(&run, "Attempting to map over non-iterable node.");
}

// test_map_item_reader_base_csv_headers_first_line.
#[test]
fn csv_rows_under_the_first_row_s_headers() {
    let run = read(
        csv_first_row(),
        "file.csv",
        &format!("Col1,Col2,Col3\n{CSV_BODY}"),
    );
    assert_eq!(
        output(&run),
        r#"[{"Col1":"Value1","Col2":"Value2","Col3":"Value3"},{"Col1":"Value4","Col2":"Value5","Col3":"Value6"},{"Col1":"","Col2":"","Col3":""},{"Col1":"true","Col2":"1","Col3":"'HelloWorld'"},{"Col1":"Null","Col2":"None","Col3":""},{"Col1":"   ","Col2":"","Col3":""}]"#
    );
    assert_eq!(run.event_types(), SUCCEEDED);
}

// test_map_item_reader_base_csv_headers_decl and _extra_fields.
#[test]
fn csv_rows_under_given_headers() {
    let run = read(csv_given(&["H1", "H2", "H3"]), "file.csv", CSV_BODY);
    assert_eq!(
        output(&run),
        r#"[{"H1":"Value1","H2":"Value2","H3":"Value3"},{"H1":"Value4","H2":"Value5","H3":"Value6"},{"H1":"","H2":"","H3":""},{"H1":"true","H2":"1","H3":"'HelloWorld'"},{"H1":"Null","H2":"None","H3":""},{"H1":"   ","H2":"","H3":""}]"#
    );
    let run = read(csv_given(&["H1"]), "file.csv", CSV_BODY);
    assert_eq!(
        output(&run),
        r#"[{"H1":"Value1"},{"H1":"Value4"},{"H1":""},{"H1":"true"},{"H1":"Null"},{"H1":"   "}]"#
    );
}

// test_map_item_reader_csv_headers_decl_duplicate_headers.
#[test]
fn duplicate_csv_headers_fail_the_reader() {
    let run = read(csv_given(&["H1", "H1", "H3"]), "file.csv", CSV_BODY);
    assert_reader_failed(&run, "CSV headers cannot contain duplicates.");
}

// test_map_item_reader_csv_headers_first_row_typed_headers and
// test_map_item_reader_csv_first_row_extra_fields: headers are text, even empty; the keys
// come in AWS's order (Java's HashMap's), not the file's.
#[test]
fn csv_keys_come_in_aws_s_order() {
    let body = "Value4,Value5,Value6\n,,,\ntrue,1,'HelloWorld'\nNull,None,\n   \n";
    let run = read(csv_first_row(), "file.csv", &format!("0,True,{{}}\n{body}"));
    assert_eq!(
        output(&run),
        r#"[{"0":"Value4","{}":"Value6","True":"Value5"},{"0":"","{}":"","True":""},{"0":"true","{}":"'HelloWorld'","True":"1"},{"0":"Null","{}":"","True":"None"},{"0":"   ","{}":"","True":""}]"#
    );
    let run = read(csv_first_row(), "file.csv", &format!("H1,\n{body}"));
    assert_eq!(
        output(&run),
        r#"[{"":"Value5","H1":"Value4"},{"":"","H1":""},{"":"1","H1":"true"},{"":"None","H1":"Null"},{"":"","H1":"   "}]"#
    );
}

const FOUR_ROWS: &str = "Col1,Col2\nValue1,Value2\nValue3,Value4\nValue5,Value6\nValue7,Value8\n";
const ALL_ROWS: &str = r#"[{"Col1":"Value1","Col2":"Value2"},{"Col1":"Value3","Col2":"Value4"},{"Col1":"Value5","Col2":"Value6"},{"Col1":"Value7","Col2":"Value8"}]"#;
const TWO_ROWS: &str = r#"[{"Col1":"Value1","Col2":"Value2"},{"Col1":"Value3","Col2":"Value4"}]"#;

// test_map_item_reader_csv_max_items[0|2|100000000]: 0 is every item; the header row does
// not count.
#[test]
fn max_items_limits_the_rows() {
    for (max, expected) in [(0, ALL_ROWS), (2, TWO_ROWS), (100_000_000, ALL_ROWS)] {
        let mut config = csv_first_row();
        config["MaxItems"] = json!(max);
        assert_eq!(
            output(&read(config, "file.csv", FOUR_ROWS)),
            expected,
            "{max}"
        );
    }
}

// test_map_item_reader_csv_max_items_paths[-1|0|2|1.5|100000000|100000001].
#[test]
fn max_items_path_is_read_as_aws_reads_it() {
    let mut config = csv_first_row();
    config["MaxItemsPath"] = json!("$.MaxItems");
    let def = machine(config);
    let with = |max: Value| {
        run_with(
            &def,
            json!({"Bucket": BUCKET, "Key": "file.csv", "MaxItems": max}),
            Ok(FOUR_ROWS),
        )
    };
    for (max, expected) in [
        (json!(0), ALL_ROWS),
        (json!(2), TWO_ROWS),
        (json!(100_000_000), ALL_ROWS),
        (json!(100_000_001), ALL_ROWS),
    ] {
        assert_eq!(output(&with(max.clone())), expected, "{max}");
    }
    assert_reader_failed(&with(json!(-1)), "field MaxItems must be positive");
    // Not an integer: the state fails before its Map Run starts.
    let run = with(json!(1.5));
    assert_eq!(
        run.event_types(),
        [
            "ExecutionStarted",
            "MapStateEntered",
            "MapStateStarted",
            "ExecutionFailed"
        ]
    );
    assert_eq!(run.exec.error(), Some("States.Runtime"));
    assert_eq!(
        run.exec.cause(),
        Some(
            "An error occurred while executing the state 'MapState' (entered at the event id #2). The MaxItemsPath field refers to value \"1.5\" which is not a valid integer: $.MaxItems"
        )
    );
}

const THREE_VERDICTS: &str = r#"[{"verdict": "true", "statement_date": "6/11/2008", "statement_source": "speech"}, {"verdict": "false", "statement_date": "6/7/2022", "statement_source": "television"}, {"verdict": "mostly-true", "statement_date": "5/18/2016", "statement_source": "news"}]"#;
const TWO_VERDICTS: &str = r#"[{"verdict":"true","statement_date":"6/11/2008","statement_source":"speech"},{"verdict":"false","statement_date":"6/7/2022","statement_source":"television"}]"#;

// test_map_item_reader_base_json_max_items_jsonata: Arguments and a MaxItems expression.
#[test]
fn a_jsonata_reader_takes_arguments_and_expressions() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "MapState", "States": {"MapState": {
        "Type": "Map", "MaxConcurrency": 1,
        "ItemReader": {"ReaderConfig": {"InputType": "JSON", "MaxItems": "{% $maxItems := 2 %}"},
            "Resource": "arn:aws:states:::s3:getObject",
            "Arguments": {"Bucket": "{% $states.input.Bucket %}", "Key": "{% $states.input.Key %}"}},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "PassItem", "States": {"PassItem": {"Type": "Pass", "End": true}}},
        "End": true}}});
    let run = run_with(
        &def,
        json!({"Bucket": BUCKET, "Key": "file.json", "MaxItems": 2}),
        Ok(THREE_VERDICTS),
    );
    assert_eq!(output(&run), TWO_VERDICTS);
}

// test_map_item_batching_base_json_max_per_batch_jsonata: the items read are batched.
#[test]
fn items_read_are_batched() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "BatchMapState", "States": {"BatchMapState": {
        "Type": "Map",
        "ItemReader": {"ReaderConfig": {"InputType": "JSON", "MaxItems": 2},
            "Resource": "arn:aws:states:::s3:getObject",
            "Arguments": {"Bucket": "{% $states.input.Bucket %}", "Key": "{% $states.input.Key %}"}},
        "ItemBatcher": {"MaxItemsPerBatch": "{% $states.input.MaxItemsPerBatch %}",
            "MaxInputBytesPerBatch": "{% $states.input.MaxInputBytesPerBatch %}",
            "BatchInput": {"BatchTimestamp": "{% $states.context.State.EnteredTime %}"}},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "ProcessBatch", "States": {"ProcessBatch": {"Type": "Pass", "End": true}}},
        "End": true}}});
    let run = run_with(
        &def,
        json!({"Bucket": BUCKET, "Key": "file.json", "MaxItemsPerBatch": 2, "MaxInputBytesPerBatch": 150000}),
        Ok(THREE_VERDICTS),
    );
    let out = run.output();
    let entered = run.exec.history()[1].timestamp;
    assert_eq!(
        out,
        json!([{"BatchInput": {"BatchTimestamp": out[0]["BatchInput"]["BatchTimestamp"]},
            "Items": serde_json::from_str::<Value>(TWO_VERDICTS).unwrap()}])
    );
    assert!(
        out[0]["BatchInput"]["BatchTimestamp"]
            .as_str()
            .is_some_and(|t| t.starts_with(&entered.year().to_string())),
        "{out}"
    );
    assert_eq!(run.event_types(), SUCCEEDED);
    // In a JSONata state the exit follows the Map Run's start (recorded).
    assert_eq!(run.exec.history()[6].previous_event_id, 4);
}

// Ours: JSON Lines (unrecorded), each non-empty line an item.
#[test]
fn json_lines_are_items() {
    let run = read(
        json!({"InputType": "JSONL"}),
        "file.jsonl",
        "{\"a\": 1}\n\n[2]\n\"three\"\n",
    );
    assert_eq!(output(&run), r#"[{"a":1},[2],"three"]"#);
    let run = read(
        json!({"InputType": "JSONL"}),
        "file.jsonl",
        "{\"a\": 1}\nnope\n",
    );
    assert_eq!(run.exec.error(), Some("States.ItemReaderFailed"));
    assert!(
        run.exec
            .cause()
            .unwrap()
            .starts_with("Line 2 of the object is not JSON"),
        "{:?}",
        run.exec.cause()
    );
}

// Ours: a read that fails (an object that is not there) fails the reader with the driver's
// cause; an ItemSelector and a CSV delimiter shape the items.
#[test]
fn a_failed_read_fails_the_reader_and_selectors_shape_what_is_read() {
    let run = run_with(
        &machine(json!({"InputType": "JSON"})),
        json!({"Bucket": BUCKET, "Key": "missing.json"}),
        Err("The specified key does not exist."),
    );
    assert_reader_failed(&run, "The specified key does not exist.");

    let mut def = machine(json!({"InputType": "CSV", "CSVHeaderLocation": "GIVEN",
        "CSVHeaders": ["name", "qty"], "CSVDelimiter": "SEMICOLON"}));
    def["States"]["MapState"]["ItemSelector"] = json!({"item.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index", "bucket.$": "$.Bucket"});
    let run = run_with(
        &def,
        json!({"Bucket": BUCKET, "Key": "file.csv"}),
        Ok("pen;2\n\"a;b\";3\n"),
    );
    assert_eq!(
        run.output(),
        json!([
            {"item": {"qty": "2", "name": "pen"}, "index": 0, "bucket": BUCKET},
            {"item": {"qty": "3", "name": "a;b"}, "index": 1, "bucket": BUCKET}
        ])
    );
}

// Ours: stopping the execution while the object is read aborts the Map Run and cancels
// the read.
#[test]
fn a_stop_while_reading_aborts_the_run() {
    let mut run = Run::start(
        &machine(json!({"InputType": "JSON"})).to_string(),
        json!({"Bucket": BUCKET, "Key": "file.json"}),
    );
    assert_eq!(run.task().integration, Integration::S3GetObject);
    run.handle(keiyaku_states::Input::Stop {
        error: None,
        cause: None,
    })
    .unwrap();
    assert!(run.tasks.is_empty(), "the read is cancelled");
    assert_eq!(
        run.event_types()[3..],
        [
            "MapRunStarted",
            "MapRunAborted",
            "MapStateAborted",
            "ExecutionAborted"
        ]
    );
}

// test_map_item_reader_base_list_objects_v2: each object under the prefix is an item (the
// items' shape is the driver's: Etag, Key, LastModified, Size, StorageClass).
#[test]
fn a_listing_s_objects_are_the_items() {
    let def = json!({"StartAt": "MapState", "States": {"MapState": {
        "Type": "Map", "MaxConcurrency": 1,
        "ItemReader": {"Resource": "arn:aws:states:::s3:listObjectsV2",
            "ReaderConfig": {"MaxItems": 2},
            "Parameters": {"Bucket.$": "$.Bucket"}},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "PassItem", "States": {"PassItem": {"Type": "Pass", "End": true}}},
        "End": true}}});
    let listing: Vec<Value> = (0..3)
        .map(|i| json!({"Etag": format!("\"{i}\""), "Key": format!("file_{i}.txt"), "LastModified": 1_700_000_000, "Size": 12, "StorageClass": "STANDARD"}))
        .collect();
    let mut run = Run::start(&def.to_string(), json!({"Bucket": BUCKET}));
    let read = run.task();
    assert_eq!(read.integration, Integration::S3ListObjectsV2);
    assert_eq!(read.resource, "arn:aws:states:::s3:listObjectsV2");
    assert_eq!(read.payload, json!({"Bucket": BUCKET}));
    run.succeed(Value::Array(listing.clone()));
    assert_eq!(run.output(), Value::Array(listing[..2].to_vec()));
    assert_eq!(run.event_types(), SUCCEEDED);
}
