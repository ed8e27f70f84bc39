//! `POST /api/v1/r/agree`.

keiyaku_lambda::route_function!(recipient_agree, [ITEMS, SCHEDULE, WORKFLOWS]);
