//! keiyaku's own workflow, `statemachines/contract.asl.json`, run by this engine: the
//! `${...}` placeholders and `statemachines/tasks.json` agree; the file parses with the
//! substitutions; its shape keeps the promises the design makes (ids only, every human step
//! a `.waitForTaskToken` with a deadline, every seal retried and parked on failure); and
//! scripted scenarios drive it end to end (approval, agreement, decline, rejection, cancel,
//! expiry, seal failures and their retries).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use keiyaku_states::{
    Definition, Effect, Execution, Input, Integration, Invocation, SeededTokens, Start, Status,
    TaskRef, TimerId,
};
use serde_json::{Value, json};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const CONTRACT: &str = include_str!("../../../statemachines/contract.asl.json");
const TASKS: &str = include_str!("../../../statemachines/tasks.json");

/// The fake function ARNs the substitutions point at.
const ARN_PREFIX: &str = "arn:aws:lambda:ap-northeast-1:123456789012:function:keiyaku-";

/// Things that must never reach a state's input: a party's e-mail address and a title. The
/// fake handlers below return them next to the fields the machine wants, so these tests
/// show the machine's `ResultSelector`s keep them out.
const EMAIL: &str = "yamada.hanako@example.co.jp";
const TITLE: &str = "業務委託契約書";

/// The clock every scenario starts at.
const T0: OffsetDateTime = datetime!(2024-04-01 09:00:00 UTC);

// ---------------------------------------------------------------------------------------
// The files and their mapping
// ---------------------------------------------------------------------------------------

/// `tasks.json`: substitution key → (handler, description).
fn tasks() -> BTreeMap<String, (String, String)> {
    let v: Value = serde_json::from_str(TASKS).expect("tasks.json is JSON");
    let o = v.as_object().expect("tasks.json is an object");
    o.iter()
        .map(|(k, e)| {
            let handler = e["handler"].as_str().unwrap_or_else(|| {
                panic!("tasks.json {k}: handler must be a string");
            });
            let description = e["description"].as_str().unwrap_or_else(|| {
                panic!("tasks.json {k}: description must be a string");
            });
            (k.clone(), (handler.to_string(), description.to_string()))
        })
        .collect()
}

/// The substitutions a deployment would give: each key → a fake Lambda ARN naming the
/// handler.
fn substitutions() -> BTreeMap<String, String> {
    tasks()
        .into_iter()
        .map(|(k, (h, _))| (k, format!("{ARN_PREFIX}{h}")))
        .collect()
}

/// Every `${Name}` in a text.
fn placeholders(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        let after = &rest[i + 2..];
        let end = after
            .find('}')
            .unwrap_or_else(|| panic!("unterminated placeholder in {after:.40}"));
        out.insert(after[..end].to_string());
        rest = &after[end + 1..];
    }
    out
}

/// Every `statemachines/*.asl.json`, read at run time so a new file cannot slip past the
/// drift test; the contract machine is among them.
fn asl_files() -> BTreeMap<String, String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../statemachines");
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(dir).expect("statemachines/ exists") {
        let path = entry.expect("a directory entry").path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.ends_with(".asl.json") {
            files.insert(name, std::fs::read_to_string(&path).expect("readable"));
        }
    }
    assert_eq!(
        files.get("contract.asl.json").map(String::as_str),
        Some(CONTRACT),
        "statemachines/contract.asl.json is read both ways"
    );
    files
}

fn contract() -> Definition {
    Definition::parse_with(CONTRACT, &substitutions())
        .unwrap_or_else(|e| panic!("contract.asl.json is refused at {}: {}", e.path, e.message))
}

#[test]
fn every_placeholder_has_a_task_and_every_task_a_placeholder() {
    let keys: BTreeSet<String> = tasks().into_keys().collect();
    let mut used = BTreeSet::new();
    for (name, text) in asl_files() {
        let found = placeholders(&text);
        for p in &found {
            assert!(
                keys.contains(p),
                "{name}: ${{{p}}} has no entry in statemachines/tasks.json"
            );
        }
        used.extend(found);
    }
    let unused: Vec<_> = keys.difference(&used).collect();
    assert!(
        unused.is_empty(),
        "tasks.json entries no state machine uses: {unused:?}"
    );
}

