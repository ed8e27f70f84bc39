//! `GET /api/v1/team/audit`.

keiyaku_lambda::route_function!(search_audit, [ITEMS]);
