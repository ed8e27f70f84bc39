//! `GET /api/v1/documents/{id}/pages/{n}`.

keiyaku_lambda::route_function!(get_document_page, [BLOBS, DECRYPT, ITEMS]);
