//! `GET /api/v1/me/tokens`.

#[tokio::main]
async fn main() -> Result<(), keiyaku_lambda::Error> {
    keiyaku_lambda::route_main("list_tokens").await
}
