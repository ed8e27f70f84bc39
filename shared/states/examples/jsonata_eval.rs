//! Evaluates JSONata cases with keiyaku's evaluator, for `tests/tools/jsonata_differential.mjs`,
//! which evaluates the same cases with the reference implementation (npm `jsonata`):
//! `jsonata_eval CASES.json` reads `[{"expr", "input", "vars"}]` and prints, for each case in
//! order, `{"value": …}`, `{"undefined": true}` or `{"error": "<JSONata code>"}`. Each case
//! sees `$states.input` (its input) and its variables; the clock and seed are fixed.

use keiyaku_states::jsonata::{self, Env, Problem};
use serde_json::{Map, Value, json};

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: jsonata_eval CASES.json");
    let cases: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("readable")).expect("JSON");
    let out: Vec<Value> = cases.iter().map(evaluate).collect();
    println!("{}", Value::Array(out));
}

fn evaluate(case: &Value) -> Value {
    let text = case["expr"].as_str().expect("an expression");
    let e = match jsonata::expression(&format!("{{% {text} %}}")) {
        Ok(Some(e)) => e,
        Ok(None) => return json!({"error": "not an expression"}),
        Err(why) => return json!({"error": "parse", "message": why}),
    };
    let vars: Map<String, Value> = case["vars"].as_object().cloned().unwrap_or_default();
    let env = Env {
        states: json!({"input": case["input"]}),
        vars: &vars,
        now_millis: 1_700_000_000_000,
        seed: 1,
    };
    match jsonata::evaluate(&e, &env) {
        Ok(v) => json!({"value": v}),
        Err(Problem::Undefined) => json!({"undefined": true}),
        Err(Problem::Raised(why)) => {
            let code = why.split(':').next().unwrap_or_default();
            json!({"error": code, "message": why})
        }
    }
}
