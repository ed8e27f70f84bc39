//! `POST /api/v1/auth/logout`.

keiyaku_lambda::route_function!(logout, [ITEMS]);
