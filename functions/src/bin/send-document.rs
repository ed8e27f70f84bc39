//! `POST /api/v1/documents/{id}/send`.

keiyaku_lambda::route_function!(send_document, [ITEMS, SCHEDULE, WORKFLOWS]);
