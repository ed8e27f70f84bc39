//! `POST /api/v1/r/decline`.

#[tokio::main]
async fn main() -> Result<(), keiyaku_lambda::Error> {
    keiyaku_lambda::route_main("recipient_decline").await
}
