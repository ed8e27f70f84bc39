//! `POST /api/v1/auth/address`.

keiyaku_lambda::route_function!(confirm_email_change, [ITEMS, MAIL]);
