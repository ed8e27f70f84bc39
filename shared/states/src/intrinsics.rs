//! Intrinsic functions (`States.Format(...)` and friends) as they may appear in `.$` values.
//! Parsed when the definition is loaded (an unknown function is refused there); evaluated
//! with the state's input, the context object and the execution's random generator.

use base64::Engine as _;
use serde_json::{Map, Number, Value};
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::errors::{Failure, INTRINSIC_FAILURE};
use crate::path::Path;
use crate::rng::Rng;

/// Every intrinsic function this engine implements (SUPPORTED.md lists the same).
pub const SUPPORTED: &[&str] = &[
    "States.Format",
    "States.StringToJson",
    "States.JsonToString",
    "States.Array",
    "States.ArrayPartition",
    "States.ArrayContains",
    "States.ArrayRange",
    "States.ArrayGetItem",
    "States.ArrayLength",
    "States.ArrayUnique",
    "States.Base64Encode",
    "States.Base64Decode",
    "States.Hash",
    "States.JsonMerge",
    "States.MathRandom",
    "States.MathAdd",
    "States.StringSplit",
    "States.UUID",
];

/// A parsed intrinsic call.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The function name, e.g. `States.Format`.
    pub name: String,
    /// The arguments in order.
    pub args: Vec<Arg>,
}

/// One argument of an intrinsic call.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// A literal: string, number, boolean or null. Strings keep their raw text too, because
    /// `States.Format` treats `\{` differently from `{`.
    Literal(Value, Option<String>),
    /// A path into the input or the context object.
    Path(Path),
    /// A nested call.
    Call(Call),
}

/// Where intrinsic arguments and `.$` paths are read from.
pub trait Scope {
    /// Reads a path (input or context object), or `None` when it names nothing.
    fn read(&self, path: &Path) -> Option<Value>;
}

/// True when a `.$` value is an intrinsic call rather than a path.
pub fn looks_like_call(s: &str) -> bool {
    s.trim_start().starts_with("States.")
}

/// Parses `States.Name(args...)`, refusing unknown functions and malformed arguments.
pub fn parse(text: &str) -> Result<Call, String> {
    let mut p = Parser {
        s: text.trim(),
        i: 0,
    };
    let call = p.call()?;
    p.ws();
    if p.i != p.s.len() {
        return Err(format!("unexpected text after the call: {:?}", &p.s[p.i..]));
    }
    Ok(call)
}

struct Parser<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        &self.s[self.i..]
    }
    fn ws(&mut self) {
        while self.rest().starts_with(' ') {
            self.i += 1;
        }
    }
    fn call(&mut self) -> Result<Call, String> {
        let open = self
            .rest()
            .find('(')
            .ok_or("expected '(' after the function name")?;
        let name = self.rest()[..open].trim().to_string();
        if !SUPPORTED.contains(&name.as_str()) {
            return Err(format!("intrinsic function {name} is not supported"));
        }
        self.i += open + 1;
        let mut args = Vec::new();
        self.ws();
        if self.rest().starts_with(')') {
            self.i += 1;
        } else {
            loop {
                args.push(self.arg()?);
                self.ws();
                match self.rest().chars().next() {
                    Some(',') => self.i += 1,
                    Some(')') => {
                        self.i += 1;
                        break;
                    }
                    _ => return Err(format!("expected ',' or ')' in {name}")),
                }
            }
        }
        check_arity(&name, args.len())?;
        Ok(Call { name, args })
    }
    fn arg(&mut self) -> Result<Arg, String> {
        self.ws();
        let r = self.rest();
        if r.starts_with('\'') {
            return self.string();
        }
        if r.starts_with("States.") {
            return self.call().map(Arg::Call);
        }
        // A path or a bare literal runs to the next top-level ',' or ')'.
        let mut depth = 0i32;
        let mut quote = false;
        let mut end = r.len();
        for (k, c) in r.char_indices() {
            match c {
                '\'' => quote = !quote,
                '[' if !quote => depth += 1,
                ']' if !quote => depth -= 1,
                ',' | ')' if !quote && depth == 0 => {
                    end = k;
                    break;
                }
                _ => {}
            }
        }
        let tok = r[..end].trim();
        self.i += end;
        if tok.starts_with('$') {
            return Path::parse(tok).map(Arg::Path).map_err(|e| e.0);
        }
        let v = match tok {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            "null" => Value::Null,
            _ => serde_json::from_str::<Number>(tok)
                .map(Value::Number)
                .map_err(|_| format!("bad argument {tok:?}"))?,
        };
        Ok(Arg::Literal(v, None))
    }
    fn string(&mut self) -> Result<Arg, String> {
        let body = &self.rest()[1..];
        let mut raw = String::new();
        let mut value = String::new();
        let mut chars = body.char_indices();
        while let Some((k, c)) = chars.next() {
            match c {
                '\\' => {
                    let (_, n) = chars.next().ok_or("dangling '\\' in a string")?;
                    raw.push('\\');
                    raw.push(n);
                    value.push(n);
                }
                '\'' => {
                    self.i += 1 + k + 1;
                    return Ok(Arg::Literal(Value::String(value), Some(raw)));
                }
                _ => {
                    raw.push(c);
                    value.push(c);
                }
            }
        }
        Err("unterminated string".into())
    }
}

