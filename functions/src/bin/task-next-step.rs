//! The workflow task `next_step` (`${NextStepFunctionArn}` in the state machine).

#[tokio::main]
async fn main() -> Result<(), keiyaku_lambda::Error> {
    keiyaku_lambda::task_main("next_step").await
}
