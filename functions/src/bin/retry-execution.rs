//! `POST /api/v1/ops/executions/{id}/retry`.

#[tokio::main]
async fn main() -> Result<(), keiyaku_lambda::Error> {
    keiyaku_lambda::route_main("retry_execution").await
}