fn check_arity(name: &str, n: usize) -> Result<(), String> {
    let (min, max) = match name {
        "States.Format" => (1, usize::MAX),
        "States.Array" => (0, usize::MAX),
        "States.StringToJson"
        | "States.JsonToString"
        | "States.ArrayLength"
        | "States.ArrayUnique"
        | "States.Base64Encode"
        | "States.Base64Decode" => (1, 1),
        "States.ArrayPartition"
        | "States.ArrayContains"
        | "States.ArrayGetItem"
        | "States.Hash"
        | "States.MathAdd"
        | "States.StringSplit" => (2, 2),
        "States.ArrayRange" | "States.JsonMerge" => (3, 3),
        "States.MathRandom" => (2, 3),
        "States.UUID" => (0, 0),
        _ => (0, usize::MAX),
    };
    if n < min || n > max {
        let want = if min == max {
            format!("{min}")
        } else if max == usize::MAX {
            format!("at least {min}")
        } else {
            format!("{min} to {max}")
        };
        return Err(format!("{name} takes {want} argument(s), got {n}"));
    }
    Ok(())
}

fn fail(msg: impl Into<String>) -> Failure {
    Failure::new(INTRINSIC_FAILURE, msg)
}

/// Evaluates a call.
pub fn eval(call: &Call, scope: &dyn Scope, rng: &mut Rng) -> Result<Value, Failure> {
    let name = call.name.as_str();
    let mut vals = Vec::with_capacity(call.args.len());
    for a in &call.args {
        vals.push(match a {
            Arg::Literal(v, _) => v.clone(),
            Arg::Path(p) => scope
                .read(p)
                .ok_or_else(|| fail(format!("{name}: the path {} names nothing", p.as_str())))?,
            Arg::Call(c) => eval(c, scope, rng)?,
        });
    }
    let v = &vals;
    match name {
        "States.Format" => format(call, v),
        "States.StringToJson" => {
            let s = string(name, &v[0])?;
            // An empty or blank string is null on AWS (recorded executions).
            if s.trim().is_empty() {
                return Ok(Value::Null);
            }
            serde_json::from_str(s).map_err(|e| fail(format!("{name}: {e}")))
        }
        "States.JsonToString" => Ok(Value::String(v[0].to_string())),
        "States.Array" => Ok(Value::Array(vals.clone())),
        "States.ArrayPartition" => {
            let arr = array(name, &v[0])?;
            let size = integer(name, &v[1])?;
            if size <= 0 {
                return Err(fail(format!("{name}: the chunk size must be positive")));
            }
            Ok(Value::Array(
                arr.chunks(size as usize)
                    .map(|c| Value::Array(c.to_vec()))
                    .collect(),
            ))
        }
        "States.ArrayContains" => Ok(Value::Bool(array(name, &v[0])?.contains(&v[1]))),
        "States.ArrayRange" => {
            let (start, end, step) = (
                integer(name, &v[0])?,
                integer(name, &v[1])?,
                integer(name, &v[2])?,
            );
            if step == 0 {
                return Err(fail(format!("{name}: the step must not be 0")));
            }
            let mut out = Vec::new();
            let mut x = start;
            while (step > 0 && x <= end) || (step < 0 && x >= end) {
                out.push(Value::from(x));
                // AWS caps the result at 1,000 elements.
                if out.len() > 1000 {
                    return Err(fail(format!("{name}: more than 1000 elements")));
                }
                x += step;
            }
            Ok(Value::Array(out))
        }
        "States.ArrayGetItem" => {
            let arr = array(name, &v[0])?;
            let i = integer(name, &v[1])?;
            usize::try_from(i)
                .ok()
                .and_then(|i| arr.get(i))
                .cloned()
                .ok_or_else(|| fail(format!("{name}: index {i} is out of bounds")))
        }
        "States.ArrayLength" => Ok(Value::from(array(name, &v[0])?.len())),
        "States.ArrayUnique" => {
            let mut out: Vec<Value> = Vec::new();
            for x in array(name, &v[0])? {
                if !out.contains(x) {
                    out.push(x.clone());
                }
            }
            Ok(Value::Array(out))
        }
        "States.Base64Encode" => {
            let s = string(name, &v[0])?;
            // AWS limits the input to 10,000 characters.
            if s.chars().count() > 10_000 {
                return Err(fail(format!("{name}: input longer than 10000 characters")));
            }
            Ok(Value::String(
                base64::engine::general_purpose::STANDARD.encode(s),
            ))
        }
        "States.Base64Decode" => {
            let s = string(name, &v[0])?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(s)
                .map_err(|e| fail(format!("{name}: {e}")))?;
            String::from_utf8(bytes)
                .map(Value::String)
                .map_err(|e| fail(format!("{name}: {e}")))
        }
        "States.Hash" => {
            let data = match &v[0] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let algorithm = string(name, &v[1])?;
            hash(&data, algorithm)
                .map(Value::String)
                .ok_or_else(|| fail(format!("{name}: algorithm {algorithm:?} is not supported")))
        }
        "States.JsonMerge" => {
            let (a, b) = (object(name, &v[0])?, object(name, &v[1])?);
            // AWS supports only the shallow mode: the third argument must be false.
            if v[2] != Value::Bool(false) {
                return Err(fail(format!(
                    "{name}: only shallow merge (false) is supported"
                )));
            }
            let mut out = a.clone();
            for (k, x) in b {
                out.insert(k.clone(), x.clone());
            }
            Ok(Value::Object(out))
        }
        "States.MathRandom" => {
            let (lo, hi) = (rounded(name, &v[0])?, rounded(name, &v[1])?);
            if hi <= lo {
                return Err(fail(format!(
                    "{name}: the end must be greater than the start"
                )));
            }
            // With a seed argument the result is fixed by it, as AWS documents; without one
            // it comes from the execution's generator. Start inclusive, end exclusive (our
            // reading of the guide).
            let r = match v.get(2) {
                Some(seed) => Rng::new(integer(name, seed)? as u64).next_u64(),
                None => rng.next_u64(),
            };
            let span = (hi - lo) as u64;
            Ok(Value::from(lo + (r % span) as i64))
        }
        "States.MathAdd" => {
            let (a, b) = (rounded(name, &v[0])?, rounded(name, &v[1])?);
            Ok(Value::from(a + b))
        }
        "States.StringSplit" => {
            let (s, delims) = (string(name, &v[0])?, string(name, &v[1])?);
            // Every character of the second argument is a delimiter; empty pieces are
            // dropped (the guide's example splits "This.is+a,test=string" on ".+,=").
            let parts = s
                .split(|c| delims.contains(c))
                .filter(|p| !p.is_empty())
                .map(|p| Value::String(p.to_string()))
                .collect();
            Ok(Value::Array(parts))
        }
        "States.UUID" => Ok(Value::String(rng.uuid())),
        other => Err(fail(format!("{other} is not supported"))),
    }
}

