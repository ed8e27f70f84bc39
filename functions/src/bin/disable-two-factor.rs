//! `POST /api/v1/me/two-factor/disable`.

keiyaku_lambda::route_function!(disable_two_factor, [DECRYPT, ITEMS, MAIL]);
