//! The `States.*` error names and the (error, cause) pair a failing state carries.

use serde::{Deserialize, Serialize};

/// Matches any error except `States.Runtime`.
pub const ALL: &str = "States.ALL";
/// A task failed; as a matcher, any error except `States.Timeout` (AWS documents it so)
/// and `States.QueryEvaluationError` (as measured).
pub const TASK_FAILED: &str = "States.TaskFailed";
/// A task ran longer than `TimeoutSeconds`, or the execution ran past its `TimeoutSeconds`.
pub const TIMEOUT: &str = "States.Timeout";
/// A task sent no heartbeat for longer than `HeartbeatSeconds`.
pub const HEARTBEAT_TIMEOUT: &str = "States.HeartbeatTimeout";
/// A task lacked privileges (never raised locally; kept so definitions naming it parse).
pub const PERMISSIONS: &str = "States.Permissions";
/// `ResultPath` could not be applied to the state's input.
pub const RESULT_PATH_MATCH_FAILURE: &str = "States.ResultPathMatchFailure";
/// Documented for a `.$` field in `Parameters` that names a missing path, but never raised:
/// AWS raises `States.Runtime` for that (see `engine::parameter_path_failure` for the
/// sources). Kept so definitions listing it in `ErrorEquals` parse, as they do on AWS.
pub const PARAMETER_PATH_FAILURE: &str = "States.ParameterPathFailure";
/// A branch of a Parallel state failed (the documented name; see `engine` for what we raise).
pub const BRANCH_FAILED: &str = "States.BranchFailed";
/// No Choice rule matched and there is no `Default`.
pub const NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";
/// An intrinsic function failed.
pub const INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
/// A Map state's failures exceeded its tolerated threshold.
pub const EXCEED_TOLERATED_FAILURE_THRESHOLD: &str = "States.ExceedToleratedFailureThreshold";
/// A Distributed Map's ItemReader failed: its object could not be read, or is not what its
/// `InputType` says.
pub const ITEM_READER_FAILED: &str = "States.ItemReaderFailed";
/// A Distributed Map's ResultWriter could not write its results.
pub const RESULT_WRITER_FAILED: &str = "States.ResultWriterFailed";
/// A payload exceeded 256 KiB.
pub const DATA_LIMIT_EXCEEDED: &str = "States.DataLimitExceeded";
/// A JSONata expression failed: it gave nothing, a value of the wrong type, or an error.
pub const QUERY_EVALUATION_ERROR: &str = "States.QueryEvaluationError";
/// An error the execution cannot process (e.g. `InputPath` naming a missing field); never
/// retried or caught, it always fails the execution.
pub const RUNTIME: &str = "States.Runtime";

/// Every built-in error name a Retrier or Catcher may list.
pub const KNOWN: &[&str] = &[
    ALL,
    TASK_FAILED,
    TIMEOUT,
    HEARTBEAT_TIMEOUT,
    PERMISSIONS,
    RESULT_PATH_MATCH_FAILURE,
    PARAMETER_PATH_FAILURE,
    BRANCH_FAILED,
    NO_CHOICE_MATCHED,
    INTRINSIC_FAILURE,
    EXCEED_TOLERATED_FAILURE_THRESHOLD,
    ITEM_READER_FAILED,
    RESULT_WRITER_FAILED,
    DATA_LIMIT_EXCEEDED,
    QUERY_EVALUATION_ERROR,
    RUNTIME,
];

/// An error raised while running a state: the error name and a human-readable cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// The error name, e.g. `States.Timeout` or a Lambda's `errorType`.
    pub error: String,
    /// The cause text (for Lambda errors, a JSON string).
    pub cause: String,
    /// For a JSONata expression that failed, the field it is in (`Output/result`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

impl Failure {
    /// A failure with the given name and cause.
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Failure {
        Failure {
            error: error.into(),
            cause: cause.into(),
            location: None,
        }
    }
}

/// Whether a Retrier's or Catcher's `ErrorEquals` entry matches `error`.
pub fn matches(pattern: &str, error: &str) -> bool {
    // Runtime is matched by nothing, not even by its own name (recorded on AWS).
    // DataLimitExceeded is matched by States.ALL, though the Developer Guide says otherwise:
    // AWS catches a task's oversized result with States.ALL (recorded: LocalStack's
    // test_service_task_lambada_catch_state_all_data_limit_exceeded_on_large_utf8_response).
    if error == RUNTIME {
        return false;
    }
    if pattern == error {
        return true;
    }
    match pattern {
        ALL => true,
        // "acts as a wildcard that matches any known error name except for States.Timeout"
        // (Developer Guide, error names). We read "Timeout" literally: a heartbeat timeout
        // is matched by TaskFailed. Unverified against AWS.
        TASK_FAILED => error != TIMEOUT && error != QUERY_EVALUATION_ERROR,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_follow_the_documented_exceptions() {
        assert!(matches(ALL, "Keiyaku.Cancelled"));
        assert!(matches(ALL, TIMEOUT));
        assert!(matches(ALL, DATA_LIMIT_EXCEEDED));
        assert!(matches(DATA_LIMIT_EXCEEDED, DATA_LIMIT_EXCEEDED));
        assert!(!matches(ALL, RUNTIME));
        assert!(!matches(RUNTIME, RUNTIME));
        assert!(matches(TASK_FAILED, "Lambda.Unknown"));
        assert!(!matches(TASK_FAILED, TIMEOUT));
        assert!(!matches(TASK_FAILED, QUERY_EVALUATION_ERROR));
        assert!(matches(ALL, QUERY_EVALUATION_ERROR));
        assert!(!matches("A", "B"));
    }
}
