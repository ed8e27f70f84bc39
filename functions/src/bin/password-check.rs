//! `POST /api/v1/auth/password-check`.

#[tokio::main]
async fn main() -> Result<(), keiyaku_lambda::Error> {
    keiyaku_lambda::route_main("password_check").await
}
