//! `PATCH /api/v1/team`.

keiyaku_lambda::route_function!(update_team, [ITEMS, MAIL]);
