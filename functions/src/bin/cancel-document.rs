//! `POST /api/v1/documents/{id}/cancel`.

keiyaku_lambda::route_function!(cancel_document, [ITEMS, SCHEDULE, WORKFLOWS]);