fn format(call: &Call, v: &[Value]) -> Result<Value, Failure> {
    let template = match &call.args[0] {
        Arg::Literal(Value::String(_), Some(raw)) => raw.clone(),
        _ => match &v[0] {
            // A template read from a path has no escapes to honour.
            Value::String(s) => s.clone(),
            _ => return Err(fail("States.Format: the template must be a string")),
        },
    };
    let mut out = String::new();
    let mut next = 1;
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            '{' if chars.peek() == Some(&'}') => {
                chars.next();
                let arg = v
                    .get(next)
                    .ok_or_else(|| fail("States.Format: more placeholders than arguments"))?;
                next += 1;
                out.push_str(&java_text(arg));
            }
            _ => out.push(c),
        }
    }
    if next != v.len() {
        return Err(fail(
            "States.Format: the number of arguments does not match the placeholders",
        ));
    }
    Ok(Value::String(out))
}

/// A value as Step Functions' Java runtime prints it into `States.Format`: strings bare,
/// objects as maps (`{Arg1=1, Arg2=[]}`), arrays as lists (`[a, b]`).
fn java_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(java_text).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(map) => {
            let entries: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k}={}", java_text(v)))
                .collect();
            format!("{{{}}}", entries.join(", "))
        }
        other => other.to_string(),
    }
}

