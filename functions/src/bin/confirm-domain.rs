//! `POST /api/v1/auth/domain`.

keiyaku_lambda::route_function!(confirm_domain, [ITEMS, MAIL]);
