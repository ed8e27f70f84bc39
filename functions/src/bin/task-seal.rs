//! The workflow task `seal` (`${SealFunctionArn}` in the state machine).

keiyaku_lambda::task_function!(seal, [BLOBS, DECRYPT, ENCRYPT, ITEMS, SEALING_PORTS]);