#[test]
fn tasks_json_names_snake_case_handlers_once_each_with_a_description() {
    let mut seen = BTreeSet::new();
    for (key, (handler, description)) in tasks() {
        assert!(
            key.ends_with("FunctionArn")
                && key.chars().all(|c| c.is_ascii_alphanumeric())
                && key.starts_with(|c: char| c.is_ascii_uppercase()),
            "{key}: substitution keys are PascalCase and end in FunctionArn"
        );
        assert!(
            !handler.is_empty()
                && handler.starts_with(|c: char| c.is_ascii_lowercase())
                && handler
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "{key}: handler {handler:?} is not snake_case"
        );
        assert!(
            seen.insert(handler.clone()),
            "handler {handler} is named twice"
        );
        assert!(
            description.len() > 20,
            "{key}: describe what {handler} does"
        );
    }
}

#[test]
fn the_contract_machine_parses_with_the_substitutions() {
    let def = contract();
    assert_eq!(def.machine.start_at, "NextApproval");
    // Every Task calls a function from tasks.json, through the placeholders.
    let handlers: BTreeSet<String> = tasks().into_values().map(|(h, _)| h).collect();
    for (name, state) in &def.machine.states {
        if let keiyaku_states::definition::Kind::Task(t) = &state.kind {
            assert_ne!(
                t.integration,
                Integration::LambdaFunction,
                "{name}: use lambda:invoke so both shapes see Lambda's result shape"
            );
        }
    }
    let text = serde_json::to_string(&substituted()).unwrap();
    assert!(
        !text.contains("${"),
        "a placeholder is left after substitution"
    );
    for h in &handlers {
        assert!(
            text.contains(&format!("{ARN_PREFIX}{h}\"")),
            "{h} is not called"
        );
    }
    // And it parses without substitutions too (placeholders left as written).
    Definition::parse(CONTRACT).expect("parses with placeholders left in");
}

/// The raw definition with the substitutions applied, for the structural checks.
fn substituted() -> Value {
    let mut text = CONTRACT.to_string();
    for (k, v) in substitutions() {
        text = text.replace(&format!("${{{k}}}"), &v);
    }
    serde_json::from_str(&text).unwrap()
}

fn states(v: &Value) -> Vec<(String, Value)> {
    v["States"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, s)| (k.clone(), s.clone()))
        .collect()
}

fn handler_of(state: &Value) -> Option<String> {
    state["Parameters"]["FunctionName"]
        .as_str()
        .and_then(|f| f.strip_prefix(ARN_PREFIX))
        .map(str::to_string)
}

/// Every `"key.$": "path"` in a template, as (key, path).
fn template_paths(v: &Value, out: &mut Vec<(String, String)>) {
    if let Value::Object(o) = v {
        for (k, x) in o {
            if let (Some(key), Some(p)) = (k.strip_suffix(".$"), x.as_str()) {
                out.push((key.to_string(), p.to_string()));
            } else {
                template_paths(x, out);
            }
        }
    }
}

