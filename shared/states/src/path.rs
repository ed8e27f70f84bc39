//! The JSONPath subset Step Functions accepts in `InputPath`, `OutputPath`, `ItemsPath`,
//! `*Path` fields, `.$` template values and intrinsic arguments, plus Reference Paths (the
//! wildcard-free kind `ResultPath` and Choice `Variable` use).
//!
//! AWS evaluates paths with Jayway JsonPath. We implement the parts its documentation shows:
//! `$`, `$$` (the context object), `.name`, `['name']`, `[n]` (negative counts from the end),
//! `[*]` / `.*`, `[a:b]` slices, `[0,1]` unions, `..name` descent, and filter expressions
//! (`[?(@.price < 10 && @.kind == 'book')]`: a relative path alone, or compared with a
//! number, string, boolean or null by `== != < <= > >=`, joined by `&&` and `||`). Functions
//! (`.length()`) and other filter forms are refused when the definition is parsed.

use serde_json::{Map, Value};

/// Which document a path reads: the state's input (`$`), the context object (`$$`) or a
/// workflow variable (`$name`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Root {
    /// `$`: the data being processed.
    Input,
    /// `$$`: the context object.
    Context,
    /// `$name`: the variable `name` (a letter or `_`, then letters, digits and `_`).
    Variable(String),
}

/// One step of a path.
#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    /// `.name` or `['name']`.
    Field(String),
    /// `[n]`; negative counts from the end (Jayway's behaviour).
    Index(i64),
    /// `.*` or `[*]`.
    Wildcard,
    /// `[start:end]`.
    Slice(Option<i64>, Option<i64>),
    /// `[0,2]` or `['a','b']`.
    Union(Vec<Segment>),
    /// `..name` or `..*`: every match at any depth.
    Descend(Option<String>),
    /// `[?(...)]`: the elements of an array for which the filter holds.
    Filter(Filter),
}

/// A filter expression: alternatives (`||`) of conjunctions (`&&`), Jayway's precedence.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter(Vec<Vec<Condition>>);

/// One condition of a filter: `@.path` exists, or compares with a literal.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    path: Vec<Segment>,
    test: Option<(Comparison, Value)>,
}

/// A comparison operator of a filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Filter {
    fn holds(&self, item: &Value) -> bool {
        self.0
            .iter()
            .any(|all| all.iter().all(|condition| condition.holds(item)))
    }
}

impl Condition {
    fn holds(&self, item: &Value) -> bool {
        let mut cur = item;
        for seg in &self.path {
            let next = match seg {
                Segment::Field(name) => cur.as_object().and_then(|o| o.get(name)),
                Segment::Index(i) => cur
                    .as_array()
                    .and_then(|a| normalize(*i, a.len()).and_then(|at| a.get(at))),
                _ => None,
            };
            // A missing node is Jayway's "undefined": equal to nothing, so only `!=` holds.
            let Some(next) = next else {
                return matches!(self.test, Some((Comparison::Ne, _)));
            };
            cur = next;
        }
        let Some((op, literal)) = &self.test else {
            return true;
        };
        use std::cmp::Ordering;
        // Values of different types never compare (Jayway); numbers compare as numbers.
        let order = match (cur, literal) {
            (Value::Number(a), Value::Number(b)) => a
                .as_f64()
                .zip(b.as_f64())
                .and_then(|(a, b)| a.partial_cmp(&b)),
            (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
            (Value::Bool(a), Value::Bool(b)) if matches!(op, Comparison::Eq | Comparison::Ne) => {
                Some(a.cmp(b))
            }
            (Value::Null, Value::Null) if matches!(op, Comparison::Eq | Comparison::Ne) => {
                Some(Ordering::Equal)
            }
            _ => None,
        };
        match (op, order) {
            (Comparison::Ne, None) => true,
            (_, None) => false,
            (Comparison::Eq, Some(o)) => o == Ordering::Equal,
            (Comparison::Ne, Some(o)) => o != Ordering::Equal,
            (Comparison::Lt, Some(o)) => o == Ordering::Less,
            (Comparison::Le, Some(o)) => o != Ordering::Greater,
            (Comparison::Gt, Some(o)) => o == Ordering::Greater,
            (Comparison::Ge, Some(o)) => o != Ordering::Less,
        }
    }
}

/// A parsed path.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    /// The document the path reads.
    pub root: Root,
    /// The steps after the root.
    pub segments: Vec<Segment>,
    text: String,
}

