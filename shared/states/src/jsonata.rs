//! JSONata in `QueryLanguage: JSONata` states: which strings are expressions (`{% … %}`),
//! how one is evaluated (`$states`, the workflow variables, the functions Step Functions adds),
//! and AWS's words when one fails (`States.QueryEvaluationError`).
//!
//! The language itself is jlens-core's (complete JSONata 2.2; AWS documents 2.0.6, whose
//! functions and operators 2.2 keeps). It keeps objects' key order, takes the clock and the
//! random seed from us — so an execution replays exactly — and bounds each evaluation in steps
//! and size, so a runaway expression fails instead of stalling the executor.

use std::sync::{Arc, Mutex};

use jlens_core::{Bindings, Expression, HostFunction, Options};
use serde_json::{Map, Value, json};

use crate::intrinsics;
use crate::rng::Rng;

/// A compiled `{% … %}` expression and its text (as AWS quotes it in causes: trimmed).
#[derive(Debug, Clone)]
pub struct Expr {
    source: String,
    compiled: Expression,
}

impl PartialEq for Expr {
    fn eq(&self, other: &Expr) -> bool {
        self.source == other.source
    }
}

impl Expr {
    /// The expression as written between the delimiters, trimmed.
    pub fn source(&self) -> &str {
        &self.source
    }
}

/// The expression a string holds, if it is one: exactly `{%`, the expression, `%}` — a
/// leading or trailing space makes the string a literal (recorded on AWS). A malformed
/// expression is refused with JSONata's own words.
pub fn expression(text: &str) -> Result<Option<Expr>, String> {
    let Some(inner) = text
        .strip_prefix("{%")
        .and_then(|rest| rest.strip_suffix("%}"))
    else {
        return Ok(None);
    };
    let source = inner.trim().to_owned();
    let compiled = Expression::compile(&source)
        .map_err(|e| format!("INVALID_JSONATA_EXPRESSION: {}", e.message()))?;
    // Step Functions gives an expression no input document: a field name, `$` or `$$` at
    // its top level is refused when the machine is created (as measured on AWS). An object
    // constructor only needs the (absent) context, which is fine.
    let reads_input = compiled
        .reads_with(&analysis())
        .input()
        .is_some_and(|r| r.fields().is_none_or(|f| !f.is_empty()));
    if reads_input {
        return Err(format!(
            "UNSUPPORTED_JSONATA_EXPRESSION: '{source}' reads a field, '$' or '$$' at its top level; read the state's input as $states.input"
        ));
    }
    Ok(Some(Expr { source, compiled }))
}

impl Expr {
    /// The fields of `$states` the expression may read (`result`, `errorOutput`, …);
    /// `None` when it may read `$states` whole.
    pub fn states_fields(&self) -> Option<Vec<String>> {
        match self.compiled.reads_with(&analysis()).binding("states") {
            None => Some(Vec::new()),
            Some(read) => read.fields().map(|f| f.keys().cloned().collect()),
        }
    }
}

/// The bindings an expression is analysed with before it runs: Step Functions' functions,
/// which read only their arguments.
fn analysis() -> Bindings {
    step_functions(0)
        .into_iter()
        .fold(Bindings::new(), |b, (name, f)| b.function(name, f))
        .var("eval", Value::Null)
}

/// What an expression sees: `$states`, the variables in scope, the time and a seed for
/// `$random()` / `$uuid()` (drawn from the execution's generator, so replays agree).
pub struct Env<'a> {
    /// `$states`: `input`, `context`, and `result` or `errorOutput` where they exist.
    pub states: Value,
    /// The workflow variables in scope.
    pub vars: &'a Map<String, Value>,
    /// `$now()` and `$millis()`, in milliseconds since the epoch.
    pub now_millis: i64,
    /// Seed of this evaluation's random numbers.
    pub seed: u64,
}

/// Why an expression gave no value Step Functions can use.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    /// It evaluated to nothing.
    Undefined,
    /// JSONata raised an error (its code and message).
    Raised(String),
}

/// Largest value one evaluation may build (AWS's limit is near 7 MB); expressions are also
/// stopped after this many steps, far beyond any reasonable transformation.
const MAX_RESULT_BYTES: usize = 8 * 1024 * 1024;
const MAX_STEPS: u64 = 10_000_000;

