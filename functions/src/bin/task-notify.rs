//! The workflow task `notify` (`${NotifyFunctionArn}` in the state machine).

#[tokio::main]
async fn main() -> Result<(), keiyaku_lambda::Error> {
    keiyaku_lambda::task_main("notify").await
}
