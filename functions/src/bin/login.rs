//! `POST /api/v1/auth/login`.

keiyaku_lambda::route_function!(login, [ITEMS]);
