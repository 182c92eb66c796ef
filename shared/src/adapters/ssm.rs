//! SSM Parameter Store: the secrets a function reads once at start (the key that seals secrets
//! at rest, the webhook's and the tokens' secrets). Locally the SQS emulator serves SSM too.

use crate::secrets::{SecretBox, SecretsError};

/// The key of a function: the SSM SecureString parameter SECRETS_KEY_PARAMETER names (read once
/// per Lambda instance), else SECRETS_KEY.
pub async fn secret_box(config: &aws_config::SdkConfig) -> Result<SecretBox, SecretsError> {
    SecretBox::from_base64(&load_secret(config, "SECRETS_KEY_PARAMETER", "SECRETS_KEY").await?)
}

/// The tokens' HS256 secret where it is in SSM (AUTH_HS256_SECRET_PARAMETER names the
/// parameter; only the HTTP functions get the variable and the right to read it); None where
/// tokens are checked against a JWKS or the secret is in the environment (tests and tools).
pub async fn token_secret(config: &aws_config::SdkConfig) -> Result<Option<String>, SecretsError> {
    let set = |k: &str| std::env::var(k).is_ok_and(|v| !v.is_empty());
    if set("AUTH_JWKS_URL") || !set("AUTH_HS256_SECRET_PARAMETER") {
        return Ok(None);
    }
    load_secret(config, "AUTH_HS256_SECRET_PARAMETER", "AUTH_HS256_SECRET").await.map(Some)
}

/// A secret a function needs at start: the SSM SecureString parameter the variable `parameter_var`
/// names, else the value of `value_var` (tests and tools).
pub async fn load_secret(config: &aws_config::SdkConfig, parameter_var: &str, value_var: &str) -> Result<String, SecretsError> {
    match std::env::var(parameter_var).ok().filter(|n| !n.is_empty()) {
        Some(name) => {
            let out = super::aws::ssm(config)
                .get_parameter()
                .name(&name)
                .with_decryption(true)
                .send()
                .await
                .map_err(|e| SecretsError::Parameter(format!("{name}: {}", aws_sdk_ssm::error::DisplayErrorContext(e))))?;
            out.parameter().and_then(|p| p.value()).map(String::from).ok_or_else(|| SecretsError::Parameter(format!("{name} has no value")))
        }
        None => std::env::var(value_var).ok().filter(|v| !v.is_empty()).ok_or(SecretsError::MissingKey),
    }
}
