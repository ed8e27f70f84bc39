//! What a state's paths and expressions read, and how: the scope a path or JSONata
//! expression is evaluated in (the state's input, the context object, the variables,
//! `$states`), templates and their failures in AWS's words, Choice rules, Wait times.

use super::*;
use crate::definition::Seconds;

/// What a state's paths read: `$` its input, `$$` the context object (built only when a
/// path asks for it), `$name` the variables in scope.
pub(super) struct Sc<'a> {
    input: &'a Value,
    build: &'a dyn Fn() -> Value,
    ctx: OnceCell<Value>,
    vars: &'a Map<String, Value>,
    /// What JSONata expressions see as `$states` besides the context object.
    states: States<'a>,
}

/// `$states` of a JSONata expression: the state's input, and its result or error output
/// where the field sees one; and the time `$now()` gives.
#[derive(Clone, Copy)]
pub(super) struct States<'a> {
    input: &'a Value,
    result: Option<&'a Value>,
    error_output: Option<&'a Value>,
    now: OffsetDateTime,
}

impl<'a> Sc<'a> {
    fn new(
        input: &'a Value,
        build: &'a dyn Fn() -> Value,
        vars: &'a Map<String, Value>,
        states: States<'a>,
    ) -> Self {
        Sc {
            input,
            build,
            ctx: OnceCell::new(),
            vars,
            states,
        }
    }

    /// Evaluates a JSONata expression in `loc`, as AWS words its failures.
    fn jsonata(&self, e: &Expr, loc: &Loc<'_>, rng: &mut Rng) -> Result<Value, Failure> {
        let mut states = Map::new();
        states.insert("input".into(), self.states.input.clone());
        states.insert("context".into(), self.ctx.get_or_init(self.build).clone());
        if let Some(r) = self.states.result {
            states.insert("result".into(), r.clone());
        }
        if let Some(x) = self.states.error_output {
            states.insert("errorOutput".into(), x.clone());
        }
        let env = jsonata::Env {
            states: Value::Object(states),
            vars: self.vars,
            now_millis: (self.states.now.unix_timestamp_nanos() / 1_000_000) as i64,
            seed: rng.next_u64(),
        };
        jsonata::evaluate(e, &env).map_err(|p| match p {
            jsonata::Problem::Undefined => query_error(e, loc, "returned nothing (undefined)."),
            jsonata::Problem::Raised(why) => {
                query_error(e, loc, &format!("threw an error during evaluation. {why}"))
            }
        })
    }

    /// The document `path` reads (`None` for a variable never assigned).
    fn doc(&self, path: &Path) -> Option<&Value> {
        match &path.root {
            Root::Input => Some(self.input),
            Root::Context => Some(self.ctx.get_or_init(self.build)),
            Root::Variable(name) => self.vars.get(name),
        }
    }

    /// AWS's cause for a path (`InputPath`, `OutputPath`, `ItemsPath`,
    /// `TimeoutSecondsPath`, …) that names nothing: "Invalid path '$.x' : No results for
    /// path: $['x']" (recorded), Jayway's words after the path as written.
    pub(super) fn invalid_path(&self, p: &Path) -> Failure {
        let why = match (self.doc(p), &p.root) {
            (Some(doc), _) => p.not_found(doc),
            (None, Root::Variable(name)) => format!("No variable named '{name}' is in scope"),
            (None, _) => "No results".to_owned(),
        };
        runtime(format!("Invalid path '{}' : {why}", p.as_str()))
    }

    /// The whole number a `*Path` field (`MaxConcurrencyPath`, `TimeoutSecondsPath`,
    /// `HeartbeatSecondsPath`) names, or AWS's cause when it names none (recorded for
    /// `MaxConcurrencyPath`: "The MaxConcurrencyPath field refers to value \"NoNumber\"
    /// which is not a valid integer: $.MaxConcurrencyValue").
    /// A whole-number field (`TimeoutSeconds`, `MaxConcurrency`, `ToleratedFailureCount`,
    /// `MaxItemsPerBatch`, …): its literal, its `…Path` form's value (`path_field` names that
    /// form, in AWS's words), or its JSONata expression's (which must be `min` or more).
    pub(super) fn whole_number(
        &self,
        s: &Seconds,
        path_field: &str,
        rng: &mut Rng,
        min: i64,
    ) -> Result<i64, Failure> {
        match s {
            Seconds::Fixed(n) => Ok(*n as i64),
            Seconds::Path(p) => self.integer_at(p, path_field),
            Seconds::Expr(e) => whole(
                &Template::Jsonata(e.clone()),
                path_field.trim_end_matches("Path"),
                self,
                rng,
                min,
            ),
        }
    }