/// Why a path failed to parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathError(pub String);

impl Path {
    /// Parses a path such as `$.a.b[0]` or `$$.Execution.Id`.
    pub fn parse(text: &str) -> Result<Path, PathError> {
        let (root, rest) = if let Some(rest) = text.strip_prefix("$$") {
            (Root::Context, rest)
        } else if let Some(rest) = text.strip_prefix('$') {
            match variable_name(rest) {
                "" => (Root::Input, rest),
                name => (Root::Variable(name.to_owned()), &rest[name.len()..]),
            }
        } else {
            return Err(PathError(format!("path {text:?} must start with '$'")));
        };
        let segments =
            parse_segments(rest).map_err(|m| PathError(format!("path {text:?}: {m}")))?;
        Ok(Path {
            root,
            segments,
            text: text.to_string(),
        })
    }

    /// Parses a Reference Path: one that can only name a single node (no wildcards, slices,
    /// unions or descent), as `ResultPath` requires.
    pub fn parse_reference(text: &str) -> Result<Path, PathError> {
        let path = Path::parse(text)?;
        if !path.is_definite() {
            return Err(PathError(format!(
                "{text:?} must be a reference path (no '*', '..', ':' or ',')"
            )));
        }
        Ok(path)
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True when the path names at most one node (so its result is that node, not a list).
    pub fn is_definite(&self) -> bool {
        self.segments
            .iter()
            .all(|s| matches!(s, Segment::Field(_) | Segment::Index(_)))
    }

    /// Reads the path from `doc`. A definite path yields its node or `None`; an indefinite
    /// one yields the array of every match (possibly empty), as Jayway does.
    pub fn read(&self, doc: &Value) -> Option<Value> {
        if self.is_definite() {
            let mut cur = doc;
            for seg in &self.segments {
                cur = match seg {
                    Segment::Field(name) => cur.as_object()?.get(name)?,
                    Segment::Index(i) => {
                        let arr = cur.as_array()?;
                        arr.get(normalize(*i, arr.len())?)?
                    }
                    _ => return None,
                };
            }
            return Some(cur.clone());
        }
        let mut current: Vec<&Value> = vec![doc];
        for seg in &self.segments {
            let mut next = Vec::new();
            for v in current {
                select(seg, v, &mut next);
            }
            current = next;
        }
        Some(Value::Array(current.into_iter().cloned().collect()))
    }

    /// Why this path names nothing in `doc`, in the words of Jayway JsonPath, which AWS
    /// quotes after `Invalid path '<path>' : `: a missing last property or index gives
    /// `No results for path: $['a']['b']`, a property missing on the way `Missing property in
    /// path $['a']` (both recorded on AWS). A property asked of something that is not an
    /// object gives Jayway's `Expected to find an object with property …` (AWS's text here is
    /// unrecorded, so the Java class names Jayway would add are left out).
    pub fn not_found(&self, doc: &Value) -> String {
        let full: String = self.segments.iter().map(jayway_step).collect();
        let mut cur = Some(doc);
        let mut walked = String::from("$");
        for (i, seg) in self.segments.iter().enumerate() {
            let last = i + 1 == self.segments.len();
            let here = cur;
            cur = match (seg, here) {
                (Segment::Field(name), Some(Value::Object(o))) => match o.get(name) {
                    Some(v) => Some(v),
                    None if last => None,
                    None => {
                        return format!("Missing property in path {walked}{}", jayway_step(seg));
                    }
                },
                (Segment::Field(_), Some(other)) => {
                    return format!(
                        "Expected to find an object with property {} in path {walked} but found '{}'.",
                        jayway_step(seg),
                        json_type(other)
                    );
                }
                (Segment::Index(i), Some(Value::Array(a))) => {
                    normalize(*i, a.len()).and_then(|at| a.get(at))
                }
                _ => None,
            };
            walked.push_str(&jayway_step(seg));
        }
        format!("No results for path: ${full}")
    }

    /// Writes `value` at this reference path inside `doc`, creating missing objects on the
    /// way as `ResultPath` does. Fails when an existing node on the way is not an object (or
    /// an array for an index), which AWS reports as `States.ResultPathMatchFailure`.
    pub fn write(&self, doc: &mut Value, value: Value) -> Result<(), String> {
        let mut cur = doc;
        let n = self.segments.len();
        for (i, seg) in self.segments.iter().enumerate() {
            let last = i + 1 == n;
            match seg {
                Segment::Field(name) => {
                    let obj = cur.as_object_mut().ok_or_else(|| {
                        format!("cannot set field {name:?}: the node is not an object")
                    })?;
                    if last {
                        obj.insert(name.clone(), value);
                        return Ok(());
                    }
                    cur = obj
                        .entry(name.clone())
                        .or_insert_with(|| Value::Object(Map::new()));
                }
                Segment::Index(idx) => {
                    let arr = cur.as_array_mut().ok_or_else(|| {
                        format!("cannot set index {idx}: the node is not an array")
                    })?;
                    let len = arr.len();
                    let at = normalize(*idx, len)
                        .filter(|&at| at < len)
                        .ok_or_else(|| format!("index {idx} is out of bounds"))?;
                    if last {
                        arr[at] = value;
                        return Ok(());
                    }
                    cur = &mut arr[at];
                }
                _ => return Err("ResultPath must be a reference path".to_string()),
            }
        }
        *cur = value;
        Ok(())
    }
}

/// The variable name at the start of `text` (empty when there is none): a letter or `_`,
/// then letters, digits and `_`.
pub fn variable_name(text: &str) -> &str {
    let starts = text
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !starts {
        return "";
    }
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// One step as Jayway prints a compiled path: `['name']`, `[0]`.
fn jayway_step(seg: &Segment) -> String {
    match seg {
        Segment::Field(name) => format!("['{name}']"),
        Segment::Index(i) => format!("[{i}]"),
        _ => String::new(),
    }
}

/// A JSON value's kind, for messages: JSONata's `$type` names, which AWS's causes use.
pub(crate) fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn normalize(i: i64, len: usize) -> Option<usize> {
    if i >= 0 {
        usize::try_from(i).ok()
    } else {
        let from_end = usize::try_from(-i).ok()?;
        len.checked_sub(from_end)
    }
}

fn select<'a>(seg: &Segment, v: &'a Value, out: &mut Vec<&'a Value>) {
    match seg {
        Segment::Field(name) => {
            if let Some(x) = v.as_object().and_then(|o| o.get(name)) {
                out.push(x);
            }
        }
        Segment::Index(i) => {
            if let Some(arr) = v.as_array()
                && let Some(x) = normalize(*i, arr.len()).and_then(|at| arr.get(at))
            {
                out.push(x);
            }
        }
        Segment::Wildcard => match v {
            Value::Array(a) => out.extend(a.iter()),
            Value::Object(o) => out.extend(o.values()),
            _ => {}
        },
        Segment::Slice(start, end) => {
            if let Some(arr) = v.as_array() {
                let len = arr.len() as i64;
                let clamp = |x: i64| if x < 0 { (len + x).max(0) } else { x.min(len) };
                let s = clamp(start.unwrap_or(0));
                let e = clamp(end.unwrap_or(len));
                for i in s..e.max(s) {
                    out.push(&arr[i as usize]);
                }
            }
        }
        Segment::Union(parts) => {
            for p in parts {
                select(p, v, out);
            }
        }
        Segment::Descend(name) => descend(name.as_deref(), v, out),
        Segment::Filter(filter) => match v {
            Value::Array(a) => out.extend(a.iter().filter(|item| filter.holds(item))),
            other if filter.holds(other) => out.push(other),
            _ => {}
        },
    }
}

fn descend<'a>(name: Option<&str>, v: &'a Value, out: &mut Vec<&'a Value>) {
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                if name.is_none_or(|n| n == k) {
                    out.push(x);
                }
            }
            for x in o.values() {
                descend(name, x, out);
            }
        }
        Value::Array(a) => {
            if name.is_none() {
                out.extend(a.iter());
            }
            for x in a {
                descend(name, x, out);
            }
        }
        _ => {}
    }
}

