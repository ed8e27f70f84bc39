//! The workflow task `complete` (`${CompleteFunctionArn}` in the state machine).

keiyaku_lambda::task_function!(complete, [BLOBS, DECRYPT, ITEMS, LINK_MACS, MAIL, SCHEDULE]);
