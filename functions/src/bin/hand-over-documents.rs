//! `POST /api/v1/team/members/{user_id}/hand-over`.

keiyaku_lambda::route_function!(hand_over_documents, [ITEMS, MAIL]);
