//! A Distributed Map's ItemReader: the Map Run starts, the driver reads the object (an
//! `S3GetObject` task) whose text becomes the items — a JSON array, JSON Lines, or CSV rows
//! — or lists the objects under a prefix (an `S3ListObjectsV2` task), each an item. As
//! recorded on AWS: `MapStateStarted` has length 0, no task events are logged for the read,
//! and a reader failure is `MapRunFailed` with `States.ItemReaderFailed`, then
//! `MapStateFailed`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::distributed::{self, Batching, run_failed, s3_task};
use super::step::selected;
use super::{
    Cx, DistributedRun, Field, Frame, Invocation, MapRun, Outcome, Step, evaluate, evaluating,
    map_progress, state,
};
use crate::definition::{
    Distributed, InputType, Integration, ItemReader, ItemSource, Kind, MAX_ITEMS, Machine,
    QueryLanguage, State,
};
use crate::errors::{self, Failure};
use crate::history::EventType;

/// A Map waiting for its ItemReader's object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Reading {
    /// The read, as a task of the driver's.
    pub(super) invocation: Invocation,
    /// The Map Run the items will feed.
    run: Box<DistributedRun>,
    batching: Option<Batching>,
    /// The Map's concurrency.
    limit: usize,
    /// `MaxItems` (0: every item).
    max_items: u64,
    /// The Map's effective input, which its ItemSelector reads.
    effective: Value,
}

/// After `MapStateStarted`: reads `MaxItems`, starts the Map Run and asks the driver for
/// the object.
pub(super) fn request(
    frame: &mut Frame,
    st: &State,
    (d, reader): (&Distributed, &ItemReader),
    effective: Value,
    limit: usize,
    cx: &mut Cx<'_>,
) -> Outcome {
    let active = frame.active.as_ref().expect("active");
    // A MaxItemsPath that is no integer fails the state before the run starts (recorded).
    let max_items = match &reader.max_items {
        None => Ok(0),
        Some(s) => evaluating(&effective, active, cx, Field::default(), |sc, rng| {
            sc.whole_number(s, "MaxItemsPath", rng, 0)
        }),
    };
    let max_items = match max_items {
        Ok(n) => n,
        Err(f) => return Outcome::Error(f),
    };
    let field = match st.language {
        QueryLanguage::JsonPath => "ItemReader/Parameters",
        QueryLanguage::Jsonata => "ItemReader/Arguments",
    };
    let arguments = match evaluate(
        &reader.arguments,
        &effective,
        active,
        cx,
        Field::named(field),
    ) {
        Ok(v) => v,
        Err(f) => return Outcome::Error(f),
    };
    let (mut run, batching) = match distributed::start(d, &effective, active, cx) {
        Ok(r) => r,
        Err(f) => return Outcome::Error(f),
    };
    run.started_event = Some(cx.emit(
        &mut frame.last_event,
        EventType::MapRunStarted,
        json!({"mapRunArn": run.arn}),
    ));
    if max_items < 0 {
        let f = Failure::new(
            errors::ITEM_READER_FAILED,
            "field MaxItems must be positive",
        );
        return run_failed(frame, cx, f);
    }
    let integration = match reader.source {
        ItemSource::Object(_) => Integration::S3GetObject,
        ItemSource::Listing => Integration::S3ListObjectsV2,
    };
    let state = frame.active.as_ref().expect("active").name.clone();
    let invocation = s3_task(cx, &state, integration, arguments);
    frame.active.as_mut().expect("active").step = Step::Reading(Box::new(Reading {
        invocation,
        run,
        batching,
        limit,
        // AWS reads no more than its limit, even when asked for more (recorded).
        max_items: (max_items as u64).min(MAX_ITEMS),
        effective,
    }));
    Outcome::Blocked
}

