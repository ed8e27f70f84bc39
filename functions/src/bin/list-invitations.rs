//! `GET /api/v1/team/invitations`.

keiyaku_lambda::route_function!(list_invitations, [ITEMS]);
