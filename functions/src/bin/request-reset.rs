//! `POST /api/v1/auth/reset`.

keiyaku_lambda::route_function!(request_reset, [ITEMS, MAIL]);
