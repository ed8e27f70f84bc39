//! The parts of a definition written in JSONata (`QueryLanguage: JSONata`): values in which
//! every string that is exactly `{% … %}` is an expression, compiled at load so a malformed
//! one is refused there, as CreateStateMachine refuses it.

use serde_json::Value;

use super::{DefinitionError, Template, child};
use crate::jsonata::{self, Expr};

/// The expression `s` holds, if it is one.
pub(super) fn expr(s: &str, at: &str) -> Result<Option<Expr>, DefinitionError> {
    jsonata::expression(s).map_err(|message| DefinitionError {
        path: at.to_owned(),
        message,
    })
}

/// A JSONata value: literals, with `{% … %}` strings evaluated wherever they are (object
/// keys and `.$` mean nothing special here).
pub(super) fn template(v: &Value, at: &str) -> Result<Template, DefinitionError> {
    Ok(match v {
        Value::String(s) => match expr(s, at)? {
            Some(e) => Template::Jsonata(e),
            None => Template::Literal(v.clone()),
        },
        Value::Object(o) => {
            let mut fields = Vec::with_capacity(o.len());
            for (k, x) in o {
                fields.push((k.clone(), template(x, &child(at, k))?));
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
    })
}

/// Refuses `$states.result` where the field has no result and `$states.errorOutput` outside
/// a Catcher, as AWS does when the machine is created (the Developer Guide; the words are
/// another emulator's measurement).
pub(super) fn check_states(
    t: Option<&Template>,
    at: &str,
    result: bool,
    error_output: bool,
) -> Result<(), DefinitionError> {
    let Some(t) = t else {
        return Ok(());
    };
    match t {
        Template::Jsonata(e) => {
            for field in e.states_fields().unwrap_or_default() {
                let allowed = match field.as_str() {
                    "result" => result,
                    "errorOutput" => error_output,
                    _ => true,
                };
                if !allowed {
                    return Err(DefinitionError {
                        path: at.to_owned(),
                        message: format!(
                            "UNSUPPORTED_JSONATA_EXPRESSION: Field '$states.{field}' does not exist."
                        ),
                    });
                }
            }
            Ok(())
        }
        Template::Object(fields) => fields
            .iter()
            .try_for_each(|(k, t)| check_states(Some(t), &child(at, k), result, error_output)),
        Template::Array(items) => items.iter().enumerate().try_for_each(|(i, t)| {
            check_states(Some(t), &format!("{at}[{i}]"), result, error_output)
        }),
        _ => Ok(()),
    }
}
