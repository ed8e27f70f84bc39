//! `GET /api/v1/me`.

#[tokio::main]
async fn main() -> Result<(), keiyaku_lambda::Error> {
    keiyaku_lambda::route_main("get_me").await
}