/// Evaluates `e` in `env`.
pub fn evaluate(e: &Expr, env: &Env<'_>) -> Result<Value, Problem> {
    let mut bindings = Bindings::new();
    for (name, value) in env.vars {
        bindings = bindings.var(name.clone(), value.clone());
    }
    bindings = bindings.var("states", env.states.clone());
    // Step Functions takes `$eval` away ("use `$parse` instead"): calling it is calling
    // something that is not a function (T1006).
    bindings = bindings.var("eval", Value::Null);
    for (name, f) in step_functions(env.seed) {
        bindings = bindings.function(name, f);
    }
    let options = Options::new()
        .now(env.now_millis)
        .seed(env.seed)
        .max_steps(MAX_STEPS)
        .max_result_size(MAX_RESULT_BYTES);
    match e.compiled.evaluate_with(None, &bindings, &options) {
        Ok(Some(v)) => Ok(v),
        Ok(None) => Err(Problem::Undefined),
        Err(err) => Err(Problem::Raised(format!(
            "{}: {}",
            err.code(),
            err.message()
        ))),
    }
}

/// An error raised by one of our functions: JSONata's `D3137`, whose text is the message
/// (what `$error()` raises).
fn raised(message: impl Into<String>) -> jlens_core::Error {
    jlens_core::Error::new("D3137").with("message", message.into())
}

fn number(args: &[Option<Value>], i: usize) -> Option<f64> {
    args.get(i).and_then(|a| a.as_ref()).and_then(Value::as_f64)
}

/// "Built-in JSONata functions that require integer values as parameters will automatically
/// round down any non-integer numbers provided" — toward zero, as measured.
fn integer(args: &[Option<Value>], i: usize) -> Option<i64> {
    number(args, i).map(|n| n.trunc() as i64)
}

