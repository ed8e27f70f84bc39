//! Loading a state machine: JSON in, a checked [`Definition`] out. Anything the engine does
//! not implement, and every structural mistake, is refused here with the JSON path of the
//! offending node, so a definition that loads is one the engine can run to the end.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::intrinsics::{self, Call};
use crate::jsonata::Expr;
use crate::path::Path;
use crate::supported;

mod choice;
mod fields;
mod jsonata;
mod kinds;
mod map;
mod retry;

use choice::parse_choice;
use fields::*;
pub(crate) use fields::{child, template};
use kinds::*;
use map::parse_map;
use retry::*;

/// A refused definition: where (a JSON path such as `$.States.Send.Retry[0].Foo`) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct DefinitionError {
    /// The JSON path of the offending node.
    pub path: String,
    /// What is wrong with it.
    pub message: String,
}

fn err<T>(path: &str, message: impl Into<String>) -> Result<T, DefinitionError> {
    Err(DefinitionError {
        path: path.to_string(),
        message: message.into(),
    })
}

/// A loaded, checked state machine.
#[derive(Debug, Clone, PartialEq)]
pub struct Definition {
    /// The top-level `TimeoutSeconds`, if any.
    pub timeout_seconds: Option<u64>,
    /// The top-level states.
    pub machine: Machine,
    /// SHA-256 of the canonical JSON after substitution (see [`Definition::sha256_hex`]).
    sha256: String,
}

/// A set of states with a start: the top level, a Parallel branch or a Map processor.
#[derive(Debug, Clone, PartialEq)]
pub struct Machine {
    /// The first state.
    pub start_at: String,
    /// The states by name.
    pub states: BTreeMap<String, State>,
}

/// One state with the fields every kind shares.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    /// What kind of state and its own fields.
    pub kind: Kind,
    /// The language of its expressions.
    pub language: QueryLanguage,
    /// A JSONata state's `Output` (its output when given).
    pub output: Option<Template>,
    /// `InputPath` (`$` by default; `null` gives `{}`).
    pub input_path: DataPath,
    /// `OutputPath` (`$` by default; `null` gives `{}`).
    pub output_path: DataPath,
    /// `Parameters` (for Map: the legacy name of `ItemSelector`), or a JSONata state's
    /// `Arguments`.
    pub parameters: Option<Template>,
    /// `ResultSelector`.
    pub result_selector: Option<Template>,
    /// `ResultPath` (`$` by default; `null` keeps the input).
    pub result_path: ResultPath,
    /// A Pass state's `Result`.
    pub result: Option<Value>,
    /// `Next` or `End` (absent for Choice, Succeed and Fail).
    pub transition: Transition,
    /// `Retry`.
    pub retry: Vec<Retrier>,
    /// `Catch`.
    pub catch: Vec<Catcher>,
    /// `Assign`: the variables the state sets when it ends, a template whose top-level
    /// keys name them.
    pub assign: Option<Template>,
}

/// The language a state's expressions are written in (`QueryLanguage`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueryLanguage {
    /// JSONPath (the default): paths, `.$` fields and intrinsic functions.
    #[default]
    JsonPath,
    /// JSONata: `{% … %}` expressions, `Arguments` and `Output`.
    Jsonata,
}

impl QueryLanguage {
    /// The other one.
    pub fn other(self) -> QueryLanguage {
        match self {
            QueryLanguage::JsonPath => QueryLanguage::Jsonata,
            QueryLanguage::Jsonata => QueryLanguage::JsonPath,
        }
    }
}

/// The kind of a state.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// `Pass`.
    Pass,
    /// `Task`.
    Task(TaskSpec),
    /// `Choice`.
    Choice(ChoiceSpec),
    /// `Wait`.
    Wait(WaitSpec),
    /// `Succeed`.
    Succeed,
    /// `Fail`.
    Fail(FailSpec),
    /// `Parallel` with its branches.
    Parallel(Vec<Machine>),
    /// `Map` (inline).
    Map(MapSpec),
}

