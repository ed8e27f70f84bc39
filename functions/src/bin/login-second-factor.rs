//! `POST /api/v1/auth/login/second-factor`.

keiyaku_lambda::route_function!(login_second_factor, [DECRYPT, ITEMS]);