/// The functions Step Functions adds to JSONata.
fn step_functions(seed: u64) -> Vec<(&'static str, HostFunction)> {
    // One generator per evaluation, shared by `$random()` and `$uuid()` calls in it.
    let rng = Arc::new(Mutex::new(Rng::new(seed)));
    let uuid_rng = rng.clone();
    vec![
        (
            "partition",
            HostFunction::new(2, |args, _| {
                let (Some(Some(Value::Array(items))), Some(size)) =
                    (args.first(), integer(args, 1))
                else {
                    return Ok(None);
                };
                if size <= 0 || items.is_empty() {
                    return Ok(None);
                }
                let chunks: Vec<Value> = items
                    .chunks(size as usize)
                    .map(|c| Value::Array(c.to_vec()))
                    .collect();
                Ok(Some(Value::Array(chunks)))
            })
            .without_input(),
        ),
        (
            "range",
            HostFunction::new(3, |args, _| {
                let (Some(start), Some(end), Some(step)) =
                    (integer(args, 0), integer(args, 1), integer(args, 2))
                else {
                    return Ok(None);
                };
                if step == 0 || (end - start).signum() * step.signum() < 0 {
                    return Ok(None);
                }
                let mut out = Vec::new();
                let mut at = start;
                while (step > 0 && at <= end) || (step < 0 && at >= end) {
                    if out.len() >= 360_145 {
                        return Err(raised("$range would return too many items"));
                    }
                    out.push(json!(at));
                    at += step;
                }
                // A range of one is that number, not an array of it (recorded on AWS).
                Ok(Some(match out.len() {
                    1 => out.remove(0),
                    _ => Value::Array(out),
                }))
            })
            .without_input(),
        ),
        (
            "hash",
            HostFunction::new(2, |args, _| {
                let (Some(Some(Value::String(data))), Some(Some(Value::String(algorithm)))) =
                    (args.first(), args.get(1))
                else {
                    return Ok(None);
                };
                intrinsics::hash(data, algorithm)
                    .map(|h| Some(Value::String(h)))
                    .ok_or_else(|| {
                        raised(format!("$hash: algorithm {algorithm:?} is not supported"))
                    })
            })
            .without_input(),
        ),
        (
            "random",
            HostFunction::new(1, move |args, _| {
                // With a seed, the same number for the same seed; without, the next number
                // of this evaluation's generator.
                let n = match integer(args, 0) {
                    Some(seed) => Rng::new(seed as u64).next_f64(),
                    None => rng.lock().map_err(|_| raised("poisoned"))?.next_f64(),
                };
                Ok(Some(json!(n)))
            })
            .without_input(),
        ),
        (
            "uuid",
            HostFunction::new(0, move |_, _| {
                let id = uuid_rng.lock().map_err(|_| raised("poisoned"))?.uuid();
                Ok(Some(Value::String(id)))
            })
            .without_input(),
        ),
        (
            "parse",
            HostFunction::new(1, |args, _| match args.first() {
                Some(Some(Value::String(text))) => serde_json::from_str(text)
                    .map(Some)
                    .map_err(|e| raised(format!("$parse: malformed JSON: {e}"))),
                _ => Ok(None),
            })
            .without_input(),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(text: &str, states: Value) -> Result<Value, Problem> {
        let e = expression(&format!("{{% {text} %}}")).unwrap().unwrap();
        let vars = Map::new();
        evaluate(
            &e,
            &Env {
                states,
                vars: &vars,
                now_millis: 1_700_000_000_000,
                seed: 7,
            },
        )
    }

    #[test]
    fn only_a_whole_delimited_string_is_an_expression() {
        assert!(expression("{% 1 %}").unwrap().is_some());
        assert!(expression("{%1%}").unwrap().is_some());
        for literal in [" {% 1 %}", "{% 1 %} ", "$states.input", "{ % 1 % }", "%}{%"] {
            assert_eq!(expression(literal).unwrap(), None, "{literal}");
        }
        assert_eq!(expression("{%  $x  %}").unwrap().unwrap().source(), "$x");
        let bad = expression("{% 1 + %}").unwrap_err();
        assert!(bad.starts_with("INVALID_JSONATA_EXPRESSION"), "{bad}");
        // No input document: a top-level field, `$` or `$$` is refused (measured on AWS).
        for top in [
            "{% phone %}",
            "{% $$ %}",
            "{% $ %}",
            "{% $map([1], function($x){ b }) %}",
        ] {
            let refused = expression(top).unwrap_err();
            assert!(
                refused.starts_with("UNSUPPORTED_JSONATA_EXPRESSION"),
                "{top}: {refused}"
            );
        }
        for fine in [
            "{% $states.input.items[value > 3].name %}",
            "{% $map([1], function($x){ $x }) %}",
        ] {
            assert!(expression(fine).is_ok(), "{fine}");
        }
        let e = expression("{% $states.result.Payload & $states.input.x %}")
            .unwrap()
            .unwrap();
        assert_eq!(
            e.states_fields(),
            Some(vec!["input".into(), "result".into()])
        );
    }

    // The provided functions, as recorded on AWS (LocalStack's
    // test_array_jsonata / test_json_manipulation_jsonata snapshots).
    #[test]
    fn the_functions_step_functions_adds() {
        let s = json!({});
        assert_eq!(
            eval("$partition([0,1], 1)", s.clone()),
            Ok(json!([[0], [1]]))
        );
        assert_eq!(eval("$partition([0,1], 3)", s.clone()), Ok(json!([[0, 1]])));
        assert_eq!(eval("$range(0, 10, 3)", s.clone()), Ok(json!([0, 3, 6, 9])));
        assert_eq!(eval("$range(1, 9, 9)", s.clone()), Ok(json!(1)));
        assert_eq!(
            eval("$range(1, 9, 2)", s.clone()),
            Ok(json!([1, 3, 5, 7, 9]))
        );
        assert_eq!(eval("$range(1, 9, -1)", s.clone()), Err(Problem::Undefined));
        assert_eq!(
            eval("$parse('{\"Arg1\": 1, \"Arg2\": []}')", s.clone()),
            Ok(json!({"Arg1": 1, "Arg2": []}))
        );
        assert_eq!(eval("$parse('-0')", s.clone()), Ok(json!(0)));
        // SHA-256("abc") is the FIPS 180-2 test vector.
        assert_eq!(
            eval("$hash('abc', 'SHA-256')", s.clone()),
            Ok(json!(
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
            ))
        );
        assert_eq!(
            eval("$random(42) = $random(42)", s.clone()),
            Ok(json!(true))
        );
        let uuid = eval("$uuid()", s.clone()).unwrap();
        assert_eq!(uuid.as_str().unwrap().len(), 36);
        assert_eq!(eval("$uuid()", s.clone()).unwrap(), uuid, "seeded");
        // `$eval` is taken away; calling it could read anything, so it is refused at load.
        assert!(expression("{% $eval('1+1') %}").is_err());
        assert!(expression("{% {'foo': 'bar'} %}").unwrap().is_some());
        assert_eq!(
            eval("$states.input.a & $now()", json!({"input": {"a": "x"}})),
            Ok(json!("x2023-11-14T22:13:20.000Z"))
        );
    }
}
