//! `GET /api/v1/r/document`.

#[tokio::main]
async fn main() -> Result<(), keiyaku_lambda::Error> {
    keiyaku_lambda::route_main("recipient_document").await
}
