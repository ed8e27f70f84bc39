//! `POST /api/v1/auth/password`.

keiyaku_lambda::route_function!(change_password, [ITEMS, MAIL]);
