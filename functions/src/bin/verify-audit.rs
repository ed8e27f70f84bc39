//! `GET /api/v1/team/audit/verify`.

keiyaku_lambda::route_function!(verify_audit, [ITEMS]);
