//! `GET /api/v1/documents/{id}/file`.

keiyaku_lambda::route_function!(get_document_file, [BLOBS, DECRYPT, ITEMS]);