impl Kind {
    /// The `Type` name, as event names use it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Kind::Pass => "Pass",
            Kind::Task(_) => "Task",
            Kind::Choice(_) => "Choice",
            Kind::Wait(_) => "Wait",
            Kind::Succeed => "Succeed",
            Kind::Fail(_) => "Fail",
            Kind::Parallel(_) => "Parallel",
            Kind::Map(_) => "Map",
        }
    }
}

/// `InputPath` / `OutputPath` / `ItemsPath`: a path, or `null` (the empty object).
#[derive(Debug, Clone, PartialEq)]
pub enum DataPath {
    /// `null`: the state sees `{}`.
    Null,
    /// A path.
    Path(Path),
}

/// `ResultPath`.
#[derive(Debug, Clone, PartialEq)]
pub enum ResultPath {
    /// `null`: the result is discarded and the input passes through.
    Discard,
    /// Where in the input the result goes.
    At(Path),
}

/// `Next` or `End`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// Go to the named state.
    Next(String),
    /// End the machine (or branch) with this state's output.
    End,
    /// Choice, Succeed and Fail decide for themselves.
    None,
}

/// A payload template (`Parameters`, `ItemSelector`, `ResultSelector`).
#[derive(Debug, Clone, PartialEq)]
pub enum Template {
    /// A value with nothing to evaluate.
    Literal(Value),
    /// An object whose fields may be evaluated.
    Object(Vec<(String, Template)>),
    /// An array whose items may be evaluated.
    Array(Vec<Template>),
    /// A `key.$` field's path.
    Path(Path),
    /// A `key.$` field's intrinsic call.
    Call(Call),
    /// A `{% … %}` string of a JSONata state.
    Jsonata(Expr),
}

impl Template {
    /// The object `v` whose fields are `fields`: `v` itself when nothing in it is evaluated.
    pub(crate) fn object(fields: Vec<(String, Template)>, v: &Value) -> Template {
        if fields
            .iter()
            .all(|(_, t)| matches!(t, Template::Literal(_)))
        {
            Template::Literal(v.clone())
        } else {
            Template::Object(fields)
        }
    }

    /// The array `v` whose items are `items`: `v` itself when nothing in it is evaluated.
    pub(crate) fn array(items: Vec<Template>, v: &Value) -> Template {
        if items.iter().all(|t| matches!(t, Template::Literal(_))) {
            Template::Literal(v.clone())
        } else {
            Template::Array(items)
        }
    }

    /// Whether the template reads `$$.Task.Token` (a waitForTaskToken task must pass it on).
    pub fn mentions_task_token(&self) -> bool {
        match self {
            Template::Literal(_) => false,
            Template::Object(fields) => fields.iter().any(|(_, t)| t.mentions_task_token()),
            Template::Array(items) => items.iter().any(Template::mentions_task_token),
            Template::Path(p) => p.as_str().starts_with("$$.Task.Token"),
            Template::Call(c) => format!("{c:?}").contains("$$.Task.Token"),
            Template::Jsonata(e) => e.source().contains("$states.context.Task.Token"),
        }
    }
}

/// A Retrier.
#[derive(Debug, Clone, PartialEq)]
pub struct Retrier {
    /// `ErrorEquals`.
    pub error_equals: Vec<String>,
    /// `IntervalSeconds` (default 1).
    pub interval_seconds: u64,
    /// `MaxAttempts` (default 3; 0 never retries).
    pub max_attempts: u64,
    /// `BackoffRate` (default 2.0).
    pub backoff_rate: f64,
    /// `MaxDelaySeconds`, capping each interval.
    pub max_delay_seconds: Option<u64>,
    /// `JitterStrategy: FULL` (a random delay between 0 and the computed interval).
    pub full_jitter: bool,
}

/// A Catcher.
#[derive(Debug, Clone, PartialEq)]
pub struct Catcher {
    /// `ErrorEquals`.
    pub error_equals: Vec<String>,
    /// `Next`.
    pub next: String,
    /// `ResultPath` (default `$`) for the `{Error, Cause}` object.
    pub result_path: ResultPath,
    /// `Assign`, over the `{Error, Cause}` object.
    pub assign: Option<Template>,
    /// A JSONata Catcher's `Output` (default: the `{Error, Cause}` object).
    pub output: Option<Template>,
}

