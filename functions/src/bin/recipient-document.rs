//! `GET /api/v1/r/document`.

keiyaku_lambda::route_function!(recipient_document, [ITEMS]);
