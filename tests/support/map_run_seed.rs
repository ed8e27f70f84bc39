//! Writes one finished execution with a Distributed Map into a keiyaku data dir, for the
//! browser test of the ops view's Map Runs (the contract machine has no Distributed Map, so
//! no product flow makes one). The machine `fanout` maps `[1, 2, 3]` over a Lambda task in
//! child executions; the handler refuses 3, which the run tolerates. Usage:
//! `keiyaku-seed-map-run DATA_DIR NAME`; prints the execution's id. Part of the tests
//! crate, never shipped.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use keiyaku_core::clock::{Clock, SystemClock};
use keiyaku_local::SqliteItemStore;
use keiyaku_states::{Definition, Status};
use keiyaku_workflow::{Machine, Runner, TaskFailure, TaskHandlers};
use serde_json::{Value, json};

struct Double;

#[async_trait]
impl TaskHandlers for Double {
    async fn invoke(
        &self,
        _handler: &str,
        payload: Value,
        _token: Option<String>,
    ) -> Result<Value, TaskFailure> {
        match payload.as_i64() {
            Some(3) | None => Err(TaskFailure::function_error(
                "Item.Refused",
                format!("{payload} is refused"),
            )),
            Some(n) => Ok(json!({ "doubled": n * 2 })),
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, name] = args.as_slice() else {
        return Err("usage: keiyaku-seed-map-run DATA_DIR NAME".into());
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let items = SqliteItemStore::open(&Path::new(dir).join("keiyaku.db"), clock.clone())?;
    let definition = Definition::parse(
        &json!({"StartAt": "Each", "States": {"Each": {
            "Type": "Map", "ItemsPath": "$.items", "Label": "fanout", "ToleratedFailureCount": 1,
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "Double", "States": {"Double": {"Type": "Task",
                    "Resource": "arn:aws:lambda:local:000000000000:function:double", "End": true}}},
            "End": true}}})
        .to_string(),
    )?;
    let runner = Runner::new(
        Arc::new(items),
        clock,
        Arc::new(Double),
        vec![Machine {
            name: "fanout".into(),
            definition,
        }],
    );
    let id = runner
        .start_execution("fanout", name, json!({"items": [1, 2, 3]}))
        .await?;
    // Each task's answer is applied in a task of its own: wait until the execution ends.
    for _ in 0..1000 {
        runner.idle().await;
        if runner.describe_execution(&id).await?.summary.status != Status::Running {
            println!("{id}");
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    Err("the execution did not end".into())
}
