//! The workflow task `seal_failed` (`${SealFailedFunctionArn}` in the state machine).

#[tokio::main]
async fn main() -> Result<(), keiyaku_lambda::Error> {
    keiyaku_lambda::task_main("seal_failed").await
}
