//! `GET /api/v1/ops/executions/{id}`.

#[tokio::main]
async fn main() -> Result<(), keiyaku_lambda::Error> {
    keiyaku_lambda::route_main("get_execution").await
}
