//! The Task, Wait and Fail states' own fields (Choice's and Map's have modules of their
//! own).

use super::*;

pub(super) fn parse_task(
    o: &Map<String, Value>,
    at: &str,
    language: QueryLanguage,
) -> Result<TaskSpec, DefinitionError> {
    let resource = req_str(o, at, "Resource")?.to_string();
    let integration = match resource.as_str() {
        "arn:aws:states:::lambda:invoke" => Integration::LambdaInvoke,
        "arn:aws:states:::lambda:invoke.waitForTaskToken" => {
            Integration::LambdaInvokeWaitForTaskToken
        }
        r if r.starts_with("arn:aws:lambda:") && r.contains(":function:") => {
            Integration::LambdaFunction
        }
        r if r.starts_with("${") && r.ends_with('}') && !r[2..].contains('$') => {
            Integration::LambdaFunction
        }
        other => {
            return err(
                &child(at, "Resource"),
                format!(
                    "resource {other:?} is not supported (Lambda only: lambda:invoke, lambda:invoke.waitForTaskToken, or a function ARN)"
                ),
            );
        }
    };
    let timeout = seconds(o, at, "TimeoutSeconds", 1, language)?;
    let heartbeat = seconds(o, at, "HeartbeatSeconds", 1, language)?;
    if let (Some(Seconds::Fixed(t)), Some(Seconds::Fixed(h))) = (&timeout, &heartbeat)
        && h >= t
    {
        return err(
            &child(at, "HeartbeatSeconds"),
            "must be smaller than TimeoutSeconds",
        );
    }
    Ok(TaskSpec {
        resource,
        integration,
        timeout,
        heartbeat,
    })
}

pub(super) fn check_task_parameters(
    t: &TaskSpec,
    params: Option<&Template>,
    o: &Map<String, Value>,
    at: &str,
    language: QueryLanguage,
) -> Result<(), DefinitionError> {
    if t.integration == Integration::LambdaFunction {
        return Ok(());
    }
    let (key, token) = match language {
        QueryLanguage::JsonPath => ("Parameters", "$$.Task.Token"),
        QueryLanguage::Jsonata => ("Arguments", "$states.context.Task.Token"),
    };
    let here = child(at, key);
    match o.get(key) {
        Some(Value::Object(p)) => {
            for k in p.keys() {
                let base = k.strip_suffix(".$").unwrap_or(k);
                if !supported::LAMBDA_PARAMETERS.contains(&base) {
                    return err(
                        &child(&here, k),
                        format!("lambda:invoke parameter {base} is not supported"),
                    );
                }
            }
            if !p.contains_key("FunctionName") && !p.contains_key("FunctionName.$") {
                return err(&here, "FunctionName is required");
            }
            if let Some(v) = p.get("LogType") {
                let expression = language == QueryLanguage::Jsonata
                    && v.as_str().is_some_and(|s| s.starts_with("{%"));
                if !expression && !matches!(v.as_str(), Some("None" | "Tail")) {
                    return err(&child(&here, "LogType"), "must be \"None\" or \"Tail\"");
                }
            }
        }
        // A JSONata `Arguments` may be one expression giving the whole object.
        Some(Value::String(_)) if matches!(params, Some(Template::Jsonata(_))) => {}
        _ => {
            return err(
                at,
                format!("{key} with FunctionName is required for lambda:invoke"),
            );
        }
    }
    if t.integration == Integration::LambdaInvokeWaitForTaskToken
        && !params.is_some_and(Template::mentions_task_token)
    {
        return err(
            &here,
            format!("a .waitForTaskToken task must pass {token} in its {key}"),
        );
    }
    Ok(())
}

pub(super) fn parse_wait(
    o: &Map<String, Value>,
    at: &str,
    language: QueryLanguage,
) -> Result<WaitSpec, DefinitionError> {
    let keys = ["Seconds", "SecondsPath", "Timestamp", "TimestampPath"];
    let given: Vec<&str> = keys
        .iter()
        .copied()
        .filter(|k| o.contains_key(*k))
        .collect();
    if given.len() != 1 {
        return err(
            at,
            "a Wait state needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath",
        );
    }
    if language == QueryLanguage::Jsonata
        && let Some(Value::String(s)) = o.get(given[0])
        && let Some(e) = jsonata::expr(s, &child(at, given[0]))?
    {
        return Ok(match given[0] {
            "Seconds" => WaitSpec::SecondsExpr(e),
            _ => WaitSpec::TimestampExpr(e),
        });
    }
    Ok(match given[0] {
        "Seconds" => WaitSpec::Seconds(opt_uint(o, at, "Seconds", 0)?.expect("present")),
        "SecondsPath" => {
            WaitSpec::SecondsPath(opt_path(o, at, "SecondsPath", true)?.expect("present"))
        }
        "Timestamp" => {
            let s = req_str(o, at, "Timestamp")?;
            WaitSpec::Timestamp(
                OffsetDateTime::parse(s, &Rfc3339)
                    .or_else(|_| err(&child(at, "Timestamp"), "must be an RFC 3339 timestamp"))?,
            )
        }
        _ => WaitSpec::TimestampPath(opt_path(o, at, "TimestampPath", true)?.expect("present")),
    })
}

pub(super) fn text(
    o: &Map<String, Value>,
    at: &str,
    key: &str,
    language: QueryLanguage,
) -> Result<Option<Text>, DefinitionError> {
    if language == QueryLanguage::Jsonata
        && let Some(Value::String(s)) = o.get(key)
        && let Some(e) = jsonata::expr(s, &child(at, key))?
    {
        return Ok(Some(Text::Expr(e)));
    }
    let path_key = format!("{key}Path");
    match (opt_str(o, at, key)?, opt_str(o, at, &path_key)?) {
        (Some(_), Some(_)) => err(at, format!("has both {key} and {path_key}")),
        (Some(s), None) => Ok(Some(Text::Fixed(s.to_string()))),
        (None, Some(p)) => {
            let here = child(at, &path_key);
            if intrinsics::looks_like_call(p) {
                intrinsics::parse(p)
                    .map(|c| Some(Text::Call(c)))
                    .map_err(|m| DefinitionError {
                        path: here,
                        message: m,
                    })
            } else {
                Path::parse(p)
                    .map(|p| Some(Text::Path(p)))
                    .map_err(|e| DefinitionError {
                        path: here,
                        message: e.0,
                    })
            }
        }
        (None, None) => Ok(None),
    }
}

pub(super) fn parse_fail(
    o: &Map<String, Value>,
    at: &str,
    language: QueryLanguage,
) -> Result<FailSpec, DefinitionError> {
    Ok(FailSpec {
        error: text(o, at, "Error", language)?,
        cause: text(o, at, "Cause", language)?,
    })
}
