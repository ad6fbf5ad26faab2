//! One client per registry host, with its credentials looked up once.

use crate::registry::auth::docker_credentials;
use crate::registry::transport::{ClientOptions, Registry};
use anyhow::Result;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Registry clients by host.
pub struct RegistryPool {
    options: ClientOptions,
    clients: Mutex<HashMap<String, Arc<Registry>>>,
}

impl RegistryPool {
    /// A pool whose clients use `options`.
    pub fn new(options: ClientOptions) -> Self {
        Self {
            options,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// The client for `host`, made on first use.
    pub fn get(&self, host: &str) -> Result<Arc<Registry>> {
        let mut clients = self
            .clients
            .lock()
            .expect("the pool lock is never poisoned");
        if let Some(client) = clients.get(host) {
            return Ok(client.clone());
        }
        let credentials = docker_credentials(host)?;
        let client = Arc::new(Registry::new(host, &self.options, credentials)?);
        clients.insert(host.to_string(), client.clone());
        Ok(client)
    }
}
