//! `GET /api/v1/r/file`.

keiyaku_lambda::route_function!(recipient_file, [BLOBS, DECRYPT, ITEMS]);
