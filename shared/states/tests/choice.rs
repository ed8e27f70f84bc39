//! Choice rules: the Developer Guide's example and every operator family.

mod support;

use keiyaku_states::Status;
use serde_json::{Value, json};
use support::Run;

fn choice_machine(choices: Value, default: bool) -> String {
    let mut choice = json!({"Type": "Choice", "Choices": choices});
    if default {
        choice["Default"] = json!("DefaultState");
    }
    let mut states = json!({"ChoiceStateX": choice, "DefaultState": {"Type": "Pass", "Result": "DefaultState", "End": true}});
    for n in ["Public", "ValueIsZero", "ValueInTwenties", "Yes"] {
        states[n] = json!({"Type": "Pass", "Result": n, "End": true});
    }
    // Unused targets would be unreachable; keep only those the rules name.
    let text = states["ChoiceStateX"].to_string();
    for n in [
        "Public",
        "ValueIsZero",
        "ValueInTwenties",
        "Yes",
        "DefaultState",
    ] {
        if !text.contains(&format!("\"{n}\"")) {
            states.as_object_mut().unwrap().remove(n);
        }
    }
    json!({"StartAt": "ChoiceStateX", "States": states}).to_string()
}

fn route(def: &str, input: Value) -> Value {
    Run::start(def, input).output()
}

#[test]
fn the_guides_choice_example() {
    let def = choice_machine(
        json!([
            {"Not": {"Variable": "$.type", "StringEquals": "Private"}, "Next": "Public"},
            {"Variable": "$.value", "NumericEquals": 0, "Next": "ValueIsZero"},
            {"And": [
                {"Variable": "$.value", "NumericGreaterThanEquals": 20},
                {"Variable": "$.value", "NumericLessThan": 30}
            ], "Next": "ValueInTwenties"}
        ]),
        true,
    );
    assert_eq!(route(&def, json!({"type": "Public"})), json!("Public"));
    assert_eq!(
        route(&def, json!({"type": "Private", "value": 0})),
        json!("ValueIsZero")
    );
    assert_eq!(
        route(&def, json!({"type": "Private", "value": 25})),
        json!("ValueInTwenties")
    );
    assert_eq!(
        route(&def, json!({"type": "Private", "value": 35})),
        json!("DefaultState")
    );
}

#[test]
fn no_match_without_default_fails_with_no_choice_matched() {
    let def = choice_machine(
        json!([{"Variable": "$.value", "NumericEquals": 0, "Next": "ValueIsZero"}]),
        false,
    );
    let run = Run::start(&def, json!({"value": 1}));
    assert_eq!(run.exec.status(), Status::Failed);
    assert_eq!(run.exec.error(), Some("States.NoChoiceMatched"));
}

#[test]
fn a_missing_variable_is_a_runtime_error_but_is_present_tests_it() {
    let def = choice_machine(
        json!([{"Variable": "$.value", "NumericEquals": 0, "Next": "ValueIsZero"}]),
        true,
    );
    let run = Run::start(&def, json!({}));
    assert_eq!(run.exec.error(), Some("States.Runtime"));

    let def = choice_machine(
        json!([{"And": [
            {"Variable": "$.value", "IsPresent": true},
            {"Variable": "$.value", "IsNumeric": true}
        ], "Next": "Yes"}]),
        true,
    );
    assert_eq!(route(&def, json!({})), json!("DefaultState"));
    assert_eq!(route(&def, json!({"value": "7"})), json!("DefaultState"));
    assert_eq!(route(&def, json!({"value": 7})), json!("Yes"));
}

