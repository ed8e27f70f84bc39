//! The workflow task `expire` (`${ExpireFunctionArn}` in the state machine).

keiyaku_lambda::task_function!(expire, [ITEMS, MAIL, SCHEDULE]);
