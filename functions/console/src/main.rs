//! The console function: the app built from console/ (embedded by build.rs), served by
//! shared::api::console with the sign-in settings of the template's parameters.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use shared::api::console::{Asset, Console, SignIn};

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::adapters::telemetry::init(env!("CARGO_PKG_NAME"));
    let console = &Console::new(INDEX, FILES, SignIn::from_env()?);
    run(service_fn(move |event: LambdaEvent<_>| shared::api::serve(event, move |request| async move { console.handle(&request) }))).await
}
