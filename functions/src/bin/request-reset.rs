//! `POST /api/v1/auth/reset`.

#[tokio::main]
async fn main() -> Result<(), keiyaku_lambda::Error> {
    keiyaku_lambda::route_main("request_reset").await
}
