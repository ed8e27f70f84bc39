//! The workflow task `extend_lta` (`${ExtendLtaFunctionArn}` in the state machine).

#[tokio::main]
async fn main() -> Result<(), keiyaku_lambda::Error> {
    keiyaku_lambda::task_main("extend_lta").await
}
