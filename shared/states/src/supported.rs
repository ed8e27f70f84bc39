//! The fields, operators, resources and intrinsic functions the engine implements. The
//! parser refuses anything else, and `SUPPORTED.md` (checked by a test) lists the same.

/// Top-level fields of a state machine.
pub const TOP_LEVEL: &[&str] = &[
    "Comment",
    "StartAt",
    "States",
    "TimeoutSeconds",
    "Version",
    "QueryLanguage",
];
/// Fields of a Parallel branch or a Map `ItemProcessor` / `Iterator`.
pub const BRANCH: &[&str] = &["Comment", "StartAt", "States", "ProcessorConfig"];
/// Fields of a Pass state.
pub const PASS: &[&str] = &[
    "Type",
    "Comment",
    "QueryLanguage",
    "Assign",
    "Next",
    "End",
    "InputPath",
    "OutputPath",
    "ResultPath",
    "Parameters",
    "Result",
];
/// Fields of a Task state.
pub const TASK: &[&str] = &[
    "Type",
    "Comment",
    "QueryLanguage",
    "Assign",
    "Next",
    "End",
    "InputPath",
    "OutputPath",
    "ResultPath",
    "Parameters",
    "ResultSelector",
    "Retry",
    "Catch",
    "Resource",
    "TimeoutSeconds",
    "TimeoutSecondsPath",
    "HeartbeatSeconds",
    "HeartbeatSecondsPath",
];
/// Fields of a Choice state.
pub const CHOICE: &[&str] = &[
    "Type",
    "Comment",
    "QueryLanguage",
    "Assign",
    "InputPath",
    "OutputPath",
    "Choices",
    "Default",
];
/// Fields of a Wait state.
pub const WAIT: &[&str] = &[
    "Type",
    "Comment",
    "QueryLanguage",
    "Assign",
    "Next",
    "End",
    "InputPath",
    "OutputPath",
    "Seconds",
    "SecondsPath",
    "Timestamp",
    "TimestampPath",
];
/// Fields of a Succeed state.
pub const SUCCEED: &[&str] = &[
    "Type",
    "Comment",
    "QueryLanguage",
    "InputPath",
    "OutputPath",
];
/// Fields of a Fail state.
pub const FAIL: &[&str] = &[
    "Type",
    "Comment",
    "QueryLanguage",
    "Error",
    "ErrorPath",
    "Cause",
    "CausePath",
];
/// Fields of a Parallel state.
pub const PARALLEL: &[&str] = &[
    "Type",
    "Comment",
    "QueryLanguage",
    "Assign",
    "Next",
    "End",
    "InputPath",
    "OutputPath",
    "ResultPath",
    "Parameters",
    "ResultSelector",
    "Retry",
    "Catch",
    "Branches",
];
/// Fields of a Map state (inline mode).
pub const MAP: &[&str] = &[
    "Type",
    "Comment",
    "QueryLanguage",
    "Assign",
    "Next",
    "End",
    "InputPath",
    "OutputPath",
    "ResultPath",
    "Parameters",
    "ItemSelector",
    "ResultSelector",
    "Retry",
    "Catch",
    "ItemsPath",
    "MaxConcurrency",
    "MaxConcurrencyPath",
    "ItemProcessor",
    "Iterator",
    "Label",
    "ToleratedFailureCount",
    "ToleratedFailureCountPath",
    "ToleratedFailurePercentage",
    "ToleratedFailurePercentagePath",
    "ItemBatcher",
    "ItemReader",
    "ResultWriter",
];
/// Fields of a JSONata Pass state.
pub const PASS_JSONATA: &[&str] = &[
    "Type",
    "Comment",
    "QueryLanguage",
    "Assign",
    "Next",
    "End",
    "Output",
];
/// Fields of a JSONata Task state.
pub const TASK_JSONATA: &[&str] = &[
    "Type",
    "Comment",
    "QueryLanguage",
    "Assign",
    "Next",
    "End",
    "Arguments",
    "Output",
    "Retry",
    "Catch",
    "Resource",
    "TimeoutSeconds",
    "HeartbeatSeconds",
];
/// Fields of a JSONata Choice state.
pub const CHOICE_JSONATA: &[&str] = &[
    "Type",
    "Comment",
    "QueryLanguage",
    "Assign",
    "Output",
    "Choices",
    "Default",
];
/// Fields of a JSONata Wait state.
pub const WAIT_JSONATA: &[&str] = &[
    "Type",
    "Comment",
    "QueryLanguage",
    "Assign",
    "Next",
    "End",
    "Output",
    "Seconds",
    "Timestamp",
];
/// Fields of a JSONata Succeed state.
pub const SUCCEED_JSONATA: &[&str] = &["Type", "Comment", "QueryLanguage", "Output"];
/// Fields of a JSONata Fail state.
pub const FAIL_JSONATA: &[&str] = &["Type", "Comment", "QueryLanguage", "Error", "Cause"];
/// Fields of a JSONata Parallel state.
pub const PARALLEL_JSONATA: &[&str] = &[
    "Type",
    "Comment",
    "QueryLanguage",
    "Assign",
    "Next",
    "End",
    "Arguments",
    "Output",
    "Retry",
    "Catch",
    "Branches",
];
/// Fields of a JSONata Map state (inline mode).
pub const MAP_JSONATA: &[&str] = &[
    "Type",
    "Comment",
    "QueryLanguage",
    "Assign",
    "Next",
    "End",
    "Output",
    "Items",
    "ItemSelector",
    "Retry",
    "Catch",
    "MaxConcurrency",
    "ItemProcessor",
    "Iterator",
    "Label",
    "ToleratedFailureCount",
    "ToleratedFailurePercentage",
    "ItemBatcher",
    "ItemReader",
    "ResultWriter",
];
/// Fields of a JSONata Catcher.
pub const CATCHER_JSONATA: &[&str] = &["Comment", "ErrorEquals", "Next", "Output", "Assign"];
/// Fields of a JSONata Choice rule.
pub const CHOICE_RULE_JSONATA: &[&str] = &["Condition", "Next", "Comment", "Output", "Assign"];

