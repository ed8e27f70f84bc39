//! `POST /api/v1/auth/password-check`.

keiyaku_lambda::route_function!(password_check, [ITEMS]);