/// Which service a Task calls and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Integration {
    /// `arn:aws:states:::lambda:invoke`: request-response; the result has Lambda's shape.
    LambdaInvoke,
    /// `arn:aws:states:::lambda:invoke.waitForTaskToken`: the result comes by task token.
    LambdaInvokeWaitForTaskToken,
    /// A plain function ARN (or an unresolved `${Name}`): the handler's output is the result.
    LambdaFunction,
    /// `arn:aws:states:::s3:getObject`, as a Distributed Map's ItemReader calls it: the
    /// payload is `{"Bucket", "Key"}`; report the object's text as a string.
    S3GetObject,
    /// `arn:aws:states:::s3:listObjectsV2`, as a Distributed Map's ItemReader calls it: the
    /// payload is `{"Bucket", "Prefix"}`; report the objects as an array of
    /// `{"Etag", "Key", "LastModified", "Size", "StorageClass"}`.
    S3ListObjectsV2,
    /// `arn:aws:states:::s3:putObject`, as a Distributed Map's ResultWriter calls it: the
    /// payload is `{"Bucket", "Key", "Body"}`, the body a text to store.
    S3PutObject,
}

/// A seconds value written inline or read from the input.
#[derive(Debug, Clone, PartialEq)]
pub enum Seconds {
    /// A literal.
    Fixed(u64),
    /// A reference path to a positive integer.
    Path(Path),
    /// A JSONata expression.
    Expr(Expr),
}

/// A Task's own fields.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskSpec {
    /// `Resource`, after substitution.
    pub resource: String,
    /// How the resource is called.
    pub integration: Integration,
    /// `TimeoutSeconds` / `TimeoutSecondsPath`.
    pub timeout: Option<Seconds>,
    /// `HeartbeatSeconds` / `HeartbeatSecondsPath`.
    pub heartbeat: Option<Seconds>,
}

/// A Choice state's rules.
#[derive(Debug, Clone, PartialEq)]
pub struct ChoiceSpec {
    /// The top-level rules, each with its `Next` and `Assign`.
    pub choices: Vec<Choice>,
    /// `Default`.
    pub default: Option<String>,
}

/// A top-level Choice rule: its condition, where it leads and what it assigns.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    /// The condition.
    pub rule: Rule,
    /// `Next`.
    pub next: String,
    /// `Assign`, over the state's input, after the state's own.
    pub assign: Option<Template>,
    /// A JSONata rule's `Output` (in place of the state's).
    pub output: Option<Template>,
}

/// A Choice rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// A JSONata rule's `Condition`: `true`, `false` or an expression giving one.
    Condition(Template),
    /// `And`.
    And(Vec<Rule>),
    /// `Or`.
    Or(Vec<Rule>),
    /// `Not`.
    Not(Box<Rule>),
    /// `Variable` with one comparison.
    Compare {
        /// `Variable`.
        variable: Path,
        /// The operator name without the `Path` suffix (e.g. `NumericEquals`).
        op: String,
        /// The value to compare with.
        operand: Operand,
    },
}

/// The right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A literal from the definition.
    Literal(Value),
    /// A `...Path` operator's path.
    Path(Path),
}

/// A Wait state's duration.
#[derive(Debug, Clone, PartialEq)]
pub enum WaitSpec {
    /// `Seconds`.
    Seconds(u64),
    /// `SecondsPath`.
    SecondsPath(Path),
    /// `Timestamp`.
    Timestamp(OffsetDateTime),
    /// `TimestampPath`.
    TimestampPath(Path),
    /// A JSONata `Seconds`.
    SecondsExpr(Expr),
    /// A JSONata `Timestamp`.
    TimestampExpr(Expr),
}

/// A string written inline or read from the input.
#[derive(Debug, Clone, PartialEq)]
pub enum Text {
    /// A literal.
    Fixed(String),
    /// A path (may be an intrinsic call, as AWS allows for `ErrorPath`/`CausePath`).
    Path(Path),
    /// An intrinsic call.
    Call(Call),
    /// A JSONata expression.
    Expr(Expr),
}