    pub(super) fn integer_at(&self, p: &Path, field: &str) -> Result<i64, Failure> {
        let v = self.read(p).ok_or_else(|| self.invalid_path(p))?;
        // A number held as a string ("1") will do, as on AWS (recorded).
        let whole = v
            .as_i64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()));
        whole.ok_or_else(|| {
            runtime(format!(
                "The {field} field refers to value \"{}\" which is not a valid integer: {}",
                quoted_value(&v),
                p.as_str()
            ))
        })
    }
}

impl Scope for Sc<'_> {
    fn read(&self, path: &Path) -> Option<Value> {
        path.read(self.doc(path)?)
    }
}

/// Where in a state a value is, as AWS names it in JSONata failures: `Output/result`,
/// `Arguments/list[0]`, `Choices[1]/Condition`.
#[derive(Clone, Copy)]
pub(super) enum Loc<'a> {
    Root(&'a str),
    Field(&'a Loc<'a>, &'a str),
    Index(&'a Loc<'a>, usize),
}

impl Loc<'_> {
    fn render(&self) -> String {
        match self {
            Loc::Root(r) => (*r).to_owned(),
            Loc::Field(up, k) => format!("{}/{k}", up.render()),
            Loc::Index(up, i) => format!("{}[{i}]", up.render()),
        }
    }

    /// The innermost field's name (what a JSONPath `.$` failure names).
    fn field(&self) -> Option<&str> {
        match self {
            Loc::Field(_, k) => Some(k),
            _ => None,
        }
    }
}

/// A JSONata expression's failure: `States.QueryEvaluationError`, "The JSONata expression
/// '<expr>' specified for the field '<location>' <what>" (AWS's words, recorded).
pub(super) fn query_error(e: &Expr, loc: &Loc<'_>, what: &str) -> Failure {
    let location = loc.render();
    Failure {
        error: errors::QUERY_EVALUATION_ERROR.into(),
        cause: format!(
            "The JSONata expression '{}' specified for the field '{location}' {what}",
            e.source()
        ),
        location: Some(location),
    }
}

/// A JSONata field whose value must be of one kind: `expected` names it, as AWS does
/// ("Expected 'array', but was 'number' for value: 1", recorded for `Items`).
pub(super) fn typed(
    t: &Template,
    root: &str,
    sc: &Sc<'_>,
    rng: &mut Rng,
    expected: &str,
    fits: impl Fn(&Value) -> bool,
) -> Result<Value, Failure> {
    let loc = Loc::Root(root);
    let v = eval_field(t, &loc, sc, rng)?;
    match t {
        Template::Jsonata(e) if !fits(&v) => Err(query_error(
            e,
            &loc,
            &format!(
                "returned an unexpected result type. Expected '{expected}', but was '{}' for value: {}",
                crate::path::json_type(&v),
                payload_string(&v)
            ),
        )),
        _ => Ok(v),
    }
}

/// A JSONata field that takes a whole number from `min` to 99999999 (`Seconds`,
/// `TimeoutSeconds`, `HeartbeatSeconds`, `MaxConcurrency`). AWS's words for a number out of
/// range are unrecorded; these name the range.
pub(super) fn whole(
    t: &Template,
    root: &str,
    sc: &Sc<'_>,
    rng: &mut Rng,
    min: i64,
) -> Result<i64, Failure> {
    let v = typed(t, root, sc, rng, "number", Value::is_number)?;
    match v.as_f64() {
        Some(n) if n.fract() == 0.0 && n >= min as f64 && n <= 99_999_999.0 => Ok(n as i64),
        _ => match t {
            Template::Jsonata(e) => Err(query_error(
                e,
                &Loc::Root(root),
                &format!(
                    "returned a value out of range: {} (a whole number from {min} to 99999999)",
                    payload_string(&v)
                ),
            )),
            _ => Err(runtime(format!(
                "{root} must be a whole number from {min} to 99999999"
            ))),
        },
    }
}

pub(super) fn eval_template(
    t: &Template,
    root: &str,
    sc: &Sc<'_>,
    rng: &mut Rng,
) -> Result<Value, Failure> {
    eval_field(t, &Loc::Root(root), sc, rng)
}