/// A number rounded half up, as AWS's math intrinsics take non-integers (1.5 → 2,
/// −1.5 → −1, −0.5 → 0: Java's `Math.round`).
fn rounded(name: &str, v: &Value) -> Result<i64, Failure> {
    match v.as_f64() {
        Some(f) if f.is_finite() && f.abs() < 9.0e15 => Ok((f + 0.5).floor() as i64),
        _ => Err(fail(format!("{name}: expected a number, got {v}"))),
    }
}

fn string<'a>(name: &str, v: &'a Value) -> Result<&'a str, Failure> {
    v.as_str()
        .ok_or_else(|| fail(format!("{name}: expected a string, got {v}")))
}

fn array<'a>(name: &str, v: &'a Value) -> Result<&'a Vec<Value>, Failure> {
    v.as_array()
        .ok_or_else(|| fail(format!("{name}: expected an array, got {v}")))
}

fn object<'a>(name: &str, v: &'a Value) -> Result<&'a Map<String, Value>, Failure> {
    v.as_object()
        .ok_or_else(|| fail(format!("{name}: expected an object, got {v}")))
}

fn integer(name: &str, v: &Value) -> Result<i64, Failure> {
    if let Some(i) = v.as_i64() {
        return Ok(i);
    }
    match v.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(f as i64),
        _ => Err(fail(format!("{name}: expected an integer, got {v}"))),
    }
}