/// A Fail state's fields.
#[derive(Debug, Clone, PartialEq)]
pub struct FailSpec {
    /// `Error` / `ErrorPath`.
    pub error: Option<Text>,
    /// `Cause` / `CausePath`.
    pub cause: Option<Text>,
}

/// A Map state's own fields.
#[derive(Debug, Clone, PartialEq)]
pub struct MapSpec {
    /// `ItemsPath` (default `$`).
    pub items_path: Path,
    /// A JSONata state's `Items` (default: its input).
    pub items: Option<Template>,
    /// `ItemSelector` (or the legacy `Parameters`).
    pub item_selector: Option<Template>,
    /// `ItemProcessor` (or the legacy `Iterator`).
    pub processor: Box<Machine>,
    /// `MaxConcurrency` / `MaxConcurrencyPath` (0: no limit).
    pub max_concurrency: Seconds,
    /// `ProcessorConfig.Mode: DISTRIBUTED`: each item (or batch) runs as a child execution.
    pub distributed: Option<Box<Distributed>>,
}

/// A Distributed Map's own fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Distributed {
    /// `Label` (a UUID when absent, as AWS makes one).
    pub label: Option<String>,
    /// `ToleratedFailureCount` / `…Path`: how many children may fail.
    pub tolerated_count: Option<Seconds>,
    /// `ToleratedFailurePercentage` / `…Path`: what share of the items may fail.
    pub tolerated_percentage: Option<Percentage>,
    /// `ItemBatcher`.
    pub batcher: Option<Batcher>,
    /// `ItemReader`: the items come from an object instead of the state's input.
    pub reader: Option<ItemReader>,
    /// `ResultWriter`: the children's results go to objects, and the Map's result says
    /// where.
    pub writer: Option<ResultWriter>,
}

/// A Distributed Map's `ResultWriter`: the children's results are written (S3 `putObject`,
/// a task of the `S3PutObject` integration) as `<Prefix>/<map run id>/SUCCEEDED_0.json`,
/// `FAILED_0.json` and `manifest.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultWriter {
    /// `Parameters` (JSONPath) or `Arguments` (JSONata): the `Bucket` and `Prefix`.
    pub arguments: Template,
}

/// A Distributed Map's `ItemReader`: its items are read from an object (S3 `getObject`) or
/// are the objects under a prefix (S3 `listObjectsV2`), which the driver fetches as a task
/// of the `S3GetObject` or `S3ListObjectsV2` integration.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemReader {
    /// `Parameters` (JSONPath) or `Arguments` (JSONata): the `Bucket`, and the `Key` to
    /// read or the `Prefix` to list.
    pub arguments: Template,
    /// Where the items come from.
    pub source: ItemSource,
    /// `ReaderConfig.MaxItems` / `MaxItemsPath` (0 or absent: every item).
    pub max_items: Option<Seconds>,
}

/// Where an ItemReader's items come from.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemSource {
    /// `s3:getObject`: the items one object holds, read as its `ReaderConfig.InputType` says.
    Object(InputType),
    /// `s3:listObjectsV2`: each object under the prefix is an item.
    Listing,
}

/// How an ItemReader's object becomes items.
#[derive(Debug, Clone, PartialEq)]
pub enum InputType {
    /// A JSON array, each element an item.
    Json,
    /// JSON Lines: each non-empty line a JSON value.
    Jsonl,
    /// CSV: each row an object of strings under the headers.
    Csv {
        /// `CSVHeaderLocation: GIVEN`'s `CSVHeaders`; `None` when the first row holds them.
        headers: Option<Vec<String>>,
        /// `CSVDelimiter`'s byte (`,` by default).
        delimiter: u8,
    },
}

/// The most items an ItemReader gives (MaxItems' upper bound).
pub const MAX_ITEMS: u64 = 100_000_000;

/// A percentage written inline, read from the input, or given by a JSONata expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Percentage {
    /// A literal from 0 to 100.
    Fixed(f64),
    /// A reference path.
    Path(Path),
    /// A JSONata expression.
    Expr(Expr),
}

/// A Distributed Map's `ItemBatcher`: children get `{"Items": [...], "BatchInput": ...}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Batcher {
    /// `MaxItemsPerBatch` / `…Path`.
    pub max_items: Option<Seconds>,
    /// `MaxInputBytesPerBatch` / `…Path` (at most 256 KiB).
    pub max_bytes: Option<Seconds>,
    /// `BatchInput`, evaluated over the Map's input.
    pub batch_input: Option<Template>,
}