#[test]
fn the_shape_keeps_the_design_promises() {
    let def = substituted();
    assert_eq!(def["QueryLanguage"], "JSONPath");
    let text = CONTRACT;
    for word in ["\"Assign\"", "JSONata", "\"Arguments\"", "\"Credentials\""] {
        assert!(!text.contains(word), "{word} is not used");
    }
    // Payloads read only ids (and, for waits, the task token); results come back through a
    // ResultSelector (or are discarded), so no handler can put a title or an address in
    // the state.
    let allowed_reads: BTreeSet<&str> = [
        "$.team_id",
        "$.document_id",
        "$.send",
        "$.next.party_id",
        "$.seal.step",
        "$.seal.party_id",
        "$.error.Error",
        "$$.Task.Token",
    ]
    .into();
    let mut waits = 0;
    let mut seals = 0;
    for (name, s) in states(&def) {
        if s["Type"] != "Task" {
            continue;
        }
        let resource = s["Resource"].as_str().unwrap();
        let handler = handler_of(&s).unwrap_or_else(|| panic!("{name}: no known function"));
        let mut reads = Vec::new();
        template_paths(&s["Parameters"]["Payload"], &mut reads);
        for (key, path) in &reads {
            assert!(
                allowed_reads.contains(path.as_str()),
                "{name}: Payload.{key} reads {path}, which is not an id"
            );
        }
        let wait = resource == "arn:aws:states:::lambda:invoke.waitForTaskToken";
        if wait {
            waits += 1;
            assert!(
                reads
                    .iter()
                    .any(|(k, p)| k == "task_token" && p == "$$.Task.Token"),
                "{name}: the task token goes to the handler that stores it"
            );
            assert!(
                s["ResultSelector"].is_object() || s["ResultPath"].is_null(),
                "{name}: a callback's output is selected or discarded"
            );
            let catches: Vec<&str> = s["Catch"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|c| c["ErrorEquals"].as_array().unwrap())
                .filter_map(Value::as_str)
                .collect();
            assert!(
                catches.contains(&"Keiyaku.Cancelled"),
                "{name}: cancel is caught"
            );
            if handler == "record_wait" {
                assert_eq!(
                    s["TimeoutSecondsPath"], "$.next.timeout_seconds",
                    "{name}: a party waits until the document's deadline"
                );
                assert!(catches.contains(&"States.Timeout"), "{name}: expiry");
            }
        } else {
            assert_eq!(resource, "arn:aws:states:::lambda:invoke", "{name}");
            if !s["ResultPath"].is_null() {
                let mut sel = Vec::new();
                template_paths(&s["ResultSelector"], &mut sel);
                assert!(
                    !sel.is_empty() && sel.iter().all(|(_, p)| p.starts_with("$.Payload")),
                    "{name}: results are taken from $.Payload by a ResultSelector"
                );
            }
        }
        if handler == "seal" || handler == "extend_lta" {
            seals += 1;
            assert!(s["TimeoutSeconds"].as_u64().is_some(), "{name}: bounded");
            let retried: BTreeSet<&str> = s["Retry"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|r| r["ErrorEquals"].as_array().unwrap())
                .filter_map(Value::as_str)
                .collect();
            for e in [
                "Keiyaku.Retryable",
                "Lambda.ServiceException",
                "Lambda.TooManyRequestsException",
                "States.Timeout",
            ] {
                assert!(retried.contains(e), "{name}: {e} is retried");
            }
            assert_eq!(
                s["Catch"],
                json!([{
                    "Comment": s["Catch"][0]["Comment"],
                    "ErrorEquals": ["States.ALL"],
                    "ResultPath": "$.error",
                    "Next": "SealFailed"
                }]),
                "{name}: any failure parks in SealFailed"
            );
        }
    }
    assert_eq!(waits, 3, "WaitForApproval, WaitForAgreement, SealFailed");
    assert_eq!(seals, 2, "Seal, ExtendLta");
}

// ---------------------------------------------------------------------------------------
// The scenario driver
// ---------------------------------------------------------------------------------------

/// How a party (or the sender, at that party's turn) answers.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Answer {
    /// Approves or agrees.
    Yes,
    /// Rejects or declines.
    No,
    /// The sender cancels while this party is asked.
    Cancel,
    /// Nobody answers before the deadline.
    Expire,
    /// The party agrees, and the sender cancels right after (before the next step runs).
    YesThenCancel,
}

/// What an operator does with a parked seal.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Operator {
    /// Retries after this long.
    RetryAfter(Duration),
    /// The sender cancels instead.
    Cancel,
}

/// A failure a scripted handler returns: (error, cause).
type Failure = (&'static str, &'static str);

/// A document as the fake handlers keep it.
struct Doc {
    approvers: Vec<&'static str>,
    recipients: Vec<&'static str>,
    approved: usize,
    agreed: usize,
    cancelled: bool,
    deadline: OffsetDateTime,
}

#[derive(Default)]
struct Script {
    answers: HashMap<&'static str, Answer>,
    /// One entry per Seal call, in order: `Some` fails it; no entry succeeds.
    seal: VecDeque<Option<Failure>>,
    /// The same for ExtendLta.
    extend_lta: VecDeque<Option<Failure>>,
    /// One entry per SealFailed wait.
    operator: VecDeque<Operator>,
}

struct Sim {
    def: Definition,
    exec: Execution,
    now: OffsetDateTime,
    timers: BTreeMap<TimerId, OffsetDateTime>,
    /// Invocations not yet run, oldest first.
    calls: VecDeque<Invocation>,
    /// `.waitForTaskToken` tasks whose handler has run: waiting for an answer.
    waits: Vec<Invocation>,
    /// What the handlers were asked, in order, e.g. `seal agreement r1`.
    log: Vec<String>,
    /// How long each backoff timer waited, in seconds.
    backoffs: Vec<i64>,
    doc: Doc,
    script: Script,
    /// Deterministic task tokens.
    tokens: SeededTokens,
}

const INPUT_KEYS: &[&str] = &[
    "team_id",
    "document_id",
    "send",
    "phase",
    "kind",
    "party_id",
    "step",
    "event",
    "error",
    "task_token",
];

