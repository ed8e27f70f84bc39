//! `GET /api/v1/ops/executions`.

#[tokio::main]
async fn main() -> Result<(), keiyaku_lambda::Error> {
    keiyaku_lambda::route_main("list_executions").await
}