impl Definition {
    /// Loads a state machine, refusing what the engine does not implement.
    pub fn parse(json: &str) -> Result<Definition, DefinitionError> {
        Definition::parse_with(json, &BTreeMap::new())
    }

    /// Loads a state machine after replacing each `${Name}` in its string values with
    /// `substitutions[Name]`, as SAM's `DefinitionSubstitutions` does. Placeholders without
    /// a value stay as written (a Task `Resource` may then name the function by placeholder).
    pub fn parse_with(
        json: &str,
        substitutions: &BTreeMap<String, String>,
    ) -> Result<Definition, DefinitionError> {
        let mut doc: Value = serde_json::from_str(json).map_err(|e| DefinitionError {
            path: "$".into(),
            message: format!("not JSON: {e}"),
        })?;
        substitute(&mut doc, substitutions);
        let top = obj(&doc, "$")?;
        let language = query_language(top, "$", QueryLanguage::JsonPath)?;
        check_fields(top, "$", supported::TOP_LEVEL, "the top level")?;
        let timeout_seconds = opt_uint(top, "$", "TimeoutSeconds", 1)?;
        if let Some(v) = top.get("Version")
            && !v.is_string()
        {
            return err("$.Version", "must be a string");
        }
        let machine = parse_machine(top, "$", false, language)?;
        unique_names(&machine, "$", &mut BTreeMap::new())?;
        Ok(Definition {
            timeout_seconds,
            machine,
            sha256: canonical_sha256(&doc),
        })
    }

    /// SHA-256 (lowercase hex) of the definition JSON after substitution, in a canonical
    /// form: object keys sorted, no insignificant whitespace, strings and numbers as
    /// `serde_json` writes them. Whitespace and key order in the file do not change it; any
    /// change of a value, a state or a substituted ARN does. A driver records it when an
    /// execution starts, to refuse running that execution under another definition.
    pub fn sha256_hex(&self) -> &str {
        &self.sha256
    }
}

/// State names are unique in the whole state machine, branches and Map processors included
/// (the Developer Guide: "Names must be unique within the scope of the whole state machine";
/// CreateStateMachine refuses a duplicate). `seen` maps each name to where it was first met.
fn unique_names(
    machine: &Machine,
    at: &str,
    seen: &mut BTreeMap<String, String>,
) -> Result<(), DefinitionError> {
    for (name, state) in &machine.states {
        let here = format!("{at}.States.{name}");
        if let Some(first) = seen.insert(name.clone(), here.clone()) {
            return err(
                &here,
                format!(
                    "state name {name:?} is already used at {first}: names must be unique in the whole state machine"
                ),
            );
        }
        match &state.kind {
            Kind::Parallel(branches) => {
                for (i, branch) in branches.iter().enumerate() {
                    unique_names(branch, &format!("{here}.Branches[{i}]"), seen)?;
                }
            }
            Kind::Map(map) => {
                // A Distributed Map's Label is unique in the definition too (the Developer
                // Guide), in the same namespace as nothing else: keyed apart from names.
                if let Some(label) = map.distributed.as_ref().and_then(|d| d.label.as_ref())
                    && let Some(first) = seen.insert(format!("\u{0}label:{label}"), here.clone())
                {
                    return err(
                        &child(&here, "Label"),
                        format!(
                            "Label {label:?} is already used at {first}: labels must be unique in the state machine"
                        ),
                    );
                }
                unique_names(&map.processor, &format!("{here}.ItemProcessor"), seen)?
            }
            _ => {}
        }
    }
    Ok(())
}

