//! `POST /api/v1/auth/verify-email`.

keiyaku_lambda::route_function!(verify_email, [ITEMS]);