/// Fields of a Retrier.
pub const RETRIER: &[&str] = &[
    "Comment",
    "ErrorEquals",
    "IntervalSeconds",
    "MaxAttempts",
    "BackoffRate",
    "MaxDelaySeconds",
    "JitterStrategy",
];
/// Fields of a Catcher.
pub const CATCHER: &[&str] = &["Comment", "ErrorEquals", "Next", "ResultPath", "Assign"];
/// Fields of a Map `ProcessorConfig`.
pub const PROCESSOR_CONFIG: &[&str] = &["Mode", "ExecutionType"];
/// Fields of a Distributed Map's `ItemBatcher`.
pub const ITEM_BATCHER: &[&str] = &[
    "MaxItemsPerBatch",
    "MaxItemsPerBatchPath",
    "MaxInputBytesPerBatch",
    "MaxInputBytesPerBatchPath",
    "BatchInput",
];
/// Fields of a Distributed Map's `ItemReader`.
pub const ITEM_READER: &[&str] = &["Resource", "ReaderConfig", "Parameters"];
/// Fields of a JSONata Distributed Map's `ItemReader`.
pub const ITEM_READER_JSONATA: &[&str] = &["Resource", "ReaderConfig", "Arguments"];
/// Fields of a Distributed Map's `ResultWriter`.
pub const RESULT_WRITER: &[&str] = &["Resource", "Parameters"];
/// Fields of a JSONata Distributed Map's `ResultWriter`.
pub const RESULT_WRITER_JSONATA: &[&str] = &["Resource", "Arguments"];
/// Fields of an ItemReader's `ReaderConfig`.
pub const READER_CONFIG: &[&str] = &[
    "InputType",
    "CSVHeaderLocation",
    "CSVHeaders",
    "CSVDelimiter",
    "MaxItems",
    "MaxItemsPath",
];
/// Fields of a JSONata ItemReader's `ReaderConfig`.
pub const READER_CONFIG_JSONATA: &[&str] = &[
    "InputType",
    "CSVHeaderLocation",
    "CSVHeaders",
    "CSVDelimiter",
    "MaxItems",
];
/// Choice comparison operators; each except `StringMatches` and the `Is*` tests also has a
/// `...Path` form comparing with another path.
pub const CHOICE_OPERATORS: &[&str] = &[
    "StringEquals",
    "StringLessThan",
    "StringGreaterThan",
    "StringLessThanEquals",
    "StringGreaterThanEquals",
    "StringMatches",
    "NumericEquals",
    "NumericLessThan",
    "NumericGreaterThan",
    "NumericLessThanEquals",
    "NumericGreaterThanEquals",
    "BooleanEquals",
    "TimestampEquals",
    "TimestampLessThan",
    "TimestampGreaterThan",
    "TimestampLessThanEquals",
    "TimestampGreaterThanEquals",
    "IsNull",
    "IsPresent",
    "IsNumeric",
    "IsString",
    "IsBoolean",
    "IsTimestamp",
];
/// Fields of a Choice rule besides the operators.
pub const CHOICE_RULE: &[&str] = &["Variable", "Next", "Comment", "Assign", "And", "Or", "Not"];
/// Task resources (besides plain Lambda function ARNs and unresolved `${Name}` placeholders).
pub const RESOURCES: &[&str] = &[
    "arn:aws:states:::lambda:invoke",
    "arn:aws:states:::lambda:invoke.waitForTaskToken",
];
/// `Parameters` fields of the `lambda:invoke` integrations.
pub const LAMBDA_PARAMETERS: &[&str] = &["FunctionName", "Payload", "Qualifier", "LogType"];

