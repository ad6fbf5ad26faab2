//! How to reach registries: the settings a command hands the registry
//! client (TLS, timeouts, plain-HTTP hosts, retries, fixed addresses, AWS
//! settings for ECR, the immutable-tag choice).

use crate::registry::retry::RetryPolicy;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// How to reach registries.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Hosts that may be reached over plain HTTP (besides localhost and 127.0.0.1).
    pub insecure_registries: Vec<String>,
    /// Extra trusted CA certificates (PEM), on top of the system roots.
    pub ca_file: Option<PathBuf>,
    /// Time allowed to connect.
    pub connect_timeout: Duration,
    /// Time allowed between bytes of a response.
    pub read_timeout: Duration,
    /// Retries of temporary failures.
    pub retry: RetryPolicy,
    /// Fixed addresses for host names (`HOST:PORT` → address), like curl's `--resolve`.
    pub resolve: Vec<(String, SocketAddr)>,
    /// AWS settings for ECR credentials (profile; the region comes from the host).
    pub aws: crate::aws::AwsOptions,
    /// AWS settings for particular registry hosts instead of `aws` (promote
    /// reads the FROM environment's registry as that environment).
    pub host_aws: Vec<(String, crate::aws::AwsOptions)>,
    /// What a push does with a moving tag in a repository whose tags are immutable.
    pub immutable_tags: crate::registry::tag_policy::ImmutableTags,
}

impl ClientOptions {
    /// The AWS settings for registry `host`.
    pub(crate) fn aws_for(&self, host: &str) -> &crate::aws::AwsOptions {
        self.host_aws
            .iter()
            .find(|(h, _)| h == host)
            .map_or(&self.aws, |(_, aws)| aws)
    }
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            insecure_registries: Vec::new(),
            ca_file: None,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
            resolve: Vec::new(),
            aws: crate::aws::AwsOptions::default(),
            host_aws: Vec::new(),
            immutable_tags: crate::registry::tag_policy::ImmutableTags::default(),
        }
    }
}
