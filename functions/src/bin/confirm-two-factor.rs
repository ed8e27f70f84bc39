//! `POST /api/v1/me/two-factor/confirm`.

keiyaku_lambda::route_function!(confirm_two_factor, [DECRYPT, ITEMS, MAIL]);
