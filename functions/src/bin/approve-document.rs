//! `POST /api/v1/documents/{id}/approve`.

#[tokio::main]
async fn main() -> Result<(), keiyaku_lambda::Error> {
    keiyaku_lambda::route_main("approve_document").await
}
