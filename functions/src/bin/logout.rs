//! `POST /api/v1/auth/logout`.

#[tokio::main]
async fn main() -> Result<(), keiyaku_lambda::Error> {
    keiyaku_lambda::route_main("logout").await
}
