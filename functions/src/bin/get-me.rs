//! `GET /api/v1/me`.

keiyaku_lambda::route_function!(get_me, [ITEMS]);
