//! `GET /api/v1/r/file`.

#[tokio::main]
async fn main() -> Result<(), keiyaku_lambda::Error> {
    keiyaku_lambda::route_main("recipient_file").await
}
