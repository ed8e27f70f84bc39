//! Task tokens come from the driver's token source (256 bits, never from the seed); the
//! serialized execution leaves its history out and keeps an event counter; definitions
//! have a stable hash.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use keiyaku_states::{
    Definition, Execution, Input, SeededTokens, Start, Status, TOKEN_BYTES, TaskRef, TokenSource,
};
use serde_json::{Value, json};
use support::{Run, T0};

/// Two token waits in a row.
fn two_waits() -> String {
    let ask = |next: Value| {
        let mut s = json!({
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "ask", "Payload": {"token.$": "$$.Task.Token"}},
            "ResultPath": null
        });
        for (k, v) in next.as_object().unwrap() {
            s[k] = v.clone();
        }
        s
    };
    json!({"StartAt": "A", "States": {
        "A": ask(json!({"Next": "B"})),
        "B": ask(json!({"End": true}))
    }})
    .to_string()
}

/// Starts `two_waits` with `seed` and answers both tokens; returns them.
fn tokens_of(seed: u64, source: &mut dyn TokenSource) -> Vec<String> {
    let def = Definition::parse(&two_waits()).unwrap();
    let start = Start::new("t", json!({})).seed(seed);
    let (mut exec, _) = Execution::start(&def, start, T0, source).unwrap();
    let mut out = Vec::new();
    while exec.status() == Status::Running {
        let inv = exec.pending_tasks().pop().expect("a task");
        let token = inv.token.clone().expect("a token");
        assert_eq!(inv.payload["token"], json!(token), "the payload carries it");
        out.push(token.clone());
        exec.handle(
            &def,
            Input::TaskSucceeded {
                task: TaskRef::Token(token),
                output: json!({}),
            },
            T0,
            source,
        )
        .unwrap();
    }
    out
}

#[test]
fn tokens_are_256_bits_from_the_source_and_not_from_the_seed() {
    let seeded = tokens_of(7, &mut SeededTokens::new(1));
    assert_eq!(seeded.len(), 2);
    for t in &seeded {
        assert_eq!(t.len(), 2 * TOKEN_BYTES, "64 hex digits: 256 bits");
        assert!(
            t.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
    }
    assert_ne!(seeded[0], seeded[1], "distinct within an execution");
    // The same source replays exactly (tests stay deterministic)…
    assert_eq!(seeded, tokens_of(7, &mut SeededTokens::new(1)));
    // …and the execution's seed has no part in them: same seed, other source, other tokens.
    let other = tokens_of(7, &mut SeededTokens::new(2));
    assert!(seeded.iter().all(|t| !other.contains(t)));
    // The engine writes exactly the bytes the source gave, one draw per token.
    let mut draws = 0u8;
    let mut counting = || {
        draws += 1;
        [draws; TOKEN_BYTES]
    };
    let given = tokens_of(7, &mut counting);
    assert_eq!(
        given,
        vec![hex(&[1; TOKEN_BYTES]), hex(&[2; TOKEN_BYTES])],
        "tokens are the source's bytes, hex-encoded"
    );
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Wait 1 s, Pass, Choice, and round again until the input has `stop` (never, here).
fn forever() -> String {
    json!({"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 1, "Next": "P"},
        "P": {"Type": "Pass", "Result": {"n": 1}, "ResultPath": "$.last", "Next": "C"},
        "C": {"Type": "Choice",
              "Choices": [{"Variable": "$.stop", "IsPresent": true, "Next": "Done"}],
              "Default": "W"},
        "Done": {"Type": "Succeed"}
    }})
    .to_string()
}

#[test]
fn a_snapshot_has_no_history_and_does_not_grow_with_it() {
    let mut run = Run::start(&forever(), json!({"doc": "d"}));
    for _ in 0..10 {
        run.fire_next_timer();
    }
    let small = serde_json::to_value(&run.exec).unwrap();
    assert!(small.get("history").is_none(), "no history in the snapshot");
    assert_eq!(small["events"], json!(run.exec.event_count()));
    let small = small.to_string();
    for _ in 0..500 {
        run.fire_next_timer();
    }
    assert!(run.exec.event_count() > 2000);
    assert_eq!(run.exec.history().len() as u64, run.exec.event_count());
    let big = serde_json::to_string(&run.exec).unwrap();
    // Only counters and timestamps have more digits.
    assert!(
        big.len() < small.len() + 32,
        "snapshot grew from {} to {} bytes",
        small.len(),
        big.len()
    );
}

#[test]
fn a_resumed_execution_continues_event_ids_without_its_history() {
    let mut run = Run::start(&forever(), json!({}));
    run.fire_next_timer();
    let before = run.exec.take_history();
    let n = run.exec.event_count();
    assert_eq!(before.len() as u64, n);
    assert_eq!(before.last().unwrap().id, n);
    assert!(run.exec.history().is_empty(), "taken");
    assert!(run.exec.take_history().is_empty(), "taken once");

    // Through JSON: nothing of the history travels, the counter does.
    let text = serde_json::to_string(&run.exec).unwrap();
    let resumed: Execution = serde_json::from_str(&text).unwrap();
    assert!(resumed.history().is_empty());
    assert_eq!(resumed.event_count(), n);
    run.exec = resumed;
    run.fire_next_timer();
    let after = run.exec.take_history();
    assert!(!after.is_empty());
    for (i, e) in after.iter().enumerate() {
        assert_eq!(e.id, n + 1 + i as u64, "ids continue from the counter");
    }
    // The first new event follows from the last stored one.
    assert_eq!(after[0].previous_event_id, n);
    assert_eq!(run.exec.event_count(), n + after.len() as u64);
}

#[test]
fn a_snapshot_without_its_counter_is_refused() {
    let run = Run::start(&forever(), json!({}));
    let mut v = serde_json::to_value(&run.exec).unwrap();
    v.as_object_mut().unwrap().remove("events");
    assert!(serde_json::from_value::<Execution>(v).is_err());
}

#[test]
fn the_definition_hash_ignores_layout_and_sees_every_change() {
    let a =
        Definition::parse(r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}"#)
            .unwrap();
    let b = Definition::parse(
        "{\n  \"States\": {\"P\": {\"End\": true, \"Type\": \"Pass\"}},\n  \"StartAt\": \"P\"\n}",
    )
    .unwrap();
    assert_eq!(a.sha256_hex().len(), 64);
    assert_eq!(
        a.sha256_hex(),
        b.sha256_hex(),
        "whitespace and key order do not count"
    );
    let c = Definition::parse(
        r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 1, "End": true}}}"#,
    )
    .unwrap();
    assert_ne!(a.sha256_hex(), c.sha256_hex());
    // Substitutions are part of it.
    let text =
        r#"{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "${F}", "End": true}}}"#;
    let with = |arn: &str| {
        Definition::parse_with(text, &BTreeMap::from([("F".to_string(), arn.to_string())]))
            .unwrap()
            .sha256_hex()
            .to_string()
    };
    let hashes: BTreeSet<String> = [
        with("arn:aws:lambda:local:0:function:one"),
        with("arn:aws:lambda:local:0:function:two"),
        Definition::parse(text).unwrap().sha256_hex().to_string(),
    ]
    .into();
    assert_eq!(hashes.len(), 3);
    let one = "arn:aws:lambda:local:0:function:one";
    assert_eq!(with(one), with(one));
}
