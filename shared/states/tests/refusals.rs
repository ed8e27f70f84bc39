//! Definitions the engine cannot run are refused with the JSON path of the offending node.

use keiyaku_states::Definition;
use serde_json::{Value, json};

fn refused(def: Value) -> (String, String) {
    let e = Definition::parse(&def.to_string()).expect_err("refused");
    (e.path, e.message)
}

fn with_task(extra: Value) -> Value {
    let mut task =
        json!({"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f", "End": true});
    for (k, v) in extra.as_object().unwrap() {
        task[k] = v.clone();
    }
    json!({"StartAt": "Send", "States": {"Send": task}})
}

#[test]
fn unknown_fields_are_named_by_path() {
    let (path, msg) = refused(with_task(
        json!({"Retry": [{"ErrorEquals": ["States.ALL"], "Foo": 1}]}),
    ));
    assert_eq!(path, "$.States.Send.Retry[0].Foo");
    assert!(msg.contains("Foo"), "{msg}");
    let (path, _) = refused(with_task(json!({"Bogus": true})));
    assert_eq!(path, "$.States.Send.Bogus");
    let (path, _) = refused(
        json!({"StartAt": "A", "States": {"My State": {"Type": "Pass", "End": true, "X": 1}}, "Nope": 1}),
    );
    assert_eq!(path, "$.Nope");
    let (path, _) = refused(
        json!({"StartAt": "My State", "States": {"My State": {"Type": "Pass", "End": true, "X": 1}}}),
    );
    assert_eq!(path, "$.States['My State'].X");
}

