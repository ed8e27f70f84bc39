//! The floor `tests/lambda-bench` measures the functions against: a hello-world `lambda_http`
//! function, built in the same profile, doing nothing at start but start the runtime.

use lambda_http::{Body, Error, Request, Response, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(|_: Request| async {
        Ok::<_, Error>(Response::new(Body::from("hello")))
    }))
    .await
}
