//! `POST /api/v1/auth/verify-email`.

#[tokio::main]
async fn main() -> Result<(), keiyaku_lambda::Error> {
    keiyaku_lambda::route_main("verify_email").await
}