/// Every operator name including the `...Path` forms.
pub fn choice_operator_names() -> Vec<String> {
    let mut out: Vec<String> = CHOICE_OPERATORS.iter().map(|s| s.to_string()).collect();
    out.extend(
        CHOICE_OPERATORS
            .iter()
            .filter(|o| has_path_form(o))
            .map(|o| format!("{o}Path")),
    );
    out
}

/// Whether `op` has a `...Path` form.
pub fn has_path_form(op: &str) -> bool {
    op != "StringMatches" && !op.starts_with("Is")
}

/// The named lists, as `SUPPORTED.md` groups them.
pub fn tables() -> Vec<(&'static str, Vec<String>)> {
    let own = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    vec![
        ("top level", own(TOP_LEVEL)),
        ("branch", own(BRANCH)),
        ("Pass", own(PASS)),
        ("Task", own(TASK)),
        ("Choice", own(CHOICE)),
        ("Wait", own(WAIT)),
        ("Succeed", own(SUCCEED)),
        ("Fail", own(FAIL)),
        ("Parallel", own(PARALLEL)),
        ("Map", own(MAP)),
        ("Pass (JSONata)", own(PASS_JSONATA)),
        ("Task (JSONata)", own(TASK_JSONATA)),
        ("Choice (JSONata)", own(CHOICE_JSONATA)),
        ("Wait (JSONata)", own(WAIT_JSONATA)),
        ("Succeed (JSONata)", own(SUCCEED_JSONATA)),
        ("Fail (JSONata)", own(FAIL_JSONATA)),
        ("Parallel (JSONata)", own(PARALLEL_JSONATA)),
        ("Map (JSONata)", own(MAP_JSONATA)),
        ("Retrier", own(RETRIER)),
        ("Catcher", own(CATCHER)),
        ("Catcher (JSONata)", own(CATCHER_JSONATA)),
        ("ProcessorConfig", own(PROCESSOR_CONFIG)),
        ("ItemBatcher", own(ITEM_BATCHER)),
        ("ItemReader", own(ITEM_READER)),
        ("ItemReader (JSONata)", own(ITEM_READER_JSONATA)),
        ("ReaderConfig", own(READER_CONFIG)),
        ("ReaderConfig (JSONata)", own(READER_CONFIG_JSONATA)),
        ("ResultWriter", own(RESULT_WRITER)),
        ("ResultWriter (JSONata)", own(RESULT_WRITER_JSONATA)),
        ("Choice rule", own(CHOICE_RULE)),
        ("Choice rule (JSONata)", own(CHOICE_RULE_JSONATA)),
        ("Choice operators", choice_operator_names()),
        ("Task resources", own(RESOURCES)),
        ("lambda:invoke Parameters", own(LAMBDA_PARAMETERS)),
        ("Intrinsic functions", own(crate::intrinsics::SUPPORTED)),
        ("Errors", own(crate::errors::KNOWN)),
    ]
}

/// Why a well-known AWS field is refused, for a clearer message than "not supported".
pub fn refusal_hint(field: &str) -> Option<&'static str> {
    Some(match field {
        "Assign" => {
            "Assign is not allowed here (Succeed and Fail states, Retriers and nested Choice rules assign no variables)"
        }
        "Credentials" => "cross-account Credentials are not supported",
        "WriterConfig" => {
            "a ResultWriter's WriterConfig is not supported: results are written whole (Transformation NONE), as JSON"
        }
        "ItemsPointer" => {
            "ItemsPointer is not supported: the JSON object must be the array of items"
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    /// Reads SUPPORTED.md's table: row title → the backticked names of the second column.
    fn markdown_rows() -> Vec<(String, BTreeSet<String>)> {
        let text = include_str!("../SUPPORTED.md");
        let mut out = Vec::new();
        for line in text.lines().filter(|l| l.starts_with('|')) {
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            if cells.len() < 2 || cells[0] == "Where" || cells[0].starts_with("---") {
                continue;
            }
            let names = cells[1]
                .split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_string)
                .collect();
            out.push((cells[0].to_string(), names));
        }
        out
    }

    #[test]
    fn supported_md_matches_the_code() {
        let doc = markdown_rows();
        let code = super::tables();
        let doc_titles: Vec<&str> = doc.iter().map(|(t, _)| t.as_str()).collect();
        let code_titles: Vec<&str> = code.iter().map(|(t, _)| *t).collect();
        assert_eq!(
            doc_titles, code_titles,
            "SUPPORTED.md rows and supported::tables() differ"
        );
        for ((title, names), (_, list)) in doc.iter().zip(&code) {
            let list: BTreeSet<String> = list.iter().cloned().collect();
            assert_eq!(
                names, &list,
                "SUPPORTED.md row {title:?} differs from the code"
            );
        }
    }
}