impl Sim {
    fn new(approvers: &[&'static str], recipients: &[&'static str], script: Script) -> Sim {
        let def = contract();
        let input = json!({"team_id": "t-1", "document_id": "d-1", "send": 1});
        let mut tokens = SeededTokens::new(7);
        let (exec, effects) =
            Execution::start(&def, Start::new("d-1-1", input).seed(7), T0, &mut tokens)
                .expect("starts");
        let mut sim = Sim {
            def,
            exec,
            now: T0,
            timers: BTreeMap::new(),
            calls: VecDeque::new(),
            waits: Vec::new(),
            log: Vec::new(),
            backoffs: Vec::new(),
            doc: Doc {
                approvers: approvers.to_vec(),
                recipients: recipients.to_vec(),
                approved: 0,
                agreed: 0,
                cancelled: false,
                deadline: T0 + Duration::days(14),
            },
            script,
            tokens,
        };
        sim.apply(effects);
        sim
    }

    fn apply(&mut self, effects: Vec<Effect>) {
        for e in effects {
            match e {
                Effect::InvokeTask(inv) => self.calls.push_back(inv),
                Effect::CancelTask { task } => {
                    self.calls.retain(|t| t.task != task);
                    self.waits.retain(|t| t.task != task);
                }
                Effect::SetTimer { timer, at } => {
                    assert!(self.timers.insert(timer, at).is_none(), "timer set twice");
                }
                Effect::CancelTimer { timer } => {
                    self.timers.remove(&timer);
                }
                Effect::ExecutionFinished { .. } => {}
            }
        }
    }

    fn handle(&mut self, input: Input) {
        let effects = self
            .exec
            .handle(&self.def, input, self.now, &mut self.tokens)
            .expect("input accepted");
        self.apply(effects);
    }

    /// Runs the execution to its end.
    fn run(mut self) -> Sim {
        let mut guard = 0;
        while self.exec.status() == Status::Running {
            guard += 1;
            assert!(guard < 1_000, "the execution does not end: {:?}", self.log);
            if let Some(inv) = self.calls.pop_front() {
                self.invoke(inv);
            } else if let Some(w) = self.waits.pop() {
                assert!(self.waits.is_empty(), "one wait at a time");
                self.answer(w);
            } else if let Some((&id, &at)) = self.timers.iter().min_by_key(|(id, at)| (**at, **id))
            {
                self.timers.remove(&id);
                self.backoffs.push((at - self.now).whole_seconds());
                self.now = self.now.max(at);
                self.handle(Input::TimerFired { timer: id });
            } else {
                panic!("running but waiting for nothing: {:?}", self.log);
            }
        }
        self.check_ids_only();
        self
    }

    fn invoke(&mut self, inv: Invocation) {
        let handler = inv
            .function
            .strip_prefix(ARN_PREFIX)
            .unwrap_or_else(|| panic!("{}: unknown function {}", inv.state, inv.function))
            .to_string();
        let p = &inv.payload;
        let o = p.as_object().expect("payload is an object");
        for (k, v) in o {
            assert!(
                INPUT_KEYS.contains(&k.as_str()),
                "{}: payload key {k}",
                inv.state
            );
            assert!(!v.to_string().contains('@'), "{}: {k} = {v}", inv.state);
        }
        assert_eq!(
            (&p["team_id"], &p["document_id"], &p["send"]),
            (&json!("t-1"), &json!("d-1"), &json!(1)),
            "{}: every handler gets the document's ids",
            inv.state
        );
        let s = |k: &str| p[k].as_str().unwrap_or("-").to_string();
        let wait = inv.integration == Integration::LambdaInvokeWaitForTaskToken;
        if wait {
            assert_eq!(
                p["task_token"].as_str(),
                inv.token.as_deref(),
                "{}: the task token goes to the handler",
                inv.state
            );
            self.log.push(match handler.as_str() {
                "record_wait" => format!("record_wait {} {}", s("kind"), s("party_id")),
                "seal_failed" => {
                    format!("seal_failed {} {} {}", s("step"), s("party_id"), s("error"))
                }
                other => panic!("{other} is not a waiting handler"),
            });
            self.handle(Input::TaskSubmitted {
                task: TaskRef::Id(inv.task),
                output: json!({"StatusCode": 202}),
            });
            self.waits.push(inv);
            return;
        }
        assert_eq!(inv.integration, Integration::LambdaInvoke, "{}", inv.state);
        let result: Result<Value, Failure> = match handler.as_str() {
            "next_step" => {
                self.log.push(format!("next_step {}", s("phase")));
                Ok(self.next_step(&s("phase")))
            }
            "seal" => {
                self.log.push(match s("step").as_str() {
                    "send" => {
                        assert!(p["party_id"].is_null());
                        "seal send".to_string()
                    }
                    step => format!("seal {step} {}", s("party_id")),
                });
                match self.script.seal.pop_front().flatten() {
                    Some(f) => Err(f),
                    None => Ok(json!({"sealed": true, "title": TITLE})),
                }
            }
            "extend_lta" => {
                self.log.push("extend_lta".into());
                match self.script.extend_lta.pop_front().flatten() {
                    Some(f) => Err(f),
                    None => Ok(json!({"level": "B-LTA", "title": TITLE})),
                }
            }
            "complete" => {
                self.log.push("complete".into());
                Ok(json!({"status": "completed", "mailed_to": [EMAIL]}))
            }
            "notify" => {
                self.log.push(format!("notify {}", s("event")));
                Ok(json!({"status": s("event"), "mailed_to": [EMAIL]}))
            }
            "expire" => {
                self.log.push("expire".into());
                Ok(json!({"status": "expired", "mailed_to": [EMAIL]}))
            }
            other => panic!("{other} is not a request-response handler"),
        };
        match result {
            Ok(output) => self.handle(Input::TaskSucceeded {
                task: TaskRef::Id(inv.task),
                output,
            }),
            Err((error, cause)) => self.handle(Input::TaskFailed {
                task: TaskRef::Id(inv.task),
                error: error.into(),
                cause: cause.into(),
            }),
        }
    }

