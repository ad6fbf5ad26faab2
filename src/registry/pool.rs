//! One client per registry host, with its credentials looked up once per
//! run: the docker config first, then (for ECR hosts) `GetAuthorizationToken`.

use crate::registry::auth::docker_credentials;
use crate::registry::ecr::{ecr_credentials, is_ecr_host};
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

    /// The client for `host`, made on first use. The lock is held while
    /// credentials are fetched, so each host's are fetched exactly once.
    pub(crate) async fn get(&self, host: &str) -> Result<Arc<Registry>> {
        let mut clients = self.clients.lock().await;
        if let Some(client) = clients.get(host) {
            return Ok(client.clone());
        }
        let mut credentials = docker_credentials(host)?;
        if credentials.is_none() && is_ecr_host(host) {
            credentials = Some(ecr_credentials(host, &self.options.aws).await?);
        }
        let client = Arc::new(Registry::new(host, &self.options, credentials)?);
        client.ping().await?;
        clients.insert(host.to_string(), client.clone());
        Ok(client)
    }
}
