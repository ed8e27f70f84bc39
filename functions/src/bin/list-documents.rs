//! `GET /api/v1/documents`.

keiyaku_lambda::route_function!(list_documents, [ITEMS]);