    /// The fake `next_step`: what comes next for the document, with a title and an address
    /// beside the fields the machine selects.
    fn next_step(&self, phase: &str) -> Value {
        let d = &self.doc;
        let left = (d.deadline - self.now).whole_seconds();
        let (kind, party) = if d.cancelled {
            ("cancelled", None)
        } else if left <= 0 {
            ("expired", None)
        } else if phase == "approval" {
            match d.approvers.get(d.approved) {
                Some(a) => ("approval", Some(*a)),
                None => ("done", None),
            }
        } else {
            assert_eq!(phase, "agreement");
            match d.recipients.get(d.agreed) {
                Some(r) => ("agreement", Some(*r)),
                None => ("done", None),
            }
        };
        let timeout = (party.is_some()).then_some(left);
        json!({
            "kind": kind,
            "party_id": party,
            "timeout_seconds": timeout,
            "party_email": EMAIL,
            "title": TITLE,
        })
    }

    /// Answers the waiting task the way the script says, as the API (or operators) would.
    fn answer(&mut self, w: Invocation) {
        let token = w.token.clone().expect("a token");
        let p = w.payload.clone();
        if w.function.ends_with("seal_failed") {
            assert!(self.timers.is_empty(), "a parked seal has no deadline");
            match self
                .script
                .operator
                .pop_front()
                .expect("an operator action")
            {
                Operator::RetryAfter(d) => {
                    self.now += d;
                    self.handle(Input::TaskSucceeded {
                        task: TaskRef::Token(token),
                        output: json!({"retried_by": "u-operator", "email": EMAIL}),
                    });
                }
                Operator::Cancel => self.cancel(token),
            }
            return;
        }
        let party = p["party_id"].as_str().unwrap().to_string();
        let approval = p["kind"] == "approval";
        // The only timer while a party is asked is the deadline, due exactly at it.
        let timers: Vec<_> = self.timers.iter().map(|(i, a)| (*i, *a)).collect();
        assert_eq!(timers.len(), 1, "only the deadline is pending: {timers:?}");
        assert_eq!(
            timers[0].1, self.doc.deadline,
            "the wait times out at expiry"
        );
        let answer = *self
            .script
            .answers
            .get(party.as_str())
            .unwrap_or(&Answer::Yes);
        // Parties take an hour to answer.
        if answer != Answer::Expire {
            self.now += Duration::hours(1);
        }
        let decision = |yes| match (approval, yes) {
            (true, true) => "approved",
            (true, false) => "rejected",
            (false, true) => "agreed",
            (false, false) => "declined",
        };
        match answer {
            Answer::Yes | Answer::YesThenCancel => {
                if approval {
                    self.doc.approved += 1;
                } else {
                    self.doc.agreed += 1;
                }
                if answer == Answer::YesThenCancel {
                    self.doc.cancelled = true;
                }
                self.handle(Input::TaskSucceeded {
                    task: TaskRef::Token(token),
                    output: json!({"decision": decision(true), "by": EMAIL, "title": TITLE}),
                });
            }
            Answer::No => self.handle(Input::TaskSucceeded {
                task: TaskRef::Token(token),
                output: json!({"decision": decision(false), "reason": format!("{TITLE} の条件が違います")}),
            }),
            Answer::Cancel => self.cancel(token),
            Answer::Expire => {
                let (id, at) = timers[0];
                self.timers.remove(&id);
                self.now = at;
                self.handle(Input::TimerFired { timer: id });
            }
        }
    }

