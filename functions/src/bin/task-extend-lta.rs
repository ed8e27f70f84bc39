//! The workflow task `extend_lta` (`${ExtendLtaFunctionArn}` in the state machine).

keiyaku_lambda::task_function!(extend_lta, [BLOBS, DECRYPT, ENCRYPT, ITEMS, SEALING_PORTS]);
