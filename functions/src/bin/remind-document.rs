//! `POST /api/v1/documents/{id}/remind`.

#[tokio::main]
async fn main() -> Result<(), keiyaku_lambda::Error> {
    keiyaku_lambda::route_main("remind_document").await
}
