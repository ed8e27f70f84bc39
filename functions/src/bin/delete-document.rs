//! `DELETE /api/v1/documents/{id}`.

keiyaku_lambda::route_function!(delete_document, [BLOBS, ITEMS]);