/// The read ended: with the object's text (or the listing) the Map Run gets its items and
/// starts its children; a failed read, or an object that is not what its InputType says,
/// fails the run.
pub(super) fn done(
    frame: &mut Frame,
    machine: &Machine,
    cx: &mut Cx<'_>,
    result: Result<&Value, &str>,
) -> Outcome {
    let (st, _) = state(machine, frame);
    let Kind::Map(spec) = &st.kind else {
        return Outcome::Blocked;
    };
    let Some(reader) = spec.distributed.as_ref().and_then(|d| d.reader.as_ref()) else {
        return Outcome::Blocked;
    };
    let active = frame.active.as_mut().expect("active");
    if !matches!(active.step, Step::Reading(_)) {
        return Outcome::Blocked;
    }
    let Step::Reading(reading) = std::mem::replace(&mut active.step, Step::Ready) else {
        return Outcome::Blocked;
    };
    let Reading {
        mut run,
        batching,
        limit,
        max_items,
        effective,
        ..
    } = *reading;
    let items = match (result, &reader.source) {
        (Err(cause), _) => Err(cause.to_owned()),
        (Ok(Value::String(text)), ItemSource::Object(t)) => items_of(text, t),
        (Ok(Value::Array(objects)), ItemSource::Listing) => Ok(objects.clone()),
        (Ok(_), _) => Err("The store answered with something else than was asked for".to_owned()),
    };
    let mut items = match items {
        Ok(items) => items,
        Err(cause) => {
            return run_failed(frame, cx, Failure::new(errors::ITEM_READER_FAILED, cause));
        }
    };
    if max_items > 0 {
        items.truncate(max_items as usize);
    }
    let active = frame.active.as_ref().expect("active");
    let mut inputs = match selected(spec, items, &effective, active, cx) {
        Ok(inputs) => inputs,
        // The run has started: it fails with the state.
        Err(f) => return run_failed(frame, cx, f),
    };
    distributed::fill(&mut run, &mut inputs, batching);
    frame.active.as_mut().expect("active").step = Step::Map(MapRun {
        items: inputs,
        frames: Vec::new(),
        reported: Vec::new(),
        limit,
        run: Some(run),
    });
    map_progress(frame, machine, cx)
}

/// The items an object's text holds, or the cause of the reader's failure.
pub(crate) fn items_of(text: &str, input_type: &InputType) -> Result<Vec<Value>, String> {
    match input_type {
        InputType::Json => match serde_json::from_str(text) {
            Ok(Value::Array(items)) => Ok(items),
            // AWS's words for a JSON object or scalar (recorded).
            Ok(_) => Err("Attempting to map over non-iterable node.".into()),
            Err(e) => Err(format!("The object is not JSON: {e}")),
        },
        InputType::Jsonl => text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                serde_json::from_str(l)
                    .map_err(|e| format!("Line {} of the object is not JSON: {e}", i + 1))
            })
            .collect(),
        InputType::Csv { headers, delimiter } => csv_items(text, headers.as_deref(), *delimiter),
    }
}

/// CSV rows as objects of strings (recorded on AWS): the headers from the first row or as
/// given, each value as written (no trimming, no types), a short row padded with `""`, a
/// long row's extra fields dropped. Keys come in the order of Java's `HashMap`, as AWS's
/// do (`0,True,{}` gives `{"0":…,"{}":…,"True":…}`, recorded).
fn csv_items(text: &str, given: Option<&[String]>, delimiter: u8) -> Result<Vec<Value>, String> {
    let mut rows = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut records = rows.records();
    let headers: Vec<String> = match given {
        Some(h) => h.to_vec(),
        None => match records.next() {
            Some(Ok(first)) => first.iter().map(str::to_owned).collect(),
            Some(Err(e)) => return Err(format!("The CSV object cannot be read: {e}")),
            None => return Ok(Vec::new()),
        },
    };
    let mut seen = std::collections::HashSet::new();
    if !headers.iter().all(|h| seen.insert(h)) {
        return Err("CSV headers cannot contain duplicates.".into());
    }
    let order = java_hash_map_order(&headers);
    let mut items = Vec::new();
    for record in records {
        let record = record.map_err(|e| format!("The CSV object cannot be read: {e}"))?;
        let mut row = Map::new();
        for &i in &order {
            let value = record.get(i).unwrap_or_default();
            row.insert(headers[i].clone(), Value::String(value.to_owned()));
        }
        items.push(Value::Object(row));
    }
    Ok(items)
}

