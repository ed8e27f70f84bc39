//! `POST /api/v1/documents/{id}/send`.

#[tokio::main]
async fn main() -> Result<(), keiyaku_lambda::Error> {
    keiyaku_lambda::route_main("send_document").await
}