#[test]
fn every_operator_family() {
    let cases: Vec<(Value, Value, bool)> = vec![
        (
            json!({"Variable": "$.s", "StringEquals": "a"}),
            json!({"s": "a"}),
            true,
        ),
        (
            json!({"Variable": "$.s", "StringLessThan": "b"}),
            json!({"s": "a"}),
            true,
        ),
        (
            json!({"Variable": "$.s", "StringGreaterThanEquals": "b"}),
            json!({"s": "a"}),
            false,
        ),
        (
            json!({"Variable": "$.s", "StringMatches": "log-*.txt"}),
            json!({"s": "log-2024.txt"}),
            true,
        ),
        (
            json!({"Variable": "$.s", "StringEqualsPath": "$.t"}),
            json!({"s": "x", "t": "x"}),
            true,
        ),
        (
            json!({"Variable": "$.n", "NumericGreaterThan": 1.5}),
            json!({"n": 2}),
            true,
        ),
        (
            json!({"Variable": "$.n", "NumericLessThanEqualsPath": "$.m"}),
            json!({"n": 2, "m": 2}),
            true,
        ),
        (
            json!({"Variable": "$.n", "NumericEquals": 1}),
            json!({"n": "1"}),
            false,
        ),
        (
            json!({"Variable": "$.b", "BooleanEquals": true}),
            json!({"b": true}),
            true,
        ),
        (
            json!({"Variable": "$.b", "BooleanEqualsPath": "$.c"}),
            json!({"b": true, "c": false}),
            false,
        ),
        (
            json!({"Variable": "$.t", "TimestampLessThan": "2024-04-02T00:00:00Z"}),
            json!({"t": "2024-04-01T00:00:00Z"}),
            true,
        ),
        (
            json!({"Variable": "$.t", "TimestampGreaterThanPath": "$.u"}),
            json!({"t": "2024-04-01T00:00:00Z", "u": "2023-01-01T00:00:00Z"}),
            true,
        ),
        (
            json!({"Variable": "$.t", "TimestampEquals": "2024-04-01T00:00:00Z"}),
            json!({"t": "not a time"}),
            false,
        ),
        (
            json!({"Variable": "$.x", "IsNull": true}),
            json!({"x": null}),
            true,
        ),
        (
            json!({"Variable": "$.x", "IsString": true}),
            json!({"x": "s"}),
            true,
        ),
        (
            json!({"Variable": "$.x", "IsBoolean": false}),
            json!({"x": 1}),
            true,
        ),
        (
            json!({"Variable": "$.x", "IsTimestamp": true}),
            json!({"x": "2016-03-14T01:59:00Z"}),
            true,
        ),
        (
            json!({"Variable": "$.x", "IsPresent": false}),
            json!({}),
            true,
        ),
        (
            json!({"Or": [{"Variable": "$.x", "IsNull": true}, {"Variable": "$.x", "NumericEquals": 3}]}),
            json!({"x": 3}),
            true,
        ),
        (
            json!({"Not": {"Variable": "$.x", "NumericEquals": 3}}),
            json!({"x": 3}),
            false,
        ),
        (
            json!({"Variable": "$.xs[0].id", "StringEquals": "a"}),
            json!({"xs": [{"id": "a"}]}),
            true,
        ),
        (
            json!({"Variable": "$$.Execution.Name", "StringEquals": "test-run"}),
            json!({}),
            true,
        ),
    ];
    for (rule, input, expected) in cases {
        let mut r = rule.clone();
        r["Next"] = json!("Yes");
        let def = choice_machine(json!([r]), true);
        let got = route(&def, input.clone());
        assert_eq!(got == json!("Yes"), expected, "rule {rule} on {input}");
    }
}

#[test]
fn choice_applies_input_and_output_paths() {
    let def = json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "InputPath": "$.inner", "OutputPath": "$.keep",
              "Choices": [{"Variable": "$.go", "BooleanEquals": true, "Next": "Done"}]},
        "Done": {"Type": "Succeed"}
    }});
    let run = Run::start(
        &def.to_string(),
        json!({"inner": {"go": true, "keep": {"k": 1}}}),
    );
    assert_eq!(run.output(), json!({"k": 1}));
    assert_eq!(run.entered(), vec!["C", "Done"]);
}

#[test]
fn string_comparisons_order_by_utf16_code_units_as_java_does() {
    // Step Functions compares with Java's String.compareTo: "𠀋" (U+2000B, the surrogate
    // pair D840 DC0B) sorts before "ｱ" (U+FF71), although its code point is larger.
    let def = choice_machine(
        json!([{"Variable": "$.s", "StringLessThan": "ｱ", "Next": "Yes"}]),
        true,
    );
    assert_eq!(route(&def, json!({"s": "𠀋"})), json!("Yes"));
    assert_eq!(route(&def, json!({"s": "ｲ"})), json!("DefaultState"));
    let def = choice_machine(
        json!([{"Variable": "$.s", "StringGreaterThanEquals": "\u{e000}", "Next": "Yes"}]),
        true,
    );
    assert_eq!(route(&def, json!({"s": "😀"})), json!("DefaultState"));
}