    fn cancel(&mut self, token: String) {
        self.doc.cancelled = true;
        self.handle(Input::TaskFailed {
            task: TaskRef::Token(token),
            error: "Keiyaku.Cancelled".into(),
            cause: "{\"by\":\"u-sender\"}".into(),
        });
    }

    /// No state's input (nor the output) ever holds an address or a title: only ids.
    fn check_ids_only(&self) {
        let mut inputs = 0;
        for e in self.exec.history() {
            if format!("{:?}", e.kind).ends_with("StateEntered") {
                inputs += 1;
                let input = e
                    .detail_str("input")
                    .expect("entered events carry the input");
                assert!(
                    !input.contains('@') && !input.contains(TITLE),
                    "{:?} has {input}",
                    e.detail_str("name")
                );
                assert!(input.len() < 1024, "state stays small: {input}");
            }
        }
        assert!(inputs > 0);
        if let Some(out) = self.exec.output() {
            let s = out.to_string();
            assert!(!s.contains('@') && !s.contains(TITLE), "output {s}");
        }
    }

    fn entered(&self) -> Vec<String> {
        self.exec
            .history()
            .iter()
            .filter(|e| format!("{:?}", e.kind).ends_with("StateEntered"))
            .filter_map(|e| e.detail_str("name").map(str::to_string))
            .collect()
    }

    /// Asserts a business ending: the execution succeeded in `state` with the document
    /// left in `status`.
    fn ended(&self, state: &str, status: &str) {
        assert_eq!(
            self.exec.status(),
            Status::Succeeded,
            "error {:?} cause {:?}",
            self.exec.error(),
            self.exec.cause()
        );
        assert_eq!(self.entered().last().map(String::as_str), Some(state));
        let out = self.exec.output().unwrap();
        assert_eq!(out["outcome"], json!({"status": status}));
        assert_eq!(
            (&out["team_id"], &out["document_id"], &out["send"]),
            (&json!("t-1"), &json!("d-1"), &json!(1))
        );
    }
}

