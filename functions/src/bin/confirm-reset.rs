//! `POST /api/v1/auth/reset/confirm`.

keiyaku_lambda::route_function!(confirm_reset, [ITEMS, MAIL]);
