//! `POST /api/v1/documents/{id}/recipients/{party_id}/reissue`.

keiyaku_lambda::route_function!(reissue_link, [ITEMS, LINK_MACS, MAIL]);
