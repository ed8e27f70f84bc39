//! `GET /api/v1/ops/executions`.

keiyaku_lambda::route_function!(list_executions, [ITEMS, WORKFLOWS]);
