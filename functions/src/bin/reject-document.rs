//! `POST /api/v1/documents/{id}/reject`.

keiyaku_lambda::route_function!(reject_document, [ITEMS, SCHEDULE, WORKFLOWS]);
