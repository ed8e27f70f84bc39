//! `DELETE /api/v1/team/domains/{domain}`.

keiyaku_lambda::route_function!(release_domain, [ITEMS, MAIL]);
