//! `DELETE /api/v1/me/tokens/{token_id}`.

keiyaku_lambda::route_function!(revoke_token, [ITEMS]);
