//! `GET /api/v1/documents/{id}`.

#[tokio::main]
async fn main() -> Result<(), keiyaku_lambda::Error> {
    keiyaku_lambda::route_main("get_document").await
}
