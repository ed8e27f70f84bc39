//! `POST /api/v1/verify`.

keiyaku_lambda::route_function!(verify, [ANCHORS, BLOBS, ENCRYPT, ITEMS, STAGE]);
