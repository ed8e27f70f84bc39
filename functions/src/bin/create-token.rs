//! `POST /api/v1/me/tokens`.

keiyaku_lambda::route_function!(create_token, [ITEMS]);
