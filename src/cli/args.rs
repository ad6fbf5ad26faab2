//! Argument groups shared by several commands (how AWS, an ECS service and
//! registries are reached; how to wait), each turned into the library's
//! plain option struct.

use anyhow::Result;
use clap::Args;
use hoist::error::{usage, usage_hint};
use std::path::PathBuf;
use std::time::Duration;

/// Where AWS is reached.
#[derive(Debug, Args)]
pub struct AwsArgs {
    /// AWS region (default: AWS_REGION or the profile's).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// AWS profile (default: AWS_PROFILE or default).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
}

impl AwsArgs {
    /// The AWS options these flags describe.
    pub fn options(&self) -> hoist::AwsOptions {
        hoist::AwsOptions {
            region: self.region.clone(),
            profile: self.profile.clone(),
        }
    }
}

/// Which ECS service.
#[derive(Debug, Args)]
pub struct ServiceArgs {
    /// ECS cluster name or ARN.
    #[arg(long, value_name = "CLUSTER")]
    pub cluster: String,
    /// ECS service name or ARN.
    #[arg(long, value_name = "SERVICE")]
    pub service: String,
}

impl ServiceArgs {
    /// The service these flags name.
    pub fn target(&self) -> hoist::ecs::ServiceTarget {
        hoist::ecs::ServiceTarget {
            cluster: self.cluster.clone(),
            service: self.service.clone(),
        }
    }
}

/// How to wait for a rollout.
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// Return after updating the service, without waiting.
    #[arg(long)]
    pub no_wait: bool,
    /// Give up waiting after this long (e.g. 10m, 90s).
    #[arg(long, value_name = "DURATION", default_value = "10m")]
    pub wait_timeout: String,
    /// Poll ECS this often (doubled while ECS throttles).
    #[arg(long, value_name = "DURATION", default_value = "5s")]
    pub poll_interval: String,
    /// When the rollout fails: the last N lines of each essential container's log (0: none).
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub log_lines: usize,
}

impl WaitArgs {
    /// The wait options these flags describe.
    pub fn options(&self) -> Result<hoist::ecs::WaitOptions> {
        let parse = |flag: &str, text: &str| {
            humantime::parse_duration(text).map_err(|_| {
                usage_hint(
                    format!("{flag} {text:?}: not a duration"),
                    "e.g. 10m, 90s, 500ms",
                )
            })
        };
        let timeout = parse("--wait-timeout", &self.wait_timeout)?;
        let interval = parse("--poll-interval", &self.poll_interval)?;
        if timeout > Duration::from_secs(24 * 3600) {
            return Err(usage("--wait-timeout: at most 24h"));
        }
        if interval < Duration::from_millis(10) {
            return Err(usage("--poll-interval: at least 10ms"));
        }
        Ok(hoist::ecs::WaitOptions {
            enabled: !self.no_wait,
            timeout,
            interval,
            log_lines: self.log_lines,
        })
    }
}

/// Which CodeDeploy application and group deploy a CODE_DEPLOY service.
#[derive(Debug, Args)]
pub struct CodeDeployArgs {
    /// CodeDeploy application (default: AppECS-CLUSTER-SERVICE, the console's name).
    #[arg(long, value_name = "NAME")]
    pub codedeploy_application: Option<String>,
    /// CodeDeploy deployment group (default: DgpECS-CLUSTER-SERVICE).
    #[arg(long, value_name = "NAME")]
    pub codedeploy_group: Option<String>,
}

impl CodeDeployArgs {
    /// The names these flags give.
    pub fn names(&self) -> hoist::ecs::CodeDeployNames {
        hoist::ecs::CodeDeployNames {
            application: self.codedeploy_application.clone(),
            deployment_group: self.codedeploy_group.clone(),
        }
    }
}

/// How registries are reached (shared by every command that talks to one).
#[derive(Debug, Args)]
pub struct RegistryArgs {
    /// A registry host that may be reached over plain HTTP (repeatable; localhost and 127.0.0.1 always may).
    #[arg(long = "insecure-registry", value_name = "HOST[:PORT]")]
    pub insecure_registries: Vec<String>,
    /// PEM file of extra CA certificates to trust, besides the system's.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Seconds allowed to connect to a registry.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub connect_timeout: u64,
    /// Seconds allowed between bytes of a registry's response.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub read_timeout: u64,
    /// Attempts per request before giving up on temporary failures.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub retries: u32,
    /// Connect to HOST at ADDRESS instead of what DNS says, like curl's --resolve (repeatable).
    #[arg(long = "resolve", value_name = "HOST=IP:PORT")]
    pub resolve: Vec<String>,
    /// A moving tag in a repository with immutable tags: skip it with a warning, or fail.
    #[arg(
        long,
        value_name = "skip|fail",
        default_value = "skip",
        env = "HOIST_IMMUTABLE_TAGS"
    )]
    pub immutable_tags: hoist::registry::ImmutableTags,
}

impl RegistryArgs {
    /// The client options these flags describe.
    pub fn client_options(&self) -> Result<hoist::registry::ClientOptions> {
        if self.retries == 0 {
            return Err(usage("--retries must be at least 1"));
        }
        Ok(hoist::registry::ClientOptions {
            aws: hoist::AwsOptions::default(),
            host_aws: Vec::new(),
            immutable_tags: self.immutable_tags,
            insecure_registries: self.insecure_registries.clone(),
            ca_file: self.ca_file.clone(),
            connect_timeout: Duration::from_secs(self.connect_timeout),
            read_timeout: Duration::from_secs(self.read_timeout),
            retry: hoist::registry::RetryPolicy {
                max_attempts: self.retries,
                ..hoist::registry::RetryPolicy::default()
            },
            resolve: self
                .resolve
                .iter()
                .map(|r| {
                    r.split_once('=')
                        .and_then(|(host, addr)| Some((host.to_string(), addr.parse().ok()?)))
                        .ok_or_else(|| usage(format!("--resolve {r:?}: expected HOST=IP:PORT, e.g. registry.example=127.0.0.1:5000")))
                })
                .collect::<Result<_>>()?,
        })
    }
}

/// `KEY=VALUE` split at the first `=` (values may contain `=`).
pub fn split_key_value(flag: &str, text: &str) -> Result<(String, String)> {
    match text.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(usage_hint(
            format!("{flag} {text:?}: expected KEY=VALUE"),
            "e.g. SPRING_PROFILES_ACTIVE=dev",
        )),
    }
}

/// Every `KEY=VALUE` of a repeatable flag.
pub fn key_values(flag: &str, texts: &[String]) -> Result<Vec<(String, String)>> {
    texts.iter().map(|t| split_key_value(flag, t)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_values_split_at_the_first_equals() {
        assert_eq!(
            split_key_value("--env", "A=b=c").unwrap(),
            ("A".into(), "b=c".into())
        );
        assert!(split_key_value("--env", "=x").is_err());
        assert!(split_key_value("--env", "novalue").is_err());
    }
}

/// Which hoist.toml (`--config`, `HOIST_CONFIG`).
#[derive(Debug, Args)]
pub struct ConfigFileArgs {
    /// The config file.
    #[arg(
        long = "config",
        value_name = "FILE",
        env = "HOIST_CONFIG",
        default_value = "hoist.toml"
    )]
    pub path: std::path::PathBuf,
}

impl ConfigFileArgs {
    /// The config file, loaded.
    pub fn load(&self) -> Result<hoist::HoistConfig> {
        hoist::HoistConfig::load(&self.path)
    }
}
