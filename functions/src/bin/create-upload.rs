//! `POST /api/v1/documents/uploads`.

keiyaku_lambda::route_function!(create_upload, [ITEMS, SCHEDULE, STAGE]);
