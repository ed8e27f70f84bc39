//! `POST /api/v1/r/session`.

keiyaku_lambda::route_function!(recipient_session, [ITEMS, MAIL]);
