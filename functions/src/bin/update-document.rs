//! `PATCH /api/v1/documents/{id}`.

keiyaku_lambda::route_function!(update_document, [ITEMS]);
