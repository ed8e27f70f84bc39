//! `GET /api/v1/team/audit/export`.

keiyaku_lambda::route_function!(export_audit, [ITEMS]);