/// A `.$` path in `Parameters`, `ItemSelector` or `ResultSelector` that names nothing.
///
/// Decision: this is `States.Runtime` (so no `Retry` or `Catch`, not even `States.ALL`,
/// takes it), with AWS's cause text, and not `States.ParameterPathFailure`.
///
/// Sources. The Developer Guide's error names ("Handling errors in Step Functions
/// workflows", docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html)
/// and the ASL specification (states-language.net, Appendix A) list
/// `States.ParameterPathFailure`: "Within a state's Parameters field, the attempt to replace
/// a field whose name ends in .$ using a path failed"; the guide also says `States.ALL`
/// cannot catch `States.DataLimitExceeded` or `States.Runtime`. But the service raises
/// `States.Runtime` for exactly this case: a real execution history (GitHub
/// ryankarlos/aws_etl, `step_functions/README.md`, us-east-1, 2022) logs `ExecutionFailed`
/// right after `TaskStateEntered` with error `States.Runtime` and cause "An error occurred
/// while executing the state 'Glue StartJobRun' (entered at the event id #8). The JSONPath
/// '$.JobName' specified for the field 'JobName.$' could not be found in the input '{}'";
/// LocalStack, whose Step Functions tests are recorded against AWS, raises the same
/// (localstack/localstack#12318, #11951, PR #12094); floci-io/floci#2521 reports the same of
/// AWS and Step Functions Local. The documented name is kept in `errors::KNOWN` so
/// definitions that list it in `ErrorEquals` still parse (as on AWS); it is never raised.
/// The "An error occurred while executing the state …" prefix is added where the state
/// fails (`located`).
/// `field` is the field as AWS names it: `JobName.$` in a template, `ErrorPath` or
/// `CausePath` in a Fail state (recorded: "The JSONPath '$.ErrorX' specified for the field
/// 'ErrorPath' could not be found in the input '…'").
pub(super) fn parameter_path_failure(p: &Path, field: Option<&str>, input: &Value) -> Failure {
    let field = field.map(|k| format!(" specified for the field '{k}'"));
    runtime(format!(
        "The JSONPath '{}'{} could not be found in the input '{}'",
        p.as_str(),
        field.unwrap_or_default(),
        payload_string(input)
    ))
}

pub(super) fn eval_field(
    t: &Template,
    loc: &Loc<'_>,
    sc: &Sc<'_>,
    rng: &mut Rng,
) -> Result<Value, Failure> {
    Ok(match t {
        Template::Literal(v) => v.clone(),
        Template::Object(fields) => {
            let mut out = Map::new();
            for (k, f) in fields {
                out.insert(k.clone(), eval_field(f, &Loc::Field(loc, k), sc, rng)?);
            }
            Value::Object(out)
        }
        Template::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, x)| eval_field(x, &Loc::Index(loc, i), sc, rng))
                .collect::<Result<_, _>>()?,
        ),
        Template::Path(p) => sc.read(p).ok_or_else(|| {
            let field = loc.field().map(|k| format!("{k}.$"));
            parameter_path_failure(p, field.as_deref(), sc.input)
        })?,
        Template::Call(c) => intrinsics::eval(c, sc, rng)?,
        Template::Jsonata(e) => sc.jsonata(e, loc, rng)?,
    })
}

/// `InputPath` / `OutputPath` over the scope's input (or the context object, or a
/// variable, as the path says).
pub(super) fn apply_data_path(p: &DataPath, sc: &Sc<'_>) -> Result<Value, Failure> {
    match p {
        DataPath::Null => Ok(json!({})),
        DataPath::Path(p) => sc.read(p).ok_or_else(|| sc.invalid_path(p)),
    }
}

/// A value as AWS quotes it in a run-time cause: a string's text, anything else as JSON.
pub(super) fn quoted_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub(super) fn context_builder<'a>(
    meta: &'a Meta,
    active: &'a Active,
    token: Option<&'a str>,
    item: Option<(usize, &'a Value)>,
) -> impl Fn() -> Value + 'a {
    move || {
        let mut c = json!({
            "Execution": {
                "Id": meta.execution_arn,
                "Input": meta.input,
                "Name": meta.name,
                "RoleArn": "arn:aws:iam::000000000000:role/keiyaku-local",
                "StartTime": format_timestamp(meta.start_date),
                "RedriveCount": 0
            },
            "State": {
                "EnteredTime": format_timestamp(active.entered),
                "Name": active.name
            },
            "StateMachine": {
                "Id": meta.state_machine_arn,
                "Name": meta.state_machine_arn.rsplit(':').next().unwrap_or_default()
            }
        });
        if active.task {
            c["State"]["RetryCount"] = json!(active.retries.iter().sum::<u64>());
        }
        if let Some(t) = token {
            c["Task"] = json!({"Token": t});
        }
        if let Some((i, v)) = item {
            c["Map"] = json!({"Item": {"Index": i, "Value": v}});
        }
        c
    }
}

