//! `POST /api/v1/documents/{id}/remind`.

keiyaku_lambda::route_function!(remind_document, [ITEMS, LINK_MACS, MAIL]);
