//! `GET /api/v1/openapi.json`.

#[tokio::main]
async fn main() -> Result<(), keiyaku_lambda::Error> {
    keiyaku_lambda::route_main("openapi").await
}