fn parse_segments(mut rest: &str) -> Result<Vec<Segment>, String> {
    let mut segs = Vec::new();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("..") {
            let (name, r2) = take_name(r);
            if name.is_empty() {
                return Err("'..' must be followed by a name or '*'".into());
            }
            segs.push(Segment::Descend(if name == "*" {
                None
            } else {
                Some(name.to_string())
            }));
            rest = r2;
        } else if let Some(r) = rest.strip_prefix('.') {
            let (name, r2) = take_name(r);
            if name.is_empty() {
                return Err("empty field name after '.'".into());
            }
            if name.ends_with("()") {
                return Err(format!("path functions such as {name} are not supported"));
            }
            segs.push(if name == "*" {
                Segment::Wildcard
            } else {
                Segment::Field(name.to_string())
            });
            rest = r2;
        } else if let Some(r) = rest.strip_prefix('[') {
            let (inner, r2) = take_bracket(r)?;
            segs.push(parse_bracket(inner.trim())?);
            rest = r2;
        } else {
            return Err(format!("unexpected {rest:?}"));
        }
    }
    Ok(segs)
}

fn take_name(s: &str) -> (&str, &str) {
    let end = s.find(['.', '[']).unwrap_or(s.len());
    s.split_at(end)
}

fn take_bracket(s: &str) -> Result<(&str, &str), String> {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    // Brackets nest inside a filter (`[?(@.a[0] > 1)]`).
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match (quote, c) {
            (Some(_), '\\') => escaped = true,
            (Some(q), c) if c == q => quote = None,
            (None, '\'' | '"') => quote = Some(c),
            (None, '[') => depth += 1,
            (None, ']') if depth > 0 => depth -= 1,
            (None, ']') => return Ok((&s[..i], &s[i + 1..])),
            _ => {}
        }
    }
    Err("unclosed '['".into())
}

