//! `POST /api/v1/documents/{id}/reject`.

#[tokio::main]
async fn main() -> Result<(), keiyaku_lambda::Error> {
    keiyaku_lambda::route_main("reject_document").await
}
