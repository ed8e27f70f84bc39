//! `POST /api/v1/auth/invitation`.

keiyaku_lambda::route_function!(accept_invitation, [ITEMS, MAIL]);
