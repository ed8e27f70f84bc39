//! A Choice state's rules: JSONPath comparisons (`Variable`, operators, `And`/`Or`/`Not`) or
//! JSONata `Condition`s, each top-level rule with its `Next`, `Assign` and `Output`.

use super::*;

pub(super) fn parse_choice(
    o: &Map<String, Value>,
    at: &str,
    language: QueryLanguage,
) -> Result<ChoiceSpec, DefinitionError> {
    let cat = child(at, "Choices");
    let Some(Value::Array(cs)) = o.get("Choices") else {
        return err(at, "Choices is required and must be an array");
    };
    if cs.is_empty() {
        return err(&cat, "must hold at least one rule");
    }
    let mut choices = Vec::new();
    for (i, c) in cs.iter().enumerate() {
        let here = format!("{cat}[{i}]");
        let co = obj(c, &here)?;
        let next = req_str(co, &here, "Next")?.to_string();
        let rule = match language {
            QueryLanguage::JsonPath => parse_rule(co, &here)?,
            QueryLanguage::Jsonata => condition(co, &here)?,
        };
        choices.push(Choice {
            rule,
            next,
            assign: assign(co, &here, language)?,
            output: opt_value(co, &here, "Output", language)?,
        });
    }
    let default = opt_str(o, at, "Default")?.map(str::to_string);
    Ok(ChoiceSpec { choices, default })
}

/// A JSONata Choice rule's `Condition`: `true`, `false`, or an expression that must give one.
fn condition(o: &Map<String, Value>, at: &str) -> Result<Rule, DefinitionError> {
    language_fields(
        o,
        at,
        supported::CHOICE_RULE_JSONATA,
        supported::CHOICE_RULE,
        QueryLanguage::Jsonata,
    )?;
    check_fields(o, at, supported::CHOICE_RULE_JSONATA, "a Choice rule")?;
    let here = child(at, "Condition");
    match o.get("Condition") {
        Some(v @ Value::Bool(_)) => Ok(Rule::Condition(Template::Literal(v.clone()))),
        Some(Value::String(s)) => match jsonata::expr(s, &here)? {
            Some(e) => Ok(Rule::Condition(Template::Jsonata(e))),
            None => err(&here, "must be true, false or a JSONata expression"),
        },
        Some(_) => err(&here, "must be true, false or a JSONata expression"),
        None => err(at, "Condition is required"),
    }
}

fn parse_rule(o: &Map<String, Value>, at: &str) -> Result<Rule, DefinitionError> {
    let ops = supported::choice_operator_names();
    for k in o.keys() {
        if !supported::CHOICE_RULE.contains(&k.as_str()) && !ops.contains(k) {
            let why = supported::refusal_hint(k)
                .map(str::to_string)
                .unwrap_or_else(|| format!("field {k} is not supported in a Choice rule"));
            return err(&child(at, k), why);
        }
    }
    let present: Vec<&String> = o
        .keys()
        .filter(|k| ops.contains(k) || matches!(k.as_str(), "And" | "Or" | "Not"))
        .collect();
    if present.len() != 1 {
        return err(
            at,
            "a Choice rule needs exactly one of And, Or, Not or a comparison operator",
        );
    }
    let key = present[0].as_str();
    let here = child(at, key);
    let nested = |v: &Value, h: &str| -> Result<Rule, DefinitionError> {
        let no = obj(v, h)?;
        for key in ["Next", "Assign"] {
            if no.contains_key(key) {
                return err(
                    &child(h, key),
                    format!("only top-level Choice rules have {key}"),
                );
            }
        }
        parse_rule(no, h)
    };
    match key {
        "And" | "Or" => {
            let Value::Array(a) = &o[key] else {
                return err(&here, "must be an array");
            };
            if a.is_empty() {
                return err(&here, "must hold at least one rule");
            }
            let rules = a
                .iter()
                .enumerate()
                .map(|(i, r)| nested(r, &format!("{here}[{i}]")))
                .collect::<Result<Vec<_>, _>>()?;
            if o.contains_key("Variable") {
                return err(&child(at, "Variable"), format!("not allowed beside {key}"));
            }
            Ok(if key == "And" {
                Rule::And(rules)
            } else {
                Rule::Or(rules)
            })
        }
        "Not" => Ok(Rule::Not(Box::new(nested(&o[key], &here)?))),
        op => {
            let variable = opt_path(o, at, "Variable", false)?
                .map_or_else(|| err(at, "Variable is required"), Ok)?;
            let v = &o[op];
            let (base, operand) = match op
                .strip_suffix("Path")
                .filter(|b| supported::CHOICE_OPERATORS.contains(b) && supported::has_path_form(b))
            {
                Some(base) => {
                    let Value::String(s) = v else {
                        return err(&here, "must be a path");
                    };
                    (
                        base,
                        Operand::Path(Path::parse(s).map_err(|e| DefinitionError {
                            path: here.clone(),
                            message: e.0,
                        })?),
                    )
                }
                None => {
                    let ok = match op {
                        _ if op.starts_with("Is") => v.is_boolean(),
                        "BooleanEquals" => v.is_boolean(),
                        _ if op.starts_with("Numeric") => v.is_number(),
                        _ if op.starts_with("Timestamp") => v
                            .as_str()
                            .is_some_and(|s| OffsetDateTime::parse(s, &Rfc3339).is_ok()),
                        _ => v.is_string(),
                    };
                    if !ok {
                        return err(&here, format!("{v} is not a valid operand for {op}"));
                    }
                    (op, Operand::Literal(v.clone()))
                }
            };
            Ok(Rule::Compare {
                variable,
                op: base.to_string(),
                operand,
            })
        }
    }
}
