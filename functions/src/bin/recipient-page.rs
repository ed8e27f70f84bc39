//! `GET /api/v1/r/pages/{n}`.

keiyaku_lambda::route_function!(recipient_page, [BLOBS, DECRYPT, ITEMS]);