/// `data`'s digest in hex by `algorithm` (`MD5`, `SHA-1`, `SHA-256`, `SHA-384`, `SHA-512`),
/// as `States.Hash` and JSONata's `$hash` give it.
pub(crate) fn hash(data: &str, algorithm: &str) -> Option<String> {
    let data = data.as_bytes();
    Some(match algorithm {
        "SHA-1" => hex::encode(Sha1::digest(data)),
        "SHA-256" => hex::encode(Sha256::digest(data)),
        "SHA-384" => hex::encode(Sha384::digest(data)),
        "SHA-512" => hex::encode(Sha512::digest(data)),
        "MD5" => hex::encode(md5::Md5::digest(data)),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Doc(Value);
    impl Scope for Doc {
        fn read(&self, path: &Path) -> Option<Value> {
            path.read(&self.0)
        }
    }

    fn run(expr: &str, input: Value) -> Result<Value, Failure> {
        eval(&parse(expr).unwrap(), &Doc(input), &mut Rng::new(1))
    }

    // The examples below are the Developer Guide's "Intrinsic functions" examples.
    #[test]
    fn documented_examples() {
        assert_eq!(
            run(
                "States.Format('Hello, my name is {}.', $.name)",
                json!({"name": "Arnav"})
            )
            .unwrap(),
            json!("Hello, my name is Arnav.")
        );
        assert_eq!(
            run(
                "States.StringToJson($.escapedJsonString)",
                json!({"escapedJsonString": "{\"foo\": \"bar\"}"})
            )
            .unwrap(),
            json!({"foo": "bar"})
        );
        assert_eq!(
            run(
                "States.JsonToString($.unescapedJson)",
                json!({"unescapedJson": {"foo": "bar"}})
            )
            .unwrap(),
            json!("{\"foo\":\"bar\"}")
        );
        // Keys keep their order, as on Step Functions (not sorted).
        let input: Value = serde_json::from_str(r#"{"o": {"zeta": 1, "alpha": 2}}"#).unwrap();
        assert_eq!(
            run("States.JsonToString($.o)", input).unwrap(),
            json!("{\"zeta\":1,\"alpha\":2}")
        );
        assert_eq!(
            run("States.Array('Foo', 2020, $.name)", json!({"name": "Bar"})).unwrap(),
            json!(["Foo", 2020, "Bar"])
        );
        assert_eq!(
            run(
                "States.ArrayPartition($.inputArray,4)",
                json!({"inputArray": [1,2,3,4,5,6,7,8,9]})
            )
            .unwrap(),
            json!([[1, 2, 3, 4], [5, 6, 7, 8], [9]])
        );
        assert_eq!(
            run(
                "States.ArrayContains($.inputArray, $.lookingFor)",
                json!({"inputArray": [1,2,3,4,5,6,7,8,9], "lookingFor": 5})
            )
            .unwrap(),
            json!(true)
        );
        assert_eq!(
            run("States.ArrayRange(1, 9, 2)", json!({})).unwrap(),
            json!([1, 3, 5, 7, 9])
        );
        assert_eq!(
            run(
                "States.ArrayGetItem($.inputArray, $.index)",
                json!({"inputArray": [1,2,3,4,5,6,7,8,9], "index": 5})
            )
            .unwrap(),
            json!(6)
        );
        assert_eq!(
            run(
                "States.ArrayLength($.inputArray)",
                json!({"inputArray": [1,2,3,4,5,6,7,8,9]})
            )
            .unwrap(),
            json!(9)
        );
        assert_eq!(
            run(
                "States.ArrayUnique($.inputArray)",
                json!({"inputArray": [1,2,3,3,3,3,3,3,4]})
            )
            .unwrap(),
            json!([1, 2, 3, 4])
        );
        assert_eq!(
            run(
                "States.Base64Encode($.input)",
                json!({"input": "Data to encode"})
            )
            .unwrap(),
            json!("RGF0YSB0byBlbmNvZGU=")
        );
        assert_eq!(
            run(
                "States.Base64Decode($.base64)",
                json!({"base64": "RGVjb2RlZCBkYXRh"})
            )
            .unwrap(),
            json!("Decoded data")
        );
        assert_eq!(
            run(
                "States.JsonMerge($.json1, $.json2, false)",
                json!({
                    "json1": {"a": {"a1": 1, "a2": 2}, "b": 2},
                    "json2": {"a": {"a3": 1, "a4": 2}, "c": 3}
                })
            )
            .unwrap(),
            json!({"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3})
        );
        assert_eq!(
            run(
                "States.MathAdd($.value1, $.step)",
                json!({"value1": 111, "step": -1})
            )
            .unwrap(),
            json!(110)
        );
        assert_eq!(
            run(
                "States.StringSplit($.inputString, $.splitter)",
                json!({"inputString": "1,2,3,4,5", "splitter": ","})
            )
            .unwrap(),
            json!(["1", "2", "3", "4", "5"])
        );
        assert_eq!(
            run(
                "States.StringSplit($.inputString, $.splitter)",
                json!({"inputString": "This.is+a,test=string", "splitter": ".+,="})
            )
            .unwrap(),
            json!(["This", "is", "a", "test", "string"])
        );
    }

    // Behaviour recorded on AWS (issue 14: executions replayed from a public project's
    // snapshot tests), where it differs from a strict reading of the guide.
    #[test]
    fn recorded_on_aws() {
        for (a, b, sum) in [
            (1.49, 1.5, 3),
            (-1.5, 0.0, -1),
            (-0.5, 0.0, 0),
            (2.0, 3.0, 5),
        ] {
            assert_eq!(
                run("States.MathAdd($.a, $.b)", json!({"a": a, "b": b})).unwrap(),
                json!(sum),
                "{a} + {b}"
            );
        }
        let r = run("States.MathRandom(12.5, 44.51)", json!({}))
            .unwrap()
            .as_i64()
            .unwrap();
        assert!((13..45).contains(&r), "{r}");
        assert_eq!(
            run(
                "States.Format('{} and {}', $.o, $.a)",
                json!({"o": {"Arg1": 1, "Arg2": []}, "a": ["x", {"k": null}]})
            )
            .unwrap(),
            json!("{Arg1=1, Arg2=[]} and [x, {k=null}]")
        );
        for blank in ["", " "] {
            assert_eq!(
                run("States.StringToJson($.s)", json!({ "s": blank })).unwrap(),
                Value::Null
            );
        }
        assert_eq!(
            run("States.MathAdd($.a, 1)", json!({"a": "1"}))
                .unwrap_err()
                .error,
            INTRINSIC_FAILURE
        );
    }

    #[test]
    fn hash_random_uuid_and_escapes() {
        // SHA-256("abc") is the FIPS 180-2 test vector.
        assert_eq!(
            run("States.Hash('abc', 'SHA-256')", json!({})).unwrap(),
            json!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        assert_eq!(
            run("States.Hash('abc', 'SHA-1')", json!({})).unwrap(),
            json!("a9993e364706816aba3e25717850c26c9cd0d89d")
        );
        // RFC 1321's test vector; the Developer Guide lists MD5 among States.Hash's algorithms.
        assert_eq!(
            run("States.Hash('abc', 'MD5')", json!({})).unwrap(),
            json!("900150983cd24fb0d6963f7d28e17f72")
        );
        assert_eq!(
            run("States.Hash('abc', 'MD4')", json!({}))
                .unwrap_err()
                .error,
            INTRINSIC_FAILURE
        );
        let r = run("States.MathRandom(1, 999)", json!({}))
            .unwrap()
            .as_i64()
            .unwrap();
        assert!((1..999).contains(&r));
        let seeded = |s| run(&format!("States.MathRandom(1, 1000, {s})"), json!({})).unwrap();
        assert_eq!(seeded(42), seeded(42));
        assert_eq!(
            run("States.UUID()", json!({}))
                .unwrap()
                .as_str()
                .unwrap()
                .len(),
            36
        );
        assert_eq!(
            run(
                r"States.Format('a \{\} b {} \'q\' \\', $.x)",
                json!({"x": 1})
            )
            .unwrap(),
            json!(r"a {} b 1 'q' \")
        );
        assert_eq!(
            run(
                "States.Format('{} {}', States.ArrayLength($.a), null)",
                json!({"a": [1]})
            )
            .unwrap(),
            json!("1 null")
        );
    }

    #[test]
    fn refusals_and_runtime_failures() {
        assert!(
            parse("States.Nope($.a)")
                .unwrap_err()
                .contains("States.Nope")
        );
        assert!(parse("States.ArrayLength()").is_err());
        assert!(parse("States.UUID(1)").is_err());
        assert!(parse("States.Format('x'").is_err());
        assert_eq!(
            run("States.ArrayLength($.a)", json!({"a": 1}))
                .unwrap_err()
                .error,
            INTRINSIC_FAILURE
        );
        assert_eq!(
            run("States.ArrayGetItem($.a, 3)", json!({"a": [1]}))
                .unwrap_err()
                .error,
            INTRINSIC_FAILURE
        );
        assert_eq!(
            run("States.JsonMerge($.a, $.a, true)", json!({"a": {}}))
                .unwrap_err()
                .error,
            INTRINSIC_FAILURE
        );
        assert_eq!(
            run("States.Format('{}', $.missing)", json!({}))
                .unwrap_err()
                .error,
            INTRINSIC_FAILURE
        );
    }
}
