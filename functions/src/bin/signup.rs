//! `POST /api/v1/auth/signup`.

#[tokio::main]
async fn main() -> Result<(), keiyaku_lambda::Error> {
    keiyaku_lambda::route_main("signup").await
}