/// The canonical form's hash. Keys are sorted here rather than relying on `serde_json`'s
/// map order, which changes with its `preserve_order` feature (another crate in a build may
/// turn it on).
fn canonical_sha256(doc: &Value) -> String {
    use sha2::{Digest, Sha256};
    fn write(v: &Value, out: &mut String) {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                out.push('{');
                for (i, k) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push(':');
                    write(&m[k], out);
                }
                out.push('}');
            }
            Value::Array(a) => {
                out.push('[');
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(x, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut text = String::new();
    write(doc, &mut text);
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn substitute(v: &mut Value, subs: &BTreeMap<String, String>) {
    match v {
        Value::String(s) if s.contains("${") && !subs.is_empty() => {
            for (k, x) in subs {
                let pat = format!("${{{k}}}");
                if s.contains(&pat) {
                    *s = s.replace(&pat, x);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| substitute(x, subs)),
        Value::Object(o) => o.values_mut().for_each(|x| substitute(x, subs)),
        _ => {}
    }
}

/// A `QueryLanguage` field (absent: `inherited`). A machine in JSONata cannot have a state
/// in JSONPath (recorded on AWS); the other way round is allowed.
fn query_language(
    o: &Map<String, Value>,
    at: &str,
    inherited: QueryLanguage,
) -> Result<QueryLanguage, DefinitionError> {
    match o.get("QueryLanguage") {
        None => Ok(inherited),
        Some(v) if v == "JSONata" => Ok(QueryLanguage::Jsonata),
        Some(v) if v == "JSONPath" => match inherited {
            QueryLanguage::JsonPath => Ok(QueryLanguage::JsonPath),
            QueryLanguage::Jsonata => err(
                at,
                "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine",
            ),
        },
        Some(other) => err(
            &child(at, "QueryLanguage"),
            format!("must be \"JSONPath\" or \"JSONata\", not {other}"),
        ),
    }
}

/// `top` is the machine's language, which every state without its own takes (also in
/// branches and Map processors).
fn parse_machine(
    o: &Map<String, Value>,
    at: &str,
    branch: bool,
    top: QueryLanguage,
) -> Result<Machine, DefinitionError> {
    if branch {
        check_fields(o, at, supported::BRANCH, "a branch")?;
    }
    let start_at = req_str(o, at, "StartAt")?.to_string();
    let states_at = child(at, "States");
    let Some(states_v) = o.get("States") else {
        return err(at, "States is required");
    };
    let states_o = obj(states_v, &states_at)?;
    if states_o.is_empty() {
        return err(&states_at, "must name at least one state");
    }
    let mut states = BTreeMap::new();
    for (name, sv) in states_o {
        let here = child(&states_at, name);
        if name.chars().count() > 80 {
            return err(&here, "state names are limited to 80 characters");
        }
        states.insert(name.clone(), parse_state(sv, &here, top)?);
    }
    if !states.contains_key(&start_at) {
        return err(
            &child(at, "StartAt"),
            format!("names no state: {start_at:?}"),
        );
    }
    // Every transition must land in this scope (branches cannot jump out), every state must
    // be reachable, and something must end the machine.
    let mut reach: BTreeSet<&str> = BTreeSet::new();
    let mut queue = VecDeque::from([start_at.as_str()]);
    while let Some(n) = queue.pop_front() {
        if !reach.insert(n) {
            continue;
        }
        let state = &states[n];
        let here = child(&states_at, n);
        for (target, field) in targets(state, &here) {
            if !states.contains_key(target) {
                return err(&field, format!("names no state in this scope: {target:?}"));
            }
            queue.push_back(target);
        }
    }
    if let Some(unreached) = states.keys().find(|k| !reach.contains(k.as_str())) {
        return err(
            &child(&states_at, unreached),
            "is not reachable from StartAt",
        );
    }
    let ends = states.values().any(|s| {
        matches!(s.transition, Transition::End) || matches!(s.kind, Kind::Succeed | Kind::Fail(_))
    });
    if !ends {
        return err(
            &states_at,
            "no state ends the machine (End, Succeed or Fail)",
        );
    }
    Ok(Machine { start_at, states })
}

fn targets<'a>(s: &'a State, at: &str) -> Vec<(&'a str, String)> {
    let mut out = Vec::new();
    if let Transition::Next(n) = &s.transition {
        out.push((n.as_str(), child(at, "Next")));
    }
    if let Kind::Choice(c) = &s.kind {
        for (i, Choice { next: n, .. }) in c.choices.iter().enumerate() {
            out.push((n.as_str(), format!("{at}.Choices[{i}].Next")));
        }
        if let Some(d) = &c.default {
            out.push((d.as_str(), child(at, "Default")));
        }
    }
    for (i, c) in s.catch.iter().enumerate() {
        out.push((c.next.as_str(), format!("{at}.Catch[{i}].Next")));
    }
    out
}

/// The fields of a state of type `ty` in `language` (`None`: no such type).
fn state_fields(ty: &str, language: QueryLanguage) -> Option<&'static [&'static str]> {
    use QueryLanguage::{JsonPath, Jsonata};
    use supported::*;
    Some(match (ty, language) {
        ("Pass", JsonPath) => PASS,
        ("Task", JsonPath) => TASK,
        ("Choice", JsonPath) => CHOICE,
        ("Wait", JsonPath) => WAIT,
        ("Succeed", JsonPath) => SUCCEED,
        ("Fail", JsonPath) => FAIL,
        ("Parallel", JsonPath) => PARALLEL,
        ("Map", JsonPath) => MAP,
        ("Pass", Jsonata) => PASS_JSONATA,
        ("Task", Jsonata) => TASK_JSONATA,
        ("Choice", Jsonata) => CHOICE_JSONATA,
        ("Wait", Jsonata) => WAIT_JSONATA,
        ("Succeed", Jsonata) => SUCCEED_JSONATA,
        ("Fail", Jsonata) => FAIL_JSONATA,
        ("Parallel", Jsonata) => PARALLEL_JSONATA,
        ("Map", Jsonata) => MAP_JSONATA,
        _ => return None,
    })
}

fn parse_state(v: &Value, at: &str, top: QueryLanguage) -> Result<State, DefinitionError> {
    let o = obj(v, at)?;
    let ty = req_str(o, at, "Type")?;
    let language = query_language(o, at, top)?;
    let (Some(allowed), Some(other)) = (
        state_fields(ty, language),
        state_fields(ty, language.other()),
    ) else {
        return err(
            &child(at, "Type"),
            format!("state type {ty:?} is not supported"),
        );
    };
    language_fields(o, at, allowed, other, language)?;
    check_fields(o, at, allowed, &format!("a {ty} state"))?;

    let transition = match ty {
        "Choice" | "Succeed" | "Fail" => Transition::None,
        _ => match (opt_str(o, at, "Next")?, o.get("End")) {
            (Some(_), Some(_)) => return err(at, "has both Next and End"),
            (Some(n), None) => Transition::Next(n.to_string()),
            (None, Some(Value::Bool(true))) => Transition::End,
            (None, Some(_)) => return err(&child(at, "End"), "must be true (or use Next)"),
            (None, None) => return err(at, "needs Next or End"),
        },
    };
    let retry = match o.get("Retry") {
        None => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(i, r)| parse_retrier(r, &format!("{at}.Retry[{i}]")))
            .collect::<Result<_, _>>()?,
        Some(_) => return err(&child(at, "Retry"), "must be an array"),
    };
    check_all_last(retry.iter().map(|r| &r.error_equals), &child(at, "Retry"))?;
    let catch = match o.get("Catch") {
        None => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(i, c)| parse_catcher(c, &format!("{at}.Catch[{i}]"), language))
            .collect::<Result<_, _>>()?,
        Some(_) => return err(&child(at, "Catch"), "must be an array"),
    };
    check_all_last(catch.iter().map(|c| &c.error_equals), &child(at, "Catch"))?;

    let kind = match ty {
        "Pass" => Kind::Pass,
        "Task" => Kind::Task(parse_task(o, at, language)?),
        "Choice" => Kind::Choice(parse_choice(o, at, language)?),
        "Wait" => Kind::Wait(parse_wait(o, at, language)?),
        "Succeed" => Kind::Succeed,
        "Fail" => Kind::Fail(parse_fail(o, at, language)?),
        "Parallel" => {
            let bat = child(at, "Branches");
            let Some(Value::Array(bs)) = o.get("Branches") else {
                return err(at, "Branches is required and must be an array");
            };
            if bs.is_empty() {
                return err(&bat, "must hold at least one branch");
            }
            let mut branches = Vec::new();
            for (i, b) in bs.iter().enumerate() {
                let here = format!("{bat}[{i}]");
                branches.push(parse_machine(obj(b, &here)?, &here, true, top)?);
            }
            Kind::Parallel(branches)
        }
        _ => Kind::Map(parse_map(o, at, top, language)?),
    };
    let parameters = match (&kind, language) {
        (Kind::Map(_), _) => None,
        (_, QueryLanguage::JsonPath) => opt_template(o, at, "Parameters")?,
        (_, QueryLanguage::Jsonata) => opt_value(o, at, "Arguments", language)?,
    };
    if let Kind::Task(t) = &kind {
        check_task_parameters(t, parameters.as_ref(), o, at, language)?;
    }
    let output = opt_value(o, at, "Output", language)?;
    let assign = assign(o, at, language)?;
    if language == QueryLanguage::Jsonata {
        let produced = matches!(kind, Kind::Task(_) | Kind::Parallel(_) | Kind::Map(_));
        jsonata::check_states(parameters.as_ref(), &child(at, "Arguments"), false, false)?;
        jsonata::check_states(output.as_ref(), &child(at, "Output"), produced, false)?;
        jsonata::check_states(assign.as_ref(), &child(at, "Assign"), produced, false)?;
        for (i, c) in catch.iter().enumerate() {
            let here = format!("{at}.Catch[{i}]");
            jsonata::check_states(c.output.as_ref(), &child(&here, "Output"), false, true)?;
            jsonata::check_states(c.assign.as_ref(), &child(&here, "Assign"), false, true)?;
        }
        if let Kind::Choice(c) = &kind {
            for (i, rule) in c.choices.iter().enumerate() {
                let here = format!("{at}.Choices[{i}]");
                jsonata::check_states(rule.output.as_ref(), &child(&here, "Output"), false, false)?;
                jsonata::check_states(rule.assign.as_ref(), &child(&here, "Assign"), false, false)?;
            }
        }
    }
    Ok(State {
        language,
        output,
        input_path: data_path(o, at, "InputPath")?,
        output_path: data_path(o, at, "OutputPath")?,
        parameters,
        result_selector: opt_template(o, at, "ResultSelector")?,
        result_path: result_path(o, at)?,
        result: o.get("Result").cloned(),
        transition,
        retry,
        catch,
        kind,
        assign,
    })
}

