//! The workflow task `next_step` (`${NextStepFunctionArn}` in the state machine).

keiyaku_lambda::task_function!(next_step, [ITEMS]);
