//! `POST /api/v1/me/email`.

keiyaku_lambda::route_function!(change_email, [ITEMS, MAIL]);
