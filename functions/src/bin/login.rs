//! `POST /api/v1/auth/login`.

#[tokio::main]
async fn main() -> Result<(), keiyaku_lambda::Error> {
    keiyaku_lambda::route_main("login").await
}
