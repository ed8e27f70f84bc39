//! `POST /api/v1/documents/uploads`.

#[tokio::main]
async fn main() -> Result<(), keiyaku_lambda::Error> {
    keiyaku_lambda::route_main("create_upload").await
}
