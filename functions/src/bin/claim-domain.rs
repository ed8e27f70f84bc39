//! `POST /api/v1/team/domains`.

keiyaku_lambda::route_function!(claim_domain, [ITEMS, MAIL]);
