//! `POST /api/v1/auth/reset/confirm`.

#[tokio::main]
async fn main() -> Result<(), keiyaku_lambda::Error> {
    keiyaku_lambda::route_main("confirm_reset").await
}
