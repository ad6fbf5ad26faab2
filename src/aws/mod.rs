//! Loading AWS SDK configuration the same way for every service hoist calls
//! (ECS, ECR, CodeDeploy, Secrets Manager, CloudWatch Logs, ELB, IAM, SSM):
//! aws-config's default chain (env, profile, SSO, web identity, container
//! and instance metadata), endpoint overrides (`AWS_ENDPOINT_URL`,
//! `AWS_ENDPOINT_URL_<SERVICE>`), and the region and profile asked for.
//! [`error`] turns their failed calls into one line each.

pub(crate) mod error;

/// Where and as whom to call AWS.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AwsOptions {
    /// `--region` (else `AWS_REGION` / the profile's).
    pub region: Option<String>,
    /// `--profile` (else `AWS_PROFILE` / default).
    pub profile: Option<String>,
}

impl AwsOptions {
    /// The same options with `region` when none was chosen.
    pub fn with_default_region(&self, region: &str) -> Self {
        Self {
            region: self.region.clone().or_else(|| Some(region.to_string())),
            profile: self.profile.clone(),
        }
    }
}

/// The SDK configuration for `options`.
pub(crate) async fn sdk_config(options: &AwsOptions) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(region) = &options.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    if let Some(profile) = &options.profile {
        loader = loader.profile_name(profile);
    }
    loader.load().await
}
