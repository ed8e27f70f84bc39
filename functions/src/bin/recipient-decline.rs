//! `POST /api/v1/r/decline`.

keiyaku_lambda::route_function!(recipient_decline, [ITEMS, SCHEDULE, WORKFLOWS]);
