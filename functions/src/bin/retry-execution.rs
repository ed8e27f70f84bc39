//! `POST /api/v1/ops/executions/{id}/retry`.

keiyaku_lambda::route_function!(retry_execution, [ITEMS, WORKFLOWS]);