#[test]
fn distributed_map_and_fields_of_the_other_language_are_refused_by_name() {
    // A JSONata machine cannot have a JSONPath state (recorded: LocalStack's
    // test_sfn_api_validation, INVALID_DOWNGRADE_QUERY_LANGUAGE).
    let (path, msg) = refused(json!({"QueryLanguage": "JSONata", "StartAt": "Pass",
        "States": {"Pass": {"Type": "Pass", "End": true, "QueryLanguage": "JSONPath"}}}));
    assert_eq!(path, "$.States.Pass");
    assert_eq!(
        msg,
        "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine"
    );
    let (path, msg) = refused(json!({"QueryLanguage": "JSONata", "StartAt": "A",
        "States": {"A": {"Type": "Pass", "InputPath": "$.x", "End": true}}}));
    assert_eq!(path, "$.States.A.InputPath");
    assert_eq!(
        msg,
        "The QueryLanguage is set to 'JSONata', but field 'InputPath' is only supported for the 'JSONPath' QueryLanguage"
    );
    let (path, msg) = refused(with_task(json!({"Output": {}})));
    assert_eq!(path, "$.States.Send.Output");
    assert!(
        msg.contains("only supported for the 'JSONata' QueryLanguage"),
        "{msg}"
    );
    let (path, msg) = refused(json!({"QueryLanguage": "JSONata", "StartAt": "A",
        "States": {"A": {"Type": "Pass", "Output": {"a": ["{% 1 + %}"]}, "End": true}}}));
    assert_eq!(path, "$.States.A.Output.a[0]");
    assert!(msg.starts_with("INVALID_JSONATA_EXPRESSION"), "{msg}");
    // `$states.result` only where there is one, `$states.errorOutput` only in a Catcher, no
    // input document at an expression's top level (the Developer Guide; the words measured
    // on AWS by another emulator).
    let (path, msg) = refused(json!({"QueryLanguage": "JSONata", "StartAt": "A",
        "States": {"A": {"Type": "Pass", "Output": "{% $states.errorOutput %}", "End": true}}}));
    assert_eq!(path, "$.States.A.Output");
    assert_eq!(
        msg,
        "UNSUPPORTED_JSONATA_EXPRESSION: Field '$states.errorOutput' does not exist."
    );
    let (path, _) = refused(json!({"QueryLanguage": "JSONata", "StartAt": "A",
        "States": {"A": {"Type": "Pass", "Assign": {"r": "{% $states.result %}"}, "End": true}}}));
    assert_eq!(path, "$.States.A.Assign.r");
    let (path, msg) = refused(json!({"QueryLanguage": "JSONata", "StartAt": "A",
        "States": {"A": {"Type": "Pass", "Output": "{% phone %}", "End": true}}}));
    assert_eq!(path, "$.States.A.Output");
    assert!(msg.starts_with("UNSUPPORTED_JSONATA_EXPRESSION"), "{msg}");
    // Variables are assigned where AWS allows it, with names it allows.
    let (path, msg) =
        refused(json!({"StartAt": "A", "States": {"A": {"Type": "Succeed", "Assign": {"x": 1}}}}));
    assert_eq!(path, "$.States.A.Assign");
    assert!(msg.contains("Assign"));
    for (name, at, why) in [
        ("states", ".states", "reserved"),
        ("1st", ".1st", "letter"),
        ("a-b.$", "['a-b.$']", "letter"),
    ] {
        let (path, msg) = refused(
            json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Assign": {name: "$.x"}, "End": true}}}),
        );
        assert_eq!(path, format!("$.States.A.Assign{at}"));
        assert!(msg.contains(why), "{msg}");
    }
    let (path, _) = refused(
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "ResultPath": "$x", "End": true}}}),
    );
    assert_eq!(path, "$.States.A.ResultPath");
    let (path, msg) = refused(with_task(json!({"Arguments": {}})));
    assert_eq!(path, "$.States.Send.Arguments");
    assert!(msg.contains("JSONata"));
    let (path, msg) = refused(json!({"StartAt": "M", "States": {"M": {
        "Type": "Map", "ItemReader": {}, "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "End": true
    }}}));
    assert_eq!(path, "$.States.M.ItemReader");
    assert!(msg.contains("DISTRIBUTED"), "{msg}");
    // An ItemReader reads one object with s3:getObject, as JSON, JSON Lines or CSV.
    let distributed = |reader: serde_json::Value, extra: serde_json::Value| {
        let mut map = json!({"Type": "Map", "ItemReader": reader,
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
            "End": true});
        map.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        refused(json!({"StartAt": "M", "States": {"M": map}}))
    };
    let get = |config: serde_json::Value| {
        json!({"Resource": "arn:aws:states:::s3:getObject",
            "Parameters": {"Bucket": "b", "Key": "k"}, "ReaderConfig": config})
    };
    for (reader, extra, at, why) in [
        (
            json!({"Resource": "arn:aws:states:::s3:listObjectsV2", "Parameters": {"Bucket": "b"},
                "ReaderConfig": {"InputType": "CSV"}}),
            json!({}),
            "$.States.M.ItemReader.ReaderConfig.InputType",
            "getObject",
        ),
        (
            json!({"Resource": "arn:aws:states:::s3:headObject", "Parameters": {"Bucket": "b"}}),
            json!({}),
            "$.States.M.ItemReader.Resource",
            "listObjectsV2",
        ),
        (
            get(json!({"InputType": "PARQUET"})),
            json!({}),
            "$.States.M.ItemReader.ReaderConfig.InputType",
            "PARQUET",
        ),
        (
            get(json!({"InputType": "JSON", "ItemsPointer": "/items"})),
            json!({}),
            "$.States.M.ItemReader.ReaderConfig.ItemsPointer",
            "ItemsPointer",
        ),
        (
            get(json!({"InputType": "JSON", "MaxItems": 100_000_001})),
            json!({}),
            "$.States.M.ItemReader.ReaderConfig.MaxItems",
            "100000000",
        ),
        (
            get(json!({"InputType": "CSV"})),
            json!({}),
            "$.States.M.ItemReader.ReaderConfig",
            "CSVHeaderLocation",
        ),
        (
            get(json!({"InputType": "JSON", "CSVDelimiter": "PIPE"})),
            json!({}),
            "$.States.M.ItemReader.ReaderConfig.CSVDelimiter",
            "CSV",
        ),
        (
            get(json!({"InputType": "JSON"})),
            json!({"ItemsPath": "$.items"}),
            "$.States.M.ItemsPath",
            "ItemReader",
        ),
        (
            get(json!({"InputType": "JSON"})),
            json!({"ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
                "Parameters": {"Bucket": "b", "Prefix": "p"}, "WriterConfig": {"OutputType": "JSONL"}}}),
            "$.States.M.ResultWriter.WriterConfig",
            "WriterConfig",
        ),
        (
            get(json!({"InputType": "JSON"})),
            json!({"ResultWriter": {"Resource": "arn:aws:states:::s3:getObject",
                "Parameters": {"Bucket": "b", "Prefix": "p"}}}),
            "$.States.M.ResultWriter.Resource",
            "putObject",
        ),
    ] {
        let (path, msg) = distributed(reader, extra);
        assert_eq!(path, at, "{msg}");
        assert!(msg.contains(why), "{msg}");
    }
    // A DISTRIBUTED Map needs its ExecutionType; its own fields belong to it alone.
    let (path, msg) = refused(json!({"StartAt": "M", "States": {"M": {
        "Type": "Map",
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED"}, "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
        "End": true
    }}}));
    assert_eq!(path, "$.States.M.ItemProcessor.ProcessorConfig");
    assert!(msg.contains("ExecutionType"), "{msg}");
    let (path, _) = refused(json!({"StartAt": "M", "States": {"M": {
        "Type": "Map", "ToleratedFailureCount": 1,
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
        "End": true
    }}}));
    assert_eq!(path, "$.States.M.ToleratedFailureCount");
    let (path, _) = refused(json!({"StartAt": "M", "States": {"M": {
        "Type": "Map", "Label": "has space",
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
        "End": true
    }}}));
    assert_eq!(path, "$.States.M.Label");
    let map = |label: &str, next: Value| {
        let mut m = json!({"Type": "Map", "Label": label,
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": format!("P{label}{}", next.is_null()), "States": {format!("P{label}{}", next.is_null()): {"Type": "Pass", "End": true}}}});
        match next {
            Value::Null => m["End"] = json!(true),
            n => m["Next"] = n,
        }
        m
    };
    let (path, msg) = refused(json!({"StartAt": "A", "States": {
        "A": map("same", json!("B")), "B": map("same", Value::Null)}}));
    assert_eq!(path, "$.States.B.Label");
    assert!(msg.contains("unique"), "{msg}");
}

#[test]
fn unsupported_types_resources_and_intrinsics() {
    let (path, _) =
        refused(json!({"StartAt": "A", "States": {"A": {"Type": "Sleep", "End": true}}}));
    assert_eq!(path, "$.States.A.Type");
    let (path, msg) = refused(with_task(
        json!({"Resource": "arn:aws:states:::sns:publish"}),
    ));
    assert_eq!(path, "$.States.Send.Resource");
    assert!(msg.contains("sns:publish"));
    let (path, msg) = refused(with_task(
        json!({"Parameters": {"x.$": "States.Nope($.a)"}}),
    ));
    assert_eq!(path, "$.States.Send.Parameters['x.$']");
    assert!(msg.contains("States.Nope"));
    let (path, _) = refused(with_task(
        json!({"Parameters": {"deep": {"x.$": "$.a[?(@.b =~ /x/)]"}}}),
    ));
    assert_eq!(path, "$.States.Send.Parameters.deep['x.$']");
    let (path, _) = refused(with_task(json!({"ResultPath": "$.a[*]"})));
    assert_eq!(path, "$.States.Send.ResultPath");
    let (path, _) = refused(with_task(
        json!({"Retry": [{"ErrorEquals": ["States.Nope"]}]}),
    ));
    assert_eq!(path, "$.States.Send.Retry[0].ErrorEquals[0]");
}

#[test]
fn structural_errors() {
    let (path, _) =
        refused(json!({"StartAt": "Nowhere", "States": {"A": {"Type": "Pass", "End": true}}}));
    assert_eq!(path, "$.StartAt");
    let (path, _) =
        refused(json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Ghost"}}}));
    assert_eq!(path, "$.States.A.Next");
    let (path, msg) = refused(
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B", "End": true}, "B": {"Type": "Succeed"}}}),
    );
    assert_eq!(path, "$.States.A");
    assert!(msg.contains("both Next and End"));
    let (path, _) = refused(json!({"StartAt": "A", "States": {"A": {"Type": "Pass"}}}));
    assert_eq!(path, "$.States.A");
    let (path, msg) = refused(json!({"StartAt": "C", "States": {"C": {"Type": "Choice"}}}));
    assert_eq!(path, "$.States.C");
    assert!(msg.contains("Choices"));
    let (path, msg) =
        refused(json!({"StartAt": "T", "States": {"T": {"Type": "Task", "End": true}}}));
    assert_eq!(path, "$.States.T");
    assert!(msg.contains("Resource"));
    let (path, _) = refused(
        json!({"StartAt": "A", "States": {"A": {"Type": "Succeed"}, "B": {"Type": "Succeed"}}}),
    );
    assert_eq!(path, "$.States.B");
    let (path, _) =
        refused(json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A"}}}));
    assert_eq!(path, "$.States");
    let (path, _) = refused(
        json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
        {"StartAt": "X", "States": {"X": {"Type": "Pass", "Next": "Outside"}}}
    ]}, "Outside": {"Type": "Succeed"}}}),
    );
    assert_eq!(path, "$.States.P.Branches[0].States.X.Next");
    let (path, _) = refused(
        json!({"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": [
        {"Variable": "$.x", "NumericEquals": "one", "Next": "D"}
    ]}, "D": {"Type": "Succeed"}}}),
    );
    assert_eq!(path, "$.States.C.Choices[0].NumericEquals");
    let (path, _) = refused(
        json!({"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": [
        {"Not": {"Variable": "$.x", "IsNull": true, "Next": "D"}, "Next": "D"}
    ]}, "D": {"Type": "Succeed"}}}),
    );
    assert_eq!(path, "$.States.C.Choices[0].Not.Next");
    let (path, _) = refused(with_task(
        json!({"Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}]}),
    ));
    assert_eq!(path, "$.States.Send.Retry[0].ErrorEquals");
    let (path, _) = refused(with_task(
        json!({"TimeoutSeconds": 10, "HeartbeatSeconds": 10}),
    ));
    assert_eq!(path, "$.States.Send.HeartbeatSeconds");
    let (path, _) = refused(with_task(
        json!({"TimeoutSeconds": 10, "TimeoutSecondsPath": "$.t"}),
    ));
    assert_eq!(path, "$.States.Send");
    let (path, _) = refused(
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "SecondsPath": "$.s", "End": true}}}),
    );
    assert_eq!(path, "$.States.W");
}

