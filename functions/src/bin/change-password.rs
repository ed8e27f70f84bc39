//! `POST /api/v1/auth/password`.

#[tokio::main]
async fn main() -> Result<(), keiyaku_lambda::Error> {
    keiyaku_lambda::route_main("change_password").await
}
