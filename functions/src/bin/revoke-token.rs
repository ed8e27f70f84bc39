//! `DELETE /api/v1/me/tokens/{token_id}`.

#[tokio::main]
async fn main() -> Result<(), keiyaku_lambda::Error> {
    keiyaku_lambda::route_main("revoke_token").await
}
