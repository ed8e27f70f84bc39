//! `POST /api/v1/me/two-factor`.

keiyaku_lambda::route_function!(start_two_factor, [ENCRYPT, ITEMS]);
