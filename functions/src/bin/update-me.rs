//! `PATCH /api/v1/me`.

keiyaku_lambda::route_function!(update_me, [ITEMS]);