#[test]
fn lambda_invoke_needs_function_name_and_wait_for_token_needs_the_token() {
    let (path, _) = refused(with_task(
        json!({"Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"Payload.$": "$"}}),
    ));
    assert_eq!(path, "$.States.Send.Parameters");
    let (path, _) = refused(with_task(
        json!({"Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "f", "InvocationType": "Event"}}),
    ));
    assert_eq!(path, "$.States.Send.Parameters.InvocationType");
    let (path, msg) = refused(with_task(json!({
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": "f", "Payload.$": "$"}
    })));
    assert_eq!(path, "$.States.Send.Parameters");
    assert!(msg.contains("Task.Token"));
}

#[test]
fn substitutions_resolve_placeholders_and_unresolved_ones_stay_names() {
    let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "${SealFunctionArn}", "End": true}}}).to_string();
    let parsed = Definition::parse(&def).unwrap();
    let keiyaku_states::definition::Kind::Task(t) = &parsed.machine.states["T"].kind else {
        panic!("a task")
    };
    assert_eq!(t.resource, "${SealFunctionArn}");
    let subs = [(
        "SealFunctionArn".to_string(),
        "arn:aws:lambda:ap-northeast-1:1:function:seal".to_string(),
    )]
    .into();
    let parsed = Definition::parse_with(&def, &subs).unwrap();
    let keiyaku_states::definition::Kind::Task(t) = &parsed.machine.states["T"].kind else {
        panic!("a task")
    };
    assert_eq!(t.resource, "arn:aws:lambda:ap-northeast-1:1:function:seal");
}

