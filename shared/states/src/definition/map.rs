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
        reader: item_reader(o, at, language)?,
        writer: result_writer(o, at, language)?,
    })
}

/// A Distributed Map's `ResultWriter` (S3 `putObject` under a `Bucket` and `Prefix`).
fn result_writer(
    o: &Map<String, Value>,
    at: &str,
    language: QueryLanguage,
) -> Result<Option<ResultWriter>, DefinitionError> {
    let Some(w) = o.get("ResultWriter") else {
        return Ok(None);
    };
    let wat = child(at, "ResultWriter");
    let wo = obj(w, &wat)?;
    let (allowed, args_key) = match language {
        QueryLanguage::JsonPath => (supported::RESULT_WRITER, "Parameters"),
        QueryLanguage::Jsonata => (supported::RESULT_WRITER_JSONATA, "Arguments"),
    };
    check_fields(wo, &wat, allowed, "ResultWriter")?;
    match req_str(wo, &wat, "Resource")? {
        "arn:aws:states:::s3:putObject" => {}
        other => {
            return err(
                &child(&wat, "Resource"),
                format!("a ResultWriter writes with arn:aws:states:::s3:putObject, not {other:?}"),
            );
        }
    }
    match wo.get(args_key) {
        Some(v) => Ok(Some(ResultWriter {
            arguments: value_template(v, &child(&wat, args_key), language)?,
        })),
        None => err(&wat, format!("{args_key} (Bucket and Prefix) is required")),
    }
}

/// A Distributed Map's `ItemReader` (S3 `getObject` of a JSON, JSON Lines or CSV object).
fn item_reader(
    o: &Map<String, Value>,
    at: &str,
    language: QueryLanguage,
) -> Result<Option<ItemReader>, DefinitionError> {
    let Some(r) = o.get("ItemReader") else {
        return Ok(None);
    };
    let rat = child(at, "ItemReader");
    let ro = obj(r, &rat)?;
    let (allowed, args_key) = match language {
        QueryLanguage::JsonPath => (supported::ITEM_READER, "Parameters"),
        QueryLanguage::Jsonata => (supported::ITEM_READER_JSONATA, "Arguments"),
    };
    check_fields(ro, &rat, allowed, "ItemReader")?;
    // Where the items come from is the reader's business: a path or expression choosing
    // them as well has no recorded meaning, so it is refused rather than guessed.
    for k in ["ItemsPath", "Items"] {
        if o.contains_key(k) {
            return err(
                &child(at, k),
                format!("{k} is not supported together with an ItemReader"),
            );
        }
    }
    let listing = match req_str(ro, &rat, "Resource")? {
        "arn:aws:states:::s3:getObject" => false,
        "arn:aws:states:::s3:listObjectsV2" => true,
        other => {
            return err(
                &child(&rat, "Resource"),
                format!(
                    "an ItemReader reads with arn:aws:states:::s3:getObject or lists with arn:aws:states:::s3:listObjectsV2, not {other:?}"
                ),
            );
        }
    };
    let arguments = match ro.get(args_key) {
        Some(v) => value_template(v, &child(&rat, args_key), language)?,
        None => return err(&rat, format!("{args_key} (Bucket and Key) is required")),
    };
    let cat = child(&rat, "ReaderConfig");
    let empty = Map::new();
    let co = match ro.get("ReaderConfig") {
        Some(c) => obj(c, &cat)?,
        // A listing needs no configuration.
        None if listing => &empty,
        None => return err(&rat, "ReaderConfig (InputType) is required"),
    };
    let config_fields = match language {
        QueryLanguage::JsonPath => supported::READER_CONFIG,
        QueryLanguage::Jsonata => supported::READER_CONFIG_JSONATA,
    };
    check_fields(co, &cat, config_fields, "ReaderConfig")?;
    let source = if listing {
        let object_only = [
            "InputType",
            "CSVHeaderLocation",
            "CSVHeaders",
            "CSVDelimiter",
        ];
        if let Some(k) = object_only.iter().find(|k| co.contains_key(**k)) {
            return err(
                &child(&cat, k),
                format!("{k} belongs to an ItemReader that reads an object (s3:getObject)"),
            );
        }
        ItemSource::Listing
    } else {
        ItemSource::Object(input_type(co, &cat)?)
    };
    // MaxItems reaches 100,000,000 (recorded), past the 99,999,999 of other counts.
    let max_items = match co.get("MaxItems") {
        Some(v) if v.is_number() && !co.contains_key("MaxItemsPath") => match v.as_u64() {
            Some(n) if n <= MAX_ITEMS => Some(Seconds::Fixed(n)),
            _ => {
                return err(
                    &child(&cat, "MaxItems"),
                    format!("must be an integer from 0 to {MAX_ITEMS}"),
                );
            }
        },
        _ => seconds(co, &cat, "MaxItems", 0, language)?,
    };
    Ok(Some(ItemReader {
        arguments,
        source,
        max_items,
    }))
}

/// How a `ReaderConfig` reads its object's text: `InputType` and, for CSV, the headers and
/// the delimiter.
fn input_type(co: &Map<String, Value>, cat: &str) -> Result<InputType, DefinitionError> {
    let csv_only = ["CSVHeaderLocation", "CSVHeaders", "CSVDelimiter"];
    let input_type = match req_str(co, cat, "InputType")? {
        "JSON" => InputType::Json,
        "JSONL" => InputType::Jsonl,
        "CSV" => {
            let headers = match opt_str(co, cat, "CSVHeaderLocation")? {
                Some("FIRST_ROW") if !co.contains_key("CSVHeaders") => None,
                Some("GIVEN") => {
                    let hat = child(cat, "CSVHeaders");
                    let headers: Option<Vec<String>> = co
                        .get("CSVHeaders")
                        .and_then(Value::as_array)
                        .and_then(|a| a.iter().map(|h| h.as_str().map(str::to_owned)).collect());
                    match headers {
                        Some(h) if !h.is_empty() => Some(h),
                        _ => return err(&hat, "GIVEN headers are a non-empty array of strings"),
                    }
                }
                Some("FIRST_ROW") => {
                    return err(
                        &child(cat, "CSVHeaders"),
                        "CSVHeaders belongs to CSVHeaderLocation GIVEN",
                    );
                }
                _ => return err(cat, "CSVHeaderLocation is FIRST_ROW or GIVEN"),
            };
            let delimiter = match opt_str(co, cat, "CSVDelimiter")? {
                None | Some("COMMA") => b',',
                Some("PIPE") => b'|',
                Some("SEMICOLON") => b';',
                Some("SPACE") => b' ',
                Some("TAB") => b'\t',
                Some(other) => {
                    return err(
                        &child(cat, "CSVDelimiter"),
                        format!("must be COMMA, PIPE, SEMICOLON, SPACE or TAB, not {other:?}"),
                    );
                }
            };
            InputType::Csv { headers, delimiter }
        }
        t @ ("PARQUET" | "MANIFEST") => {
            return err(
                &child(cat, "InputType"),
                format!("InputType {t} is not supported: JSON, JSONL or CSV"),
            );
        }
        other => {
            return err(
                &child(cat, "InputType"),
                format!("must be CSV, JSON, JSONL, PARQUET or MANIFEST, not {other:?}"),
            );
        }
    };
    if !matches!(input_type, InputType::Csv { .. })
        && let Some(k) = csv_only.iter().find(|k| co.contains_key(**k))
    {
        return err(&child(cat, k), format!("{k} belongs to InputType CSV"));
    }
    Ok(input_type)
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
            "ItemReader",
            "ResultWriter",
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
