//! The workflow task `notify` (`${NotifyFunctionArn}` in the state machine).

keiyaku_lambda::task_function!(notify, [ITEMS, MAIL, SCHEDULE]);
