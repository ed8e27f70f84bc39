//! `GET /api/v1/ops/executions/{id}`.

keiyaku_lambda::route_function!(get_execution, [ITEMS, WORKFLOWS]);