/// `?(...)` inside brackets.
fn parse_filter(inner: &str) -> Result<Segment, String> {
    let body = inner
        .strip_prefix('?')
        .map(str::trim)
        .and_then(|b| b.strip_prefix('('))
        .and_then(|b| b.strip_suffix(')'))
        .ok_or_else(|| format!("filter {inner:?} must be written ?(...)"))?;
    let alternatives = split_top_str(body, "||")
        .into_iter()
        .map(|any| {
            split_top_str(any, "&&")
                .into_iter()
                .map(|one| parse_condition(one.trim()))
                .collect::<Result<Vec<_>, _>>()
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Segment::Filter(Filter(alternatives)))
}

fn parse_condition(text: &str) -> Result<Condition, String> {
    const OPERATORS: [(&str, Comparison); 6] = [
        ("==", Comparison::Eq),
        ("!=", Comparison::Ne),
        ("<=", Comparison::Le),
        (">=", Comparison::Ge),
        ("<", Comparison::Lt),
        (">", Comparison::Gt),
    ];
    let found = OPERATORS.iter().find_map(|(token, op)| {
        let parts = split_top_str(text, token);
        (parts.len() == 2).then(|| (parts[0].trim(), *op, parts[1].trim()))
    });
    let (lhs, test) = match found {
        Some((lhs, op, rhs)) => (lhs, Some((op, literal(rhs)?))),
        None => (text, None),
    };
    if lhs.contains(|c: char| c.is_whitespace() || "=!<>~/".contains(c)) {
        return Err(format!("filter condition {text:?} is not supported"));
    }
    let relative = lhs
        .strip_prefix('@')
        .ok_or_else(|| format!("filter condition {text:?} must start with '@'"))?;
    let path = parse_segments(relative)?;
    if !path
        .iter()
        .all(|s| matches!(s, Segment::Field(_) | Segment::Index(_)))
    {
        return Err(format!("filter path {lhs:?} must name one node"));
    }
    Ok(Condition { path, test })
}

fn literal(text: &str) -> Result<Value, String> {
    if let Some(q) = text.chars().next().filter(|c| *c == '\'' || *c == '"') {
        return match parse_one(text)? {
            Segment::Field(s) if text.ends_with(q) => Ok(Value::String(s)),
            _ => Err(format!("bad string {text:?}")),
        };
    }
    match serde_json::from_str::<Value>(text) {
        Ok(v @ (Value::Number(_) | Value::Bool(_) | Value::Null)) => Ok(v),
        _ => Err(format!(
            "filter value {text:?} is not a number, string, boolean or null"
        )),
    }
}

/// [`split_top`] on a separator of several characters.
fn split_top_str<'a>(s: &'a str, sep: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut quote: Option<char> = None;
    let mut start = 0;
    let mut i = 0;
    while i < s.len() {
        let c = s[i..].chars().next().expect("within the string");
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '\'' | '"') => quote = Some(c),
            (None, _) if s[i..].starts_with(sep) => {
                out.push(&s[start..i]);
                i += sep.len();
                start = i;
                continue;
            }
            _ => {}
        }
        i += c.len_utf8();
    }
    out.push(&s[start..]);
    out
}