/// A field of a state in the other language gets AWS's words for it.
fn language_fields(
    o: &Map<String, Value>,
    at: &str,
    allowed: &[&str],
    other: &[&str],
    language: QueryLanguage,
) -> Result<(), DefinitionError> {
    let Some(key) = o
        .keys()
        .find(|k| !allowed.contains(&k.as_str()) && other.contains(&k.as_str()))
    else {
        return Ok(());
    };
    let (this, that) = match language {
        QueryLanguage::JsonPath => ("JSONPath", "JSONata"),
        QueryLanguage::Jsonata => ("JSONata", "JSONPath"),
    };
    err(
        &child(at, key),
        format!(
            "The QueryLanguage is set to '{this}', but field '{key}' is only supported for the '{that}' QueryLanguage"
        ),
    )
}

/// A state's, Catcher's or Choice rule's `Assign`: an object whose keys name variables (a
/// letter or `_`, then letters, digits and `_`; `states` is reserved for JSONata), each
/// value a literal or, for `name.$`, a path or intrinsic function, as in `Parameters`.
fn assign(
    o: &Map<String, Value>,
    at: &str,
    language: QueryLanguage,
) -> Result<Option<Template>, DefinitionError> {
    let here = child(at, "Assign");
    let Some(v) = o.get("Assign") else {
        return Ok(None);
    };
    let Value::Object(fields) = v else {
        return err(&here, "must be an object");
    };
    for k in fields.keys() {
        let name = k.strip_suffix(".$").unwrap_or(k);
        if crate::path::variable_name(name) != name {
            return err(
                &child(&here, k),
                "a variable's name is a letter or '_', then letters, digits and '_'",
            );
        }
        if name == "states" {
            return err(&child(&here, k), "the variable name 'states' is reserved");
        }
    }
    value_template(v, &here, language).map(Some)
}