#[test]
fn a_state_name_used_twice_anywhere_in_the_machine_is_refused() {
    // Developer Guide (state machine structure): "State names must be unique within the
    // scope of the whole state machine." Two branches with one name are refused.
    let branch =
        |name: &str| json!({"StartAt": name, "States": {name: {"Type": "Pass", "End": true}}});
    let (path, msg) = refused(json!({"StartAt": "P", "States": {"P": {
        "Type": "Parallel", "End": true, "Branches": [branch("Same"), branch("Same")]
    }}}));
    assert_eq!(path, "$.States.P.Branches[1].States.Same");
    assert!(msg.contains("unique"), "{msg}");
    // Inside a Map processor and at the top level.
    let (path, _) = refused(json!({"StartAt": "M", "States": {
        "M": {"Type": "Map", "Next": "Echo", "ItemProcessor": branch("Echo")},
        "Echo": {"Type": "Pass", "End": true}
    }}));
    assert!(path.ends_with(".States.Echo"), "{path}");
    // Distinct names are fine.
    assert!(
        Definition::parse(
            &json!({"StartAt": "P", "States": {"P": {
                "Type": "Parallel", "End": true, "Branches": [branch("A"), branch("B")]
            }}})
            .to_string()
        )
        .is_ok()
    );
}

/// What asl-validator accepts of the newer language (tests/fixtures/asl-valid, validated by
/// tests/tools/asl_validate.sh), keiyaku-states parses.
#[test]
fn what_asl_validator_accepts_of_jsonata_variables_and_distributed_maps_parses() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/asl-valid"
    );
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).expect("tests/fixtures/asl-valid exists") {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        if let Err(e) = Definition::parse(&text) {
            panic!("{}: {} {}", path.display(), e.path, e.message);
        }
        seen += 1;
    }
    assert!(seen >= 3, "the fixtures are there");
}