/// The order in which a `java.util.HashMap` holding `keys` (distinct, inserted in order)
/// iterates them: by bucket, then by insertion. A key's bucket is its `String.hashCode`
/// (over UTF-16 code units) spread as `h ^ (h >>> 16)`, masked by the table's size. The
/// table starts at 16 buckets and doubles when it is more than three quarters full, or
/// when a ninth key joins one bucket while it has fewer than 64 (where a larger table would
/// turn that bucket into a tree, whose order this does not follow).
fn java_hash_map_order(keys: &[String]) -> Vec<usize> {
    let hashes: Vec<usize> = keys
        .iter()
        .map(|k| {
            let h = k
                .encode_utf16()
                .fold(0u32, |h, c| h.wrapping_mul(31).wrapping_add(u32::from(c)));
            (h ^ (h >> 16)) as usize
        })
        .collect();
    let mut buckets = 16usize;
    for i in 0..hashes.len() {
        let bucket = hashes[i] & (buckets - 1);
        let sharing = hashes[..i]
            .iter()
            .filter(|h| *h & (buckets - 1) == bucket)
            .count();
        if sharing >= 8 && buckets < 64 {
            buckets *= 2;
        }
        if i + 1 > buckets * 3 / 4 {
            buckets *= 2;
        }
    }
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by_key(|&i| (hashes[i] & (buckets - 1), i));
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(of: &[&str]) -> Vec<String> {
        let owned: Vec<String> = of.iter().map(|s| s.to_string()).collect();
        java_hash_map_order(&owned)
            .into_iter()
            .map(|i| owned[i].clone())
            .collect()
    }

    #[test]
    fn csv_keys_come_in_java_hash_map_order_as_aws_writes_them() {
        // Each as AWS's recorded outputs order them (LocalStack's snapshots, 2023).
        assert_eq!(keys(&["Col1", "Col2", "Col3"]), ["Col1", "Col2", "Col3"]);
        assert_eq!(keys(&["H1", "H2", "H3"]), ["H1", "H2", "H3"]);
        assert_eq!(keys(&["0", "True", "{}"]), ["0", "{}", "True"]);
        assert_eq!(keys(&["H1", ""]), ["", "H1"]);
        // "a" (97) and "q" (113) share a bucket of 16, not of 32: thirteen keys outgrow 16.
        let many: Vec<String> = "abcdefghijklq".chars().map(String::from).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(
            keys(&many),
            [
                "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "q"
            ]
        );
        let twelve = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "q"];
        assert_eq!(
            keys(&twelve),
            ["a", "q", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"]
        );
        // Nine keys in one of 16 buckets: the table doubles, as Java's does before it would
        // make a tree. ("A", "Q", "a", "q", … differ by 16: one bucket of 16, two of 32.)
        let crowd = [
            "A", "Q", "a", "q", "\u{81}", "\u{91}", "\u{a1}", "\u{b1}", "\u{c1}",
        ];
        assert_eq!(
            keys(&crowd),
            [
                "A", "a", "\u{81}", "\u{a1}", "\u{c1}", "Q", "q", "\u{91}", "\u{b1}"
            ]
        );
    }

    #[test]
    fn csv_rows_are_padded_cut_and_kept_as_written() {
        let text =
            "Col1,Col2,Col3\nValue1,Value2,Value3\n,,,\ntrue,1,'HelloWorld'\nNull,None,\n   \n";
        let items = items_of(
            text,
            &InputType::Csv {
                headers: None,
                delimiter: b',',
            },
        )
        .unwrap();
        // AWS's output for this file (recorded).
        assert_eq!(
            Value::Array(items).to_string(),
            r#"[{"Col1":"Value1","Col2":"Value2","Col3":"Value3"},{"Col1":"","Col2":"","Col3":""},{"Col1":"true","Col2":"1","Col3":"'HelloWorld'"},{"Col1":"Null","Col2":"None","Col3":""},{"Col1":"   ","Col2":"","Col3":""}]"#
        );
    }
}
