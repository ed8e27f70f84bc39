//! `POST /api/v1/documents/{id}/recipients/{party_id}/revoke`.

#[tokio::main]
async fn main() -> Result<(), keiyaku_lambda::Error> {
    keiyaku_lambda::route_main("revoke_link").await
}
