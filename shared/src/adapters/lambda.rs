//! AWS Lambda: invoking an outgoing event handler that is a function.

use crate::ports::{BoxFuture, InvokeFunction, Invoked};

#[derive(Clone)]
pub struct LambdaInvoker {
    lambda: aws_sdk_lambda::Client,
}

impl LambdaInvoker {
    pub fn new(lambda: aws_sdk_lambda::Client) -> Self {
        LambdaInvoker { lambda }
    }
}

impl InvokeFunction for LambdaInvoker {
    fn invoke<'a>(&'a self, function: &'a str, payload: &'a str) -> BoxFuture<'a, Result<Invoked, String>> {
        Box::pin(async move {
            let out = self
                .lambda
                .invoke()
                .function_name(function)
                .payload(aws_sdk_lambda::primitives::Blob::new(payload.as_bytes()))
                .send()
                .await
                .map_err(|e| format!("invoke failed: {}", aws_sdk_lambda::error::DisplayErrorContext(e)))?;
            Ok(Invoked {
                status_code: u16::try_from(out.status_code()).ok(),
                excerpt: out.payload().map(|p| String::from_utf8_lossy(p.as_ref()).chars().take(500).collect()).unwrap_or_default(),
                function_error: out.function_error().map(String::from),
            })
        })
    }
}
