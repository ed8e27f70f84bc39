//! `POST /api/v1/r/viewed`.

keiyaku_lambda::route_function!(recipient_viewed, [ITEMS]);
