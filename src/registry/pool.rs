//! One client per registry host, with its credentials looked up once per
//! run. For private ECR hosts `GetAuthorizationToken` comes first: a token
//! `docker login` left in the docker config lasts 12 hours, so it is the one
//! likely to be stale, while the AWS credentials are what the run is using;
//! the docker config is the fallback when the AWS call fails. Either way an
//! ECR client renews its token with `GetAuthorizationToken` once the
//! registry says it expired. Every other host takes its credentials from
//! the docker config.

use crate::registry::auth::docker_credentials;
use crate::registry::ecr::{ecr_credentials, is_ecr_host, token_renewal};
use crate::registry::transport::{ClientOptions, Registry};
use anyhow::Result;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::Mutex;

/// Registry clients by host.
pub(crate) struct RegistryPool {
    options: ClientOptions,
    clients: Mutex<HashMap<String, Arc<Registry>>>,
}

impl RegistryPool {
    /// A pool whose clients use `options`.
    pub(crate) fn new(options: ClientOptions) -> Self {
        Self {
            options,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// The AWS settings for registry `host`.
    pub(crate) fn aws_for(&self, host: &str) -> &crate::aws::AwsOptions {
        self.options.aws_for(host)
    }

    /// The client for `host`, made on first use. The lock is held while
    /// credentials are fetched, so each host's are fetched exactly once.
    pub(crate) async fn get(&self, host: &str) -> Result<Arc<Registry>> {
        let mut clients = self.clients.lock().await;
        if let Some(client) = clients.get(host) {
            return Ok(client.clone());
        }
        let credentials = if is_ecr_host(host) {
            match ecr_credentials(host, self.options.aws_for(host)).await {
                Ok(credentials) => Some(credentials),
                // No AWS credentials here, but a `docker login`: use that.
                Err(error) => match docker_credentials(host)? {
                    Some(credentials) => Some(credentials),
                    None => return Err(error),
                },
            }
        } else {
            docker_credentials(host)?
        };
        let mut client = Registry::new(host, &self.options, credentials)?;
        if is_ecr_host(host) {
            client = client.with_renewal(token_renewal(host, self.options.aws_for(host)));
        }
        let client = Arc::new(client);
        client.ping().await?;
        clients.insert(host.to_string(), client.clone());
        Ok(client)
    }
}