/// Longest delay a Wait state's `SecondsPath` may give, in seconds (AWS fails the
/// execution beyond it; a literal `Seconds` is limited at load).
pub(super) const MAX_WAIT_SECONDS: u64 = (1 << 31) - 1;

/// When a Wait state ends. The causes of a bad `SecondsPath` or `TimestampPath` are AWS's
/// (recorded): "The SecondsPath parameter references a negative value: $.w == -1", "… cannot
/// be parsed as a long value: $.w == 1.5", "The TimestampPath parameter does not reference a
/// valid ISO-8601 extended offset date-time format string: $.t == 2016-12-05T21:29:29"; for a
/// path that names nothing, "… does not reference an input value: $.w" (unrecorded; the
/// wording other emulators use).
pub(super) fn wait_until(
    w: &WaitSpec,
    sc: &Sc<'_>,
    rng: &mut Rng,
    now: OffsetDateTime,
) -> Result<OffsetDateTime, Failure> {
    let read = |p: &Path, field: &str| {
        sc.read(p).ok_or_else(|| {
            runtime(format!(
                "The {field} parameter does not reference an input value: {}",
                p.as_str()
            ))
        })
    };
    Ok(match w {
        WaitSpec::Seconds(s) => now + Duration::seconds(*s as i64),
        WaitSpec::Timestamp(t) => *t,
        WaitSpec::SecondsPath(p) => {
            let v = read(p, "SecondsPath")?;
            let said = |what: &str| {
                runtime(format!(
                    "The SecondsPath parameter {what}: {} == {}",
                    p.as_str(),
                    quoted_value(&v)
                ))
            };
            match v.as_i64() {
                None => return Err(said("cannot be parsed as a long value")),
                Some(s) if s < 0 => return Err(said("references a negative value")),
                Some(s) if s as u64 > MAX_WAIT_SECONDS => {
                    return Err(runtime("Wait state delay is too long.".to_owned()));
                }
                Some(s) => now + Duration::seconds(s),
            }
        }
        WaitSpec::SecondsExpr(e) => {
            let t = Template::Jsonata(e.clone());
            now + Duration::seconds(whole(&t, "Seconds", sc, rng, 0)?)
        }
        WaitSpec::TimestampExpr(e) => {
            let t = Template::Jsonata(e.clone());
            let v = typed(&t, "Timestamp", sc, rng, "string", Value::is_string)?;
            let s = v.as_str().unwrap_or_default();
            match OffsetDateTime::parse(s, &Rfc3339) {
                Ok(at) if s.as_bytes().get(10) == Some(&b'T') => at,
                _ => {
                    return Err(query_error(
                        e,
                        &Loc::Root("Timestamp"),
                        &format!(
                            "returned a string that is not an ISO-8601 extended offset date-time: {s}"
                        ),
                    ));
                }
            }
        }
        WaitSpec::TimestampPath(p) => {
            let v = read(p, "TimestampPath")?;
            match v
                .as_str()
                // AWS wants the `T` that RFC 3339 lets a space stand for.
                .filter(|s| s.as_bytes().get(10) == Some(&b'T'))
                .map(|s| OffsetDateTime::parse(s, &Rfc3339))
            {
                Some(Ok(t)) => t,
                _ => {
                    return Err(runtime(format!(
                        "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {} == {}",
                        p.as_str(),
                        quoted_value(&v)
                    )));
                }
            }
        }
    })
}

/// Which field a template fills, and what its expressions see besides the state's input:
/// `$$.Task.Token`, `$$.Map.Item`, and for JSONata `$states.result` / `$states.errorOutput`.
#[derive(Default, Clone, Copy)]
pub(super) struct Field<'a> {
    /// The field's name, as JSONata failures give its location (`Output`, `Arguments`).
    pub(super) root: &'a str,
    /// `$$.Task.Token` (a callback task's).
    pub(super) token: Option<&'a str>,
    /// `$$.Map.Item`: the index and the item (in `ItemSelector`).
    pub(super) item: Option<(usize, &'a Value)>,
    /// JSONata's `$states.result`.
    pub(super) result: Option<&'a Value>,
    /// JSONata's `$states.errorOutput`.
    pub(super) error_output: Option<&'a Value>,
}

