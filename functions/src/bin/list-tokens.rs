//! `GET /api/v1/me/tokens`.

keiyaku_lambda::route_function!(list_tokens, [ITEMS]);
