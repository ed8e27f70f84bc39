//! `POST /api/v1/documents/{id}/cancel`.

#[tokio::main]
async fn main() -> Result<(), keiyaku_lambda::Error> {
    keiyaku_lambda::route_main("cancel_document").await
}
