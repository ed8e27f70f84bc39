//! `PATCH /api/v1/team/members/{user_id}`.

keiyaku_lambda::route_function!(change_member_role, [ITEMS, MAIL]);