impl<'a> Field<'a> {
    pub(super) fn named(root: &'a str) -> Self {
        Field {
            root,
            ..Field::default()
        }
    }
}

/// Runs `run` with the paths and expressions of the frame's active state reading `input`,
/// the variables in scope (a state's own assignments take effect when it ends), and the
/// execution's generator.
pub(super) fn evaluating<R>(
    input: &Value,
    active: &Active,
    cx: &mut Cx<'_>,
    field: Field<'_>,
    run: impl FnOnce(&Sc<'_>, &mut Rng) -> R,
) -> R {
    let build = context_builder(cx.meta, active, field.token, field.item);
    let vars = cx.vars.clone();
    let states = States {
        input: &active.input,
        result: field.result,
        error_output: field.error_output,
        now: cx.now,
    };
    let sc = Sc::new(input, &build, &vars, states);
    let mut rng = cx.counters.rng;
    let r = run(&sc, &mut rng);
    cx.counters.rng = rng;
    r
}

/// Evaluates template `t` over `input` as field `field` of the frame's active state.
pub(super) fn evaluate(
    t: &Template,
    input: &Value,
    active: &Active,
    cx: &mut Cx<'_>,
    field: Field<'_>,
) -> Result<Value, Failure> {
    evaluating(input, active, cx, field, |sc, rng| {
        eval_template(t, field.root, sc, rng)
    })
}

/// Runs `f` with the paths of the frame's active state reading `input`.
pub(super) fn reading<R>(
    input: &Value,
    active: &Active,
    cx: &Cx<'_>,
    f: impl FnOnce(&Sc<'_>) -> R,
) -> R {
    let build = context_builder(cx.meta, active, None, None);
    let states = States {
        input: &active.input,
        result: None,
        error_output: None,
        now: cx.now,
    };
    f(&Sc::new(input, &build, &cx.vars, states))
}

/// What an `Assign` sets, evaluated over `doc` (what `$` is there in JSONPath: a state's
/// result, a Choice or Wait state's input, a Catcher's error output); `field` names where it
/// is and what JSONata's `$states` holds.
pub(super) fn assigned(
    t: Option<&Template>,
    doc: &Value,
    active: &Active,
    cx: &mut Cx<'_>,
    field: Field<'_>,
) -> Result<Map<String, Value>, Failure> {
    match t {
        None => Ok(Map::new()),
        Some(t) => match evaluate(t, doc, active, cx, field)? {
            Value::Object(vars) => Ok(vars),
            _ => Ok(Map::new()),
        },
    }
}

pub(super) fn eval_rule(rule: &Rule, sc: &Sc<'_>) -> Result<bool, Failure> {
    match rule {
        // Conditions belong to JSONata states, which `step::choice` evaluates itself; a
        // literal one needs nothing.
        Rule::Condition(Template::Literal(v)) => Ok(v == &json!(true)),
        Rule::Condition(_) => Err(runtime("a JSONata Condition in a JSONPath Choice state")),
        Rule::And(rs) => {
            for r in rs {
                if !eval_rule(r, sc)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Rule::Or(rs) => {
            for r in rs {
                if eval_rule(r, sc)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Rule::Not(r) => Ok(!eval_rule(r, sc)?),
        Rule::Compare {
            variable,
            op,
            operand,
        } => {
            let value = sc.read(variable);
            if op == "IsPresent" {
                return Ok(value.is_some()
                    == (operand == &crate::definition::Operand::Literal(Value::Bool(true))));
            }
            let Some(value) = value else {
                return Err(runtime(format!(
                    "Invalid path '{}': The choice state's condition path references an invalid value.",
                    variable.as_str()
                )));
            };
            let rhs = match operand {
                crate::definition::Operand::Literal(v) => v.clone(),
                crate::definition::Operand::Path(p) => sc.read(p).ok_or_else(|| {
                    runtime(format!("Invalid path '{}': The choice state's condition path references an invalid value.", p.as_str()))
                })?,
            };
            Ok(compare(op, &value, &rhs))
        }
    }
}

pub(super) fn timestamp(v: &Value) -> Option<OffsetDateTime> {
    v.as_str()
        .and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok())
}

/// A comparison; operands of the wrong type make it false, as in AWS.
pub(super) fn compare(op: &str, v: &Value, rhs: &Value) -> bool {
    use std::cmp::Ordering::*;
    let expect = |o: std::cmp::Ordering| -> bool {
        if op.ends_with("LessThanEquals") {
            o != Greater
        } else if op.ends_with("GreaterThanEquals") {
            o != Less
        } else if op.ends_with("LessThan") {
            o == Less
        } else if op.ends_with("GreaterThan") {
            o == Greater
        } else {
            o == Equal
        }
    };
    match op {
        "IsNull" => v.is_null() == (rhs == &Value::Bool(true)),
        "IsNumeric" => v.is_number() == (rhs == &Value::Bool(true)),
        "IsString" => v.is_string() == (rhs == &Value::Bool(true)),
        "IsBoolean" => v.is_boolean() == (rhs == &Value::Bool(true)),
        "IsTimestamp" => timestamp(v).is_some() == (rhs == &Value::Bool(true)),
        "BooleanEquals" => v.is_boolean() && v == rhs,
        "StringMatches" => match (v.as_str(), rhs.as_str()) {
            (Some(s), Some(p)) => string_matches(s, p),
            _ => false,
        },
        // Java's String.compareTo orders by UTF-16 code units, not by code points: a
        // character outside the BMP (a surrogate pair, 0xD800…) sorts before U+E000…U+FFFF.
        _ if op.starts_with("String") => match (v.as_str(), rhs.as_str()) {
            (Some(a), Some(b)) => expect(a.encode_utf16().cmp(b.encode_utf16())),
            _ => false,
        },
        _ if op.starts_with("Numeric") => match (v.as_f64(), rhs.as_f64()) {
            (Some(a), Some(b)) if v.is_number() && rhs.is_number() => {
                a.partial_cmp(&b).is_some_and(expect)
            }
            _ => false,
        },
        _ if op.starts_with("Timestamp") => match (timestamp(v), timestamp(rhs)) {
            (Some(a), Some(b)) => expect(a.cmp(&b)),
            _ => false,
        },
        _ => false,
    }
}

/// `StringMatches`: `*` matches any run of characters; `\*` and `\\` are literal.
pub(super) fn string_matches(s: &str, pattern: &str) -> bool {
    #[derive(PartialEq)]
    enum Tok {
        Star,
        Ch(char),
    }
    let mut toks = Vec::new();
    let mut it = pattern.chars();
    while let Some(c) = it.next() {
        match c {
            '\\' => toks.push(Tok::Ch(it.next().unwrap_or('\\'))),
            '*' => toks.push(Tok::Star),
            c => toks.push(Tok::Ch(c)),
        }
    }
    let s: Vec<char> = s.chars().collect();
    // Classic wildcard matching with backtracking to the last star.
    let (mut i, mut j) = (0usize, 0usize);
    let (mut star, mut mark) = (None, 0usize);
    while i < s.len() {
        if j < toks.len() && toks[j] == Tok::Ch(s[i]) {
            i += 1;
            j += 1;
        } else if j < toks.len() && toks[j] == Tok::Star {
            star = Some(j);
            mark = i;
            j += 1;
        } else if let Some(sj) = star {
            j = sj + 1;
            mark += 1;
            i = mark;
        } else {
            return false;
        }
    }
    while j < toks.len() && toks[j] == Tok::Star {
        j += 1;
    }
    j == toks.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_matches_follows_the_guide() {
        assert!(string_matches("log-2020.txt", "log-*.txt"));
        assert!(string_matches("abc", "*"));
        assert!(!string_matches("log.txt", "log-*.txt"));
        assert!(string_matches("a*b", r"a\*b"));
        assert!(!string_matches("axb", r"a\*b"));
        assert!(string_matches("", "*"));
    }

    #[test]
    fn comparisons_of_the_wrong_type_are_false() {
        assert!(!compare("NumericEquals", &json!("1"), &json!(1)));
        assert!(compare("NumericLessThanEquals", &json!(1), &json!(1.0)));
        assert!(compare("StringGreaterThan", &json!("b"), &json!("a")));
        assert!(compare(
            "TimestampLessThan",
            &json!("2016-03-14T01:59:00Z"),
            &json!("2016-03-14T02:00:00+00:00")
        ));
        assert!(!compare("BooleanEquals", &json!("true"), &json!(true)));
        assert!(compare(
            "IsTimestamp",
            &json!("2016-03-14T01:59:00Z"),
            &json!(true)
        ));
    }

    #[test]
    fn timestamps_have_milliseconds_and_z() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_553_631_253_192_000_000).unwrap();
        assert_eq!(format_timestamp(t), "2019-03-26T20:14:13.192Z");
    }
}
