//! The JSONPath subset Step Functions accepts in `InputPath`, `OutputPath`, `ItemsPath`,
//! `*Path` fields, `.$` template values and intrinsic arguments, plus Reference Paths (the
//! wildcard-free kind `ResultPath` and Choice `Variable` use).
//!
//! AWS evaluates paths with Jayway JsonPath. We implement the parts its documentation shows:
//! `$`, `$$` (the context object), `.name`, `['name']`, `[n]` (negative counts from the end),
//! `[*]` / `.*`, `[a:b]` slices, `[0,1]` unions and `..name` descent. Filter expressions
//! (`[?(...)]`) and functions (`.length()`) are refused when the definition is parsed.

use serde_json::{Map, Value};

/// Which document a path reads: the state's input (`$`) or the context object (`$$`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Root {
    /// `$`: the data being processed.
    Input,
    /// `$$`: the context object.
    Context,
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
            (Root::Input, rest)
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
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match (quote, c) {
            (Some(_), '\\') => escaped = true,
            (Some(q), c) if c == q => quote = None,
            (None, '\'' | '"') => quote = Some(c),
            (None, ']') => return Ok((&s[..i], &s[i + 1..])),
            _ => {}
        }
    }
    Err("unclosed '['".into())
}

fn parse_bracket(inner: &str) -> Result<Segment, String> {
    if inner == "*" {
        return Ok(Segment::Wildcard);
    }
    if inner.starts_with('?') || inner.starts_with('(') {
        return Err("filter and script expressions are not supported".into());
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
        let mut name = String::new();
        let mut chars = body.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
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

    #[test]
    fn refuses_what_it_does_not_implement() {
        assert!(Path::parse("$.a[?(@.x > 1)]").is_err());
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
