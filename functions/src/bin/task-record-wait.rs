//! The workflow task `record_wait` (`${RecordWaitFunctionArn}` in the state machine).

keiyaku_lambda::task_function!(record_wait, [ITEMS, LINK_MACS, MAIL, WORKFLOWS]);