fn parse_bracket(inner: &str) -> Result<Segment, String> {
    if inner == "*" {
        return Ok(Segment::Wildcard);
    }
    if inner.starts_with('?') {
        return parse_filter(inner);
    }
    if inner.starts_with('(') {
        return Err("script expressions are not supported".into());
    }
    let parts = split_top(inner, ',');
    if parts.len() > 1 {
        return parts
            .iter()
            .map(|p| parse_one(p.trim()))
            .collect::<Result<_, _>>()
            .map(Segment::Union);
    }
    if !inner.starts_with(['\'', '"']) && inner.contains(':') {
        let (a, b) = inner.split_once(':').unwrap_or((inner, ""));
        if b.contains(':') {
            return Err("slice steps are not supported".into());
        }
        let num = |t: &str| -> Result<Option<i64>, String> {
            let t = t.trim();
            if t.is_empty() {
                Ok(None)
            } else {
                t.parse()
                    .map(Some)
                    .map_err(|_| format!("bad slice bound {t:?}"))
            }
        };
        return Ok(Segment::Slice(num(a)?, num(b)?));
    }
    parse_one(inner)
}

fn parse_one(p: &str) -> Result<Segment, String> {
    if let Some(q) = p.chars().next().filter(|c| *c == '\'' || *c == '"') {
        let body = p
            .strip_prefix(q)
            .and_then(|b| b.strip_suffix(q))
            .ok_or_else(|| format!("bad quoted name {p}"))?;
        // A backslash escapes only the quote that encloses the name; anywhere else it is
        // part of the name, as AWS reads it (`$['Test\""Name"']`, issue 14).
        let mut name = String::new();
        let mut chars = body.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\\' && chars.peek() == Some(&q) {
                name.extend(chars.next());
            } else {
                name.push(c);
            }
        }
        return Ok(Segment::Field(name));
    }
    p.parse::<i64>()
        .map(Segment::Index)
        .map_err(|_| format!("bad index {p:?}"))
}

