//! `POST /api/v1/documents/{id}/recipients/{party_id}/revoke`.

keiyaku_lambda::route_function!(revoke_link, [ITEMS, LINK_MACS]);
