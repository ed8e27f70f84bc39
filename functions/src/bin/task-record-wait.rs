//! The workflow task `record_wait` (`${RecordWaitFunctionArn}` in the state machine).

#[tokio::main]
async fn main() -> Result<(), keiyaku_lambda::Error> {
    keiyaku_lambda::task_main("record_wait").await
}
