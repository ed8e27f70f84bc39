//! `GET /api/v1/team`.

keiyaku_lambda::route_function!(get_team, [ITEMS]);
