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