fn answers(list: &[(&'static str, Answer)]) -> HashMap<&'static str, Answer> {
    list.iter().copied().collect()
}

fn log(lines: &[&str]) -> Vec<String> {
    lines.iter().map(|s| s.to_string()).collect()
}

// ---------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------

#[test]
fn one_approver_two_recipients_all_agree() {
    let sim = Sim::new(&["a1"], &["r1", "r2"], Script::default()).run();
    assert_eq!(
        sim.log,
        log(&[
            "next_step approval",
            "record_wait approval a1",
            "next_step approval",
            "seal send",
            "next_step agreement",
            "record_wait agreement r1",
            "seal agreement r1",
            "next_step agreement",
            "record_wait agreement r2",
            "seal agreement r2",
            "next_step agreement",
            "extend_lta",
            "complete",
        ])
    );
    sim.ended("Completed", "completed");
    assert!(sim.backoffs.is_empty(), "nothing was retried");
    assert_eq!(
        sim.now,
        T0 + Duration::hours(3),
        "three answers, an hour each"
    );
}

#[test]
fn without_approvers_the_send_seal_comes_first() {
    let sim = Sim::new(&[], &["r1"], Script::default()).run();
    assert_eq!(
        sim.log,
        log(&[
            "next_step approval",
            "seal send",
            "next_step agreement",
            "record_wait agreement r1",
            "seal agreement r1",
            "next_step agreement",
            "extend_lta",
            "complete",
        ])
    );
    sim.ended("Completed", "completed");
}

#[test]
fn a_recipient_declines_and_nothing_is_extended() {
    let script = Script {
        answers: answers(&[("r2", Answer::No)]),
        ..Script::default()
    };
    let sim = Sim::new(&[], &["r1", "r2", "r3"], script).run();
    assert_eq!(
        sim.log,
        log(&[
            "next_step approval",
            "seal send",
            "next_step agreement",
            "record_wait agreement r1",
            "seal agreement r1",
            "next_step agreement",
            "record_wait agreement r2",
            "notify declined",
        ])
    );
    sim.ended("Declined", "declined");
}

#[test]
fn an_approver_rejects_and_nothing_is_sealed() {
    let script = Script {
        answers: answers(&[("a2", Answer::No)]),
        ..Script::default()
    };
    let sim = Sim::new(&["a1", "a2"], &["r1"], script).run();
    assert_eq!(
        sim.log,
        log(&[
            "next_step approval",
            "record_wait approval a1",
            "next_step approval",
            "record_wait approval a2",
            "notify rejected",
        ])
    );
    assert!(!sim.log.iter().any(|l| l.starts_with("seal")));
    sim.ended("Rejected", "rejected");
}

#[test]
fn cancel_while_a_recipient_is_asked() {
    let script = Script {
        answers: answers(&[("r2", Answer::Cancel)]),
        ..Script::default()
    };
    let sim = Sim::new(&["a1"], &["r1", "r2"], script).run();
    assert_eq!(
        sim.log[sim.log.len() - 3..],
        log(&[
            "next_step agreement",
            "record_wait agreement r2",
            "notify cancelled"
        ])
    );
    assert!(!sim.log.contains(&"extend_lta".to_string()));
    sim.ended("Cancelled", "cancelled");
    // The caught error is kept in the state, ids only.
    assert_eq!(
        sim.exec.output().unwrap()["error"],
        json!({"Error": "Keiyaku.Cancelled", "Cause": "{\"by\":\"u-sender\"}"})
    );
}

#[test]
fn cancel_while_an_approver_is_asked() {
    let script = Script {
        answers: answers(&[("a1", Answer::Cancel)]),
        ..Script::default()
    };
    let sim = Sim::new(&["a1"], &["r1"], script).run();
    assert_eq!(
        sim.log,
        log(&[
            "next_step approval",
            "record_wait approval a1",
            "notify cancelled"
        ])
    );
    sim.ended("Cancelled", "cancelled");
}

#[test]
fn a_cancel_between_two_waits_is_seen_by_next_step() {
    let script = Script {
        answers: answers(&[("r1", Answer::YesThenCancel)]),
        ..Script::default()
    };
    let sim = Sim::new(&[], &["r1", "r2"], script).run();
    assert_eq!(
        sim.log[sim.log.len() - 4..],
        log(&[
            "record_wait agreement r1",
            "seal agreement r1",
            "next_step agreement",
            "notify cancelled"
        ])
    );
    sim.ended("Cancelled", "cancelled");
}

#[test]
fn nobody_answers_before_the_deadline() {
    let script = Script {
        answers: answers(&[("r1", Answer::Expire)]),
        ..Script::default()
    };
    let sim = Sim::new(&["a1"], &["r1"], script).run();
    assert_eq!(
        sim.log[sim.log.len() - 3..],
        log(&["next_step agreement", "record_wait agreement r1", "expire"])
    );
    assert_eq!(
        sim.now,
        T0 + Duration::days(14),
        "it waited until the deadline"
    );
    sim.ended("Expired", "expired");
    assert_eq!(
        sim.exec.output().unwrap()["error"]["Error"],
        "States.Timeout"
    );
}

#[test]
fn an_approver_who_never_answers_expires_the_document_unsealed() {
    let script = Script {
        answers: answers(&[("a1", Answer::Expire)]),
        ..Script::default()
    };
    let sim = Sim::new(&["a1"], &["r1"], script).run();
    assert_eq!(
        sim.log,
        log(&["next_step approval", "record_wait approval a1", "expire"])
    );
    sim.ended("Expired", "expired");
}

#[test]
fn a_failed_seal_parks_until_an_operator_retries_it() {
    let script = Script {
        // The send seal succeeds; r1's agreement seal fails for good the first time.
        seal: [
            None,
            Some(("Keiyaku.NonRetryable", "d-1: TSA refused the request")),
        ]
        .into(),
        operator: [Operator::RetryAfter(Duration::hours(2))].into(),
        ..Script::default()
    };
    let sim = Sim::new(&[], &["r1", "r2"], script).run();
    assert_eq!(
        sim.log,
        log(&[
            "next_step approval",
            "seal send",
            "next_step agreement",
            "record_wait agreement r1",
            "seal agreement r1",
            "seal_failed agreement r1 Keiyaku.NonRetryable",
            "seal agreement r1",
            "next_step agreement",
            "record_wait agreement r2",
            "seal agreement r2",
            "next_step agreement",
            "extend_lta",
            "complete",
        ])
    );
    assert!(
        sim.backoffs.is_empty(),
        "a non-retryable error is not retried"
    );
    sim.ended("Completed", "completed");
    let entered = sim.entered();
    let at = entered.iter().position(|s| s == "SealFailed").unwrap();
    assert_eq!(entered[at + 1..at + 3], ["RetryFailedStep", "Seal"]);
}

#[test]
fn a_failed_extension_is_retried_as_an_extension() {
    let script = Script {
        extend_lta: [Some(("Keiyaku.NonRetryable", "d-1: no revocation data"))].into(),
        operator: [Operator::RetryAfter(Duration::minutes(10))].into(),
        ..Script::default()
    };
    let sim = Sim::new(&[], &["r1"], script).run();
    assert_eq!(
        sim.log[sim.log.len() - 4..],
        log(&[
            "extend_lta",
            "seal_failed extend_lta - Keiyaku.NonRetryable",
            "extend_lta",
            "complete"
        ])
    );
    sim.ended("Completed", "completed");
}

#[test]
fn cancel_while_a_seal_is_parked() {
    let script = Script {
        seal: [Some(("Keiyaku.NonRetryable", "d-1: bad key"))].into(),
        operator: [Operator::Cancel].into(),
        ..Script::default()
    };
    let sim = Sim::new(&[], &["r1"], script).run();
    assert_eq!(
        sim.log,
        log(&[
            "next_step approval",
            "seal send",
            "seal_failed send - Keiyaku.NonRetryable",
            "notify cancelled"
        ])
    );
    sim.ended("Cancelled", "cancelled");
}

#[test]
fn a_seal_retried_past_the_deadline_ends_in_expiry() {
    let script = Script {
        seal: [Some(("Keiyaku.NonRetryable", "d-1: TSA down"))].into(),
        operator: [Operator::RetryAfter(Duration::days(30))].into(),
        ..Script::default()
    };
    let sim = Sim::new(&[], &["r1"], script).run();
    assert_eq!(
        sim.log[sim.log.len() - 3..],
        log(&["seal send", "next_step agreement", "expire"])
    );
    sim.ended("Expired", "expired");
}

#[test]
fn retryable_seal_errors_are_retried_with_backoff() {
    let script = Script {
        seal: [
            Some(("Keiyaku.Retryable", "d-1: TSA busy")),
            Some(("Lambda.TooManyRequestsException", "Rate exceeded")),
            Some(("Lambda.ServiceException", "")),
        ]
        .into(),
        ..Script::default()
    };
    let sim = Sim::new(&[], &["r1"], script).run();
    assert_eq!(
        sim.log[..5],
        log(&[
            "next_step approval",
            "seal send",
            "seal send",
            "seal send",
            "seal send"
        ])
    );
    assert_eq!(sim.backoffs, vec![2, 4, 8], "2 s, doubling");
    assert!(!sim.log.iter().any(|l| l.starts_with("seal_failed")));
    sim.ended("Completed", "completed");
}

#[test]
fn a_seal_that_times_out_is_retried() {
    // The handler never answers: the Seal's own TimeoutSeconds fails it with
    // States.Timeout, which is retried like any transient error.
    let mut sim = Sim::new(&[], &["r1"], Script::default());
    // Run next_step, then leave the Seal call unanswered.
    let first = sim.calls.pop_front().unwrap();
    sim.invoke(first);
    let seal = sim.calls.pop_front().unwrap();
    assert_eq!(seal.state, "Seal");
    let (&id, &at) = sim.timers.iter().next().expect("the seal's timeout");
    assert_eq!(at - sim.now, Duration::seconds(120));
    sim.timers.remove(&id);
    sim.now = at;
    sim.handle(Input::TimerFired { timer: id });
    let sim = sim.run();
    assert_eq!(sim.backoffs, vec![2], "one retry after the timeout");
    assert_eq!(sim.log.iter().filter(|l| *l == "seal send").count(), 1);
    sim.ended("Completed", "completed");
    let timed_out = sim
        .exec
        .history()
        .iter()
        .filter(|e| format!("{:?}", e.kind) == "TaskTimedOut")
        .count();
    assert_eq!(timed_out, 1);
}

#[test]
fn exhausted_retries_park_the_seal() {
    let script = Script {
        seal: std::iter::repeat_n(Some(("Keiyaku.Retryable", "d-1: TSA busy")), 6).collect(),
        operator: [Operator::RetryAfter(Duration::hours(1))].into(),
        ..Script::default()
    };
    let sim = Sim::new(&[], &["r1"], script).run();
    assert_eq!(sim.backoffs, vec![2, 4, 8, 16, 30], "capped at 30 s");
    assert_eq!(
        sim.log[..9],
        log(&[
            "next_step approval",
            "seal send",
            "seal send",
            "seal send",
            "seal send",
            "seal send",
            "seal send",
            "seal_failed send - Keiyaku.Retryable",
            "seal send",
        ])
    );
    sim.ended("Completed", "completed");
}
