//! `POST /api/v1/r/session`.

#[tokio::main]
async fn main() -> Result<(), keiyaku_lambda::Error> {
    keiyaku_lambda::route_main("recipient_session").await
}
