//! `DELETE /api/v1/team/members/{user_id}`.

keiyaku_lambda::route_function!(remove_member, [ITEMS, MAIL]);
