//! Retriers and Catchers: their errors, intervals and targets.

use super::*;

pub(super) fn error_equals(
    o: &Map<String, Value>,
    at: &str,
) -> Result<Vec<String>, DefinitionError> {
    let here = child(at, "ErrorEquals");
    let Some(Value::Array(a)) = o.get("ErrorEquals") else {
        return err(at, "ErrorEquals is required and must be an array");
    };
    if a.is_empty() {
        return err(&here, "must name at least one error");
    }
    let mut out = Vec::new();
    for (i, e) in a.iter().enumerate() {
        let Value::String(s) = e else {
            return err(&format!("{here}[{i}]"), "must be a string");
        };
        if s.starts_with("States.") && !crate::errors::KNOWN.contains(&s.as_str()) {
            return err(&format!("{here}[{i}]"), format!("unknown error name {s}"));
        }
        out.push(s.clone());
    }
    if out.len() > 1 && out.iter().any(|e| e == crate::errors::ALL) {
        return err(&here, "States.ALL must appear alone");
    }
    Ok(out)
}

pub(super) fn check_all_last<'a>(
    lists: impl Iterator<Item = &'a Vec<String>>,
    at: &str,
) -> Result<(), DefinitionError> {
    let lists: Vec<_> = lists.collect();
    for (i, l) in lists.iter().enumerate() {
        if l.iter().any(|e| e == crate::errors::ALL) && i + 1 != lists.len() {
            return err(
                &format!("{at}[{i}].ErrorEquals"),
                "States.ALL must be in the last entry",
            );
        }
    }
    Ok(())
}

pub(super) fn parse_retrier(v: &Value, at: &str) -> Result<Retrier, DefinitionError> {
    let o = obj(v, at)?;
    check_fields(o, at, supported::RETRIER, "a Retrier")?;
    let backoff_rate = match o.get("BackoffRate") {
        None => 2.0,
        Some(b) => match b.as_f64() {
            Some(x) if x >= 1.0 => x,
            _ => {
                return err(
                    &child(at, "BackoffRate"),
                    "must be a number of at least 1.0",
                );
            }
        },
    };
    let full_jitter = match opt_str(o, at, "JitterStrategy")? {
        None | Some("NONE") => false,
        Some("FULL") => true,
        Some(other) => {
            return err(
                &child(at, "JitterStrategy"),
                format!("must be FULL or NONE, not {other:?}"),
            );
        }
    };
    Ok(Retrier {
        error_equals: error_equals(o, at)?,
        interval_seconds: opt_uint(o, at, "IntervalSeconds", 1)?.unwrap_or(1),
        max_attempts: opt_uint(o, at, "MaxAttempts", 0)?.unwrap_or(3),
        backoff_rate,
        max_delay_seconds: opt_uint(o, at, "MaxDelaySeconds", 1)?,
        full_jitter,
    })
}

pub(super) fn parse_catcher(
    v: &Value,
    at: &str,
    language: QueryLanguage,
) -> Result<Catcher, DefinitionError> {
    let o = obj(v, at)?;
    let (allowed, other) = match language {
        QueryLanguage::JsonPath => (supported::CATCHER, supported::CATCHER_JSONATA),
        QueryLanguage::Jsonata => (supported::CATCHER_JSONATA, supported::CATCHER),
    };
    language_fields(o, at, allowed, other, language)?;
    check_fields(o, at, allowed, "a Catcher")?;
    Ok(Catcher {
        error_equals: error_equals(o, at)?,
        next: req_str(o, at, "Next")?.to_string(),
        result_path: result_path(o, at)?,
        assign: assign(o, at, language)?,
        output: opt_value(o, at, "Output", language)?,
    })
}
