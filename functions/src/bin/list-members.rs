//! `GET /api/v1/team/members`.

keiyaku_lambda::route_function!(list_members, [ITEMS]);