fn split_top(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let mut quote: Option<char> = None;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '\'' | '"') => quote = Some(c),
            (None, c) if c == sep => {
                out.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(p: &str, doc: &Value) -> Option<Value> {
        Path::parse(p).unwrap().read(doc)
    }

    #[test]
    fn reads_the_documented_forms() {
        let doc =
            json!({"a": {"b": [10, 20, {"c": 1}]}, "xs": [{"id": 1}, {"id": 2}], "my key": 5});
        assert_eq!(read("$", &doc), Some(doc.clone()));
        assert_eq!(read("$.a.b[1]", &doc), Some(json!(20)));
        assert_eq!(read("$.a.b[-1].c", &doc), Some(json!(1)));
        assert_eq!(read("$['my key']", &doc), Some(json!(5)));
        assert_eq!(read("$.xs[*].id", &doc), Some(json!([1, 2])));
        assert_eq!(read("$.a.b[0:2]", &doc), Some(json!([10, 20])));
        assert_eq!(read("$.a.b[0,1]", &doc), Some(json!([10, 20])));
        assert_eq!(read("$..id", &doc), Some(json!([1, 2])));
        assert_eq!(read("$.missing", &doc), None);
        assert_eq!(read("$.xs[*].nope", &doc), Some(json!([])));
    }

    // As recorded on AWS (issue 14): a backslash that escapes nothing is part of the key.
    #[test]
    fn a_backslash_in_a_bracketed_key_is_literal_unless_it_escapes_the_quote() {
        let doc = json!({"Test\\\"\"Name\"": 1, "it's": 2});
        assert_eq!(read(r#"$['Test\""Name"']"#, &doc), Some(json!(1)));
        assert_eq!(read(r"$['it\'s']", &doc), Some(json!(2)));
    }

    // AWS quotes Jayway's words after "Invalid path '…' : " (recorded: LocalStack's
    // test_invalid_jsonpath and test_catch_states_runtime snapshots, taken on AWS).
    #[test]
    fn a_path_that_names_nothing_says_why_as_jayway_does() {
        let not_found = |p: &str, doc: Value| Path::parse(p).unwrap().not_found(&doc);
        assert_eq!(
            not_found("$.NoSuchInputPath", json!({"int-literal": 0})),
            "No results for path: $['NoSuchInputPath']"
        );
        assert_eq!(
            not_found("$.no.such.result.path", json!({})),
            "Missing property in path $['no']"
        );
        assert_eq!(
            not_found("$.a.b", json!({"a": {}})),
            "No results for path: $['a']['b']"
        );
        assert_eq!(
            not_found("$.a[5].b", json!({"a": [1]})),
            "No results for path: $['a'][5]['b']"
        );
        assert_eq!(
            not_found("$.a.b", json!({"a": "text"})),
            "Expected to find an object with property ['b'] in path $['a'] but found 'string'."
        );
    }

    #[test]
    fn filters_select_the_elements_that_match() {
        // The Developer Guide's example (InputPath, "Using JsonPath filter expressions").
        let doc = json!({"items": [
            {"name": "a", "price": 5, "kind": "book", "tags": ["x"]},
            {"name": "b", "price": 15, "kind": "book"},
            {"name": "c", "price": 8, "kind": "pen", "stock": null},
            {"name": "d", "price": "9"}
        ]});
        let names = |p: &str| {
            let found = read(p, &doc).unwrap();
            found
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v["name"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names("$.items[?(@.price < 10)]"),
            ["a", "c"],
            "a string never compares with a number"
        );
        assert_eq!(
            names("$.items[?(@.price <= 15 && @.kind == 'book')]"),
            ["a", "b"]
        );
        assert_eq!(
            names("$.items[?(@.kind == \"pen\" || @.price > 10)]"),
            ["b", "c"]
        );
        assert_eq!(names("$.items[?(@.stock)]"), ["c"]);
        assert_eq!(names("$.items[?(@.stock == null)]"), ["c"]);
        assert_eq!(names("$.items[?(@.tags[0] == 'x')]"), ["a"]);
        assert_eq!(names("$.items[?(@.kind != 'book')]"), ["c", "d"]);
        assert_eq!(
            read("$.items[?(@.price > 10)].name", &doc),
            Some(json!(["b"]))
        );
        assert!(
            !Path::parse("$.items[?(@.price > 10)]")
                .unwrap()
                .is_definite()
        );
    }

    #[test]
    fn refuses_what_it_does_not_implement() {
        assert!(Path::parse("$.a[?(@.x > $.y)]").is_err());
        assert!(Path::parse("$.a[?(@.x =~ /a/)]").is_err());
        assert!(Path::parse("$.a[?(@..x)]").is_err());
        assert!(Path::parse("$.a[(@.length-1)]").is_err());
        assert!(Path::parse("$.a.length()").is_err());
        assert!(Path::parse("a.b").is_err());
        assert!(Path::parse_reference("$.a[*]").is_err());
        assert_eq!(Path::parse("$$.Execution.Id").unwrap().root, Root::Context);
    }

    #[test]
    fn writes_create_missing_objects_and_refuse_scalars() {
        let mut doc = json!({"a": 1});
        Path::parse("$.x.y")
            .unwrap()
            .write(&mut doc, json!(2))
            .unwrap();
        assert_eq!(doc, json!({"a": 1, "x": {"y": 2}}));
        assert!(
            Path::parse("$.a.b")
                .unwrap()
                .write(&mut doc, json!(3))
                .is_err()
        );
        let mut root = json!("s");
        Path::parse("$")
            .unwrap()
            .write(&mut root, json!({"k": 1}))
            .unwrap();
        assert_eq!(root, json!({"k": 1}));
    }
}
