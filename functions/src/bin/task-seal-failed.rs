//! The workflow task `seal_failed` (`${SealFailedFunctionArn}` in the state machine).

keiyaku_lambda::task_function!(seal_failed, [ITEMS]);
