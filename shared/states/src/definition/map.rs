//! A Map state's own fields: its processor (inline or distributed), items and selector,
//! concurrency, and a Distributed Map's label, tolerated failures and batcher.

use super::*;

/// A Distributed Map's fields: `Label`, the tolerated failures and `ItemBatcher`.
fn distributed(
    o: &Map<String, Value>,
    at: &str,
    language: QueryLanguage,
) -> Result<Distributed, DefinitionError> {
    let label = opt_str(o, at, "Label")?;
    if let Some(l) = label {
        // The Developer Guide: at most 40 characters, none of whitespace, brackets,
        // wildcards, special characters or control characters.
        let bad =
            |c: char| c.is_whitespace() || c.is_control() || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c);
        if l.is_empty() || l.chars().count() > 40 || l.chars().any(bad) {
            return err(
                &child(at, "Label"),
                "a Label is 1 to 40 characters, without spaces, brackets, wildcards or special characters",
            );
        }
    }
    let tolerated_percentage = if language == QueryLanguage::Jsonata
        && let Some(Value::String(s)) = o.get("ToleratedFailurePercentage")
        && let Some(e) = jsonata::expr(s, &child(at, "ToleratedFailurePercentage"))?
    {
        Some(Percentage::Expr(e))
    } else {
        match (
            o.get("ToleratedFailurePercentage"),
            opt_path(o, at, "ToleratedFailurePercentagePath", true)?,
        ) {
            (Some(_), Some(_)) => {
                return err(
                    at,
                    "has both ToleratedFailurePercentage and ToleratedFailurePercentagePath",
                );
            }
            (Some(v), None) => match v.as_f64() {
                Some(p) if (0.0..=100.0).contains(&p) => Some(Percentage::Fixed(p)),
                _ => {
                    return err(
                        &child(at, "ToleratedFailurePercentage"),
                        "must be a number from 0 to 100",
                    );
                }
            },
            (None, Some(p)) => Some(Percentage::Path(p)),
            (None, None) => None,
        }
    };
    let batcher = match o.get("ItemBatcher") {
        None => None,
        Some(b) => {
            let bat = child(at, "ItemBatcher");
            let bo = obj(b, &bat)?;
            check_fields(bo, &bat, supported::ITEM_BATCHER, "ItemBatcher")?;
            let batcher = Batcher {
                max_items: seconds(bo, &bat, "MaxItemsPerBatch", 1, language)?,
                max_bytes: seconds(bo, &bat, "MaxInputBytesPerBatch", 1, language)?,
                batch_input: opt_value(bo, &bat, "BatchInput", language)?,
            };
            if batcher.max_items.is_none() && batcher.max_bytes.is_none() {
                return err(
                    &bat,
                    "needs MaxItemsPerBatch or MaxInputBytesPerBatch (or their Path forms)",
                );
            }
            Some(batcher)
        }
    };
    Ok(Distributed {
        label: label.map(str::to_owned),
        tolerated_count: seconds(o, at, "ToleratedFailureCount", 0, language)?,
        tolerated_percentage,
        batcher,
    })
}

pub(super) fn parse_map(
    o: &Map<String, Value>,
    at: &str,
    top: QueryLanguage,
    language: QueryLanguage,
) -> Result<MapSpec, DefinitionError> {
    let (pkey, proc_v) = match (o.get("ItemProcessor"), o.get("Iterator")) {
        (Some(_), Some(_)) => return err(at, "has both ItemProcessor and Iterator"),
        (Some(p), None) => ("ItemProcessor", p),
        (None, Some(p)) => ("Iterator", p),
        (None, None) => return err(at, "ItemProcessor (or Iterator) is required"),
    };
    let pat = child(at, pkey);
    let po = obj(proc_v, &pat)?;
    let mut mode_distributed = false;
    if let Some(cfg) = po.get("ProcessorConfig") {
        let cat = child(&pat, "ProcessorConfig");
        let co = obj(cfg, &cat)?;
        check_fields(co, &cat, supported::PROCESSOR_CONFIG, "ProcessorConfig")?;
        match co.get("Mode").and_then(Value::as_str) {
            None | Some("INLINE") => {}
            Some("DISTRIBUTED") => mode_distributed = true,
            Some(other) => {
                return err(
                    &child(&cat, "Mode"),
                    format!("must be INLINE or DISTRIBUTED, not {other:?}"),
                );
            }
        }
        match (
            mode_distributed,
            co.get("ExecutionType").and_then(Value::as_str),
        ) {
            (true, Some("STANDARD" | "EXPRESS")) | (false, None) => {}
            (true, _) => {
                return err(
                    &cat,
                    "a DISTRIBUTED Map needs ExecutionType STANDARD or EXPRESS",
                );
            }
            (false, Some(_)) => {
                return err(
                    &child(&cat, "ExecutionType"),
                    "only a DISTRIBUTED Map has an ExecutionType",
                );
            }
        }
    }
    let distributed = if mode_distributed {
        Some(Box::new(distributed(o, at, language)?))
    } else {
        let only = [
            "Label",
            "ToleratedFailureCount",
            "ToleratedFailureCountPath",
            "ToleratedFailurePercentage",
            "ToleratedFailurePercentagePath",
            "ItemBatcher",
        ];
        if let Some(k) = only.iter().find(|k| o.contains_key(**k)) {
            return err(
                &child(at, k),
                format!("{k} belongs to a DISTRIBUTED Map (ProcessorConfig.Mode)"),
            );
        }
        None
    };
    let processor = Box::new(parse_machine(po, &pat, true, top)?);
    let item_selector = match (o.get("ItemSelector"), o.get("Parameters")) {
        (Some(_), Some(_)) => return err(at, "has both ItemSelector and Parameters"),
        (Some(v), None) => Some(value_template(v, &child(at, "ItemSelector"), language)?),
        (None, Some(v)) => Some(template(v, &child(at, "Parameters"))?),
        (None, None) => None,
    };
    let items_path = opt_path(o, at, "ItemsPath", true)?
        .unwrap_or_else(|| Path::parse("$").expect("'$' parses"));
    let max_concurrency =
        seconds(o, at, "MaxConcurrency", 0, language)?.unwrap_or(Seconds::Fixed(0));
    Ok(MapSpec {
        distributed,
        items: opt_value(o, at, "Items", language)?,
        items_path,
        item_selector,
        processor,
        max_concurrency,
    })
}
