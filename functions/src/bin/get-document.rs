//! `GET /api/v1/documents/{id}`.

keiyaku_lambda::route_function!(get_document, [ITEMS]);
