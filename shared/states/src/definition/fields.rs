//! Reading a definition's fields: objects, strings, counts, paths, templates and the
//! `…Path` forms, each refused with its JSON path when it is not what it must be.

use super::*;

/// The JSON path of a field below `base`: dotted when the name allows, bracketed otherwise.
pub(crate) fn child(base: &str, key: &str) -> String {
    if !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        format!("{base}.{key}")
    } else {
        format!("{base}['{}']", key.replace('\'', "\\'"))
    }
}

pub(super) fn obj<'a>(v: &'a Value, at: &str) -> Result<&'a Map<String, Value>, DefinitionError> {
    match v {
        Value::Object(o) => Ok(o),
        _ => err(at, "must be an object"),
    }
}

pub(super) fn check_fields(
    o: &Map<String, Value>,
    at: &str,
    allowed: &[&str],
    what: &str,
) -> Result<(), DefinitionError> {
    for key in o.keys() {
        if !allowed.contains(&key.as_str()) {
            let why = supported::refusal_hint(key)
                .map(str::to_string)
                .unwrap_or_else(|| format!("field {key} is not supported in {what}"));
            return err(&child(at, key), why);
        }
    }
    Ok(())
}

pub(super) fn opt_str<'a>(
    o: &'a Map<String, Value>,
    at: &str,
    key: &str,
) -> Result<Option<&'a str>, DefinitionError> {
    match o.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => err(&child(at, key), "must be a string"),
    }
}

pub(super) fn req_str<'a>(
    o: &'a Map<String, Value>,
    at: &str,
    key: &str,
) -> Result<&'a str, DefinitionError> {
    opt_str(o, at, key)?.map_or_else(|| err(at, format!("{key} is required")), Ok)
}

pub(super) fn opt_uint(
    o: &Map<String, Value>,
    at: &str,
    key: &str,
    min: u64,
) -> Result<Option<u64>, DefinitionError> {
    match o.get(key) {
        None => Ok(None),
        Some(v) => match v.as_u64() {
            Some(n) if n >= min && n <= 99_999_999 => Ok(Some(n)),
            _ => err(
                &child(at, key),
                format!("must be an integer from {min} to 99999999"),
            ),
        },
    }
}

pub(super) fn opt_path(
    o: &Map<String, Value>,
    at: &str,
    key: &str,
    reference: bool,
) -> Result<Option<Path>, DefinitionError> {
    let Some(s) = opt_str(o, at, key)? else {
        return Ok(None);
    };
    let parsed = if reference {
        Path::parse_reference(s)
    } else {
        Path::parse(s)
    };
    parsed.map(Some).map_err(|e| DefinitionError {
        path: child(at, key),
        message: e.0,
    })
}

pub(super) fn data_path(
    o: &Map<String, Value>,
    at: &str,
    key: &str,
) -> Result<DataPath, DefinitionError> {
    match o.get(key) {
        Some(Value::Null) => Ok(DataPath::Null),
        None => Ok(DataPath::Path(Path::parse("$").expect("'$' parses"))),
        Some(_) => Ok(DataPath::Path(
            opt_path(o, at, key, false)?.expect("present"),
        )),
    }
}

pub(super) fn result_path(o: &Map<String, Value>, at: &str) -> Result<ResultPath, DefinitionError> {
    match o.get("ResultPath") {
        Some(Value::Null) => Ok(ResultPath::Discard),
        None => Ok(ResultPath::At(Path::parse("$").expect("'$' parses"))),
        Some(_) => {
            let p = opt_path(o, at, "ResultPath", true)?.expect("present");
            match p.root {
                crate::path::Root::Input => {}
                crate::path::Root::Context => {
                    return err(
                        &child(at, "ResultPath"),
                        "cannot write into the context object",
                    );
                }
                crate::path::Root::Variable(_) => {
                    return err(
                        &child(at, "ResultPath"),
                        "cannot write into a variable (use Assign)",
                    );
                }
            }
            Ok(ResultPath::At(p))
        }
    }
}

/// Compiles a payload template, checking every `.$` value.
pub(crate) fn template(v: &Value, at: &str) -> Result<Template, DefinitionError> {
    let t = match v {
        Value::Object(o) => {
            let mut fields = Vec::with_capacity(o.len());
            for (k, x) in o {
                let here = child(at, k);
                if let Some(name) = k.strip_suffix(".$") {
                    let Value::String(s) = x else {
                        return err(
                            &here,
                            "a field ending in .$ must hold a path or an intrinsic function",
                        );
                    };
                    let t = if intrinsics::looks_like_call(s) {
                        Template::Call(intrinsics::parse(s).map_err(|m| DefinitionError {
                            path: here.clone(),
                            message: m,
                        })?)
                    } else {
                        Template::Path(Path::parse(s).map_err(|e| DefinitionError {
                            path: here.clone(),
                            message: e.0,
                        })?)
                    };
                    fields.push((name.to_string(), t));
                } else {
                    fields.push((k.clone(), template(x, &here)?));
                }
            }
            Template::object(fields, v)
        }
        Value::Array(items) => {
            let ts = items
                .iter()
                .enumerate()
                .map(|(i, x)| template(x, &format!("{at}[{i}]")))
                .collect::<Result<Vec<_>, _>>()?;
            Template::array(ts, v)
        }
        other => Template::Literal(other.clone()),
    };
    Ok(t)
}

pub(super) fn opt_template(
    o: &Map<String, Value>,
    at: &str,
    key: &str,
) -> Result<Option<Template>, DefinitionError> {
    o.get(key).map(|v| template(v, &child(at, key))).transpose()
}

/// A value in the state's language: a payload template (JSONPath) or a JSONata value.
pub(super) fn value_template(
    v: &Value,
    at: &str,
    language: QueryLanguage,
) -> Result<Template, DefinitionError> {
    match language {
        QueryLanguage::JsonPath => template(v, at),
        QueryLanguage::Jsonata => jsonata::template(v, at),
    }
}

pub(super) fn opt_value(
    o: &Map<String, Value>,
    at: &str,
    key: &str,
    language: QueryLanguage,
) -> Result<Option<Template>, DefinitionError> {
    o.get(key)
        .map(|v| value_template(v, &child(at, key), language))
        .transpose()
}

pub(super) fn seconds(
    o: &Map<String, Value>,
    at: &str,
    key: &str,
    min: u64,
    language: QueryLanguage,
) -> Result<Option<Seconds>, DefinitionError> {
    if language == QueryLanguage::Jsonata
        && let Some(Value::String(s)) = o.get(key)
        && let Some(e) = jsonata::expr(s, &child(at, key))?
    {
        return Ok(Some(Seconds::Expr(e)));
    }
    let path_key = format!("{key}Path");
    match (o.contains_key(key), o.contains_key(&path_key)) {
        (true, true) => err(at, format!("has both {key} and {path_key}")),
        (true, false) => Ok(opt_uint(o, at, key, min)?.map(Seconds::Fixed)),
        (false, true) => Ok(opt_path(o, at, &path_key, true)?.map(Seconds::Path)),
        (false, false) => Ok(None),
    }
}
