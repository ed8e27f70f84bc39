//! `GET /api/v1/openapi.json`.

keiyaku_lambda::route_function!(openapi, []);
