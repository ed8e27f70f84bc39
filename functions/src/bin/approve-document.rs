//! `POST /api/v1/documents/{id}/approve`.

keiyaku_lambda::route_function!(approve_document, [ITEMS, SCHEDULE, WORKFLOWS]);
