//! `POST /api/v1/auth/signup`.

keiyaku_lambda::route_function!(signup, [ITEMS, MAIL]);
