//! `DELETE /api/v1/team/invitations/{invitation_id}`.

keiyaku_lambda::route_function!(withdraw_invitation, [ITEMS]);
