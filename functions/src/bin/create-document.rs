//! `POST /api/v1/documents`.

keiyaku_lambda::route_function!(create_document, [BLOBS, ENCRYPT, ITEMS, STAGE]);
