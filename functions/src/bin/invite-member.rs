//! `POST /api/v1/team/invitations`.

keiyaku_lambda::route_function!(invite_member, [ITEMS, MAIL]);
