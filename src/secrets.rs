//! AWS Secrets Manager: a secret's value, for files baked into an image at
//! build time. Never logs the value.

use crate::aws::error::{AwsError, Service};
use anyhow::{anyhow, Result};

/// The value of secret `id` (string or binary), as `aws` says whom to ask.
pub(crate) async fn secret_value(id: &str, aws: &crate::aws::AwsOptions) -> Result<Vec<u8>> {
    let client = aws_sdk_secretsmanager::Client::new(&crate::aws::sdk_config(aws).await);
    let answer = client
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .map_err(|e| {
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception())
            {
                crate::error::usage_hint(
                    format!("secret {id:?} not found in Secrets Manager"),
                    "check the secret id and region",
                )
            } else {
                AwsError::of(Service::SecretsManager, "GetSecretValue", id, &e).into()
            }
        })?;
    if let Some(text) = answer.secret_string() {
        return Ok(text.as_bytes().to_vec());
    }
    answer
        .secret_binary()
        .map(|b| b.as_ref().to_vec())
        .ok_or_else(|| anyhow!("secret {id:?} has no value"))
}
