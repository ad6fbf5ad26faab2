//! Amazon ECR: registry credentials from `GetAuthorizationToken` (no
//! `docker login`), renewed when they expire; tag mutability, lifecycle
//! policies and image tags; creating a missing repository when asked to.
//! Which hosts are ECR's is [`crate::registry::hosts`]'s.

use crate::aws::error::{AwsCall, AwsError, Service};
pub(crate) use crate::registry::hosts::{ecr_host_parts, is_ecr_host};

/// Registry credentials for an ECR host from `GetAuthorizationToken`.
///
/// The token is used until the registry says it has expired, whatever its
/// `expiresAt` says; then [`token_renewal`] fetches one more, once per
/// refusal (never in a loop).
pub(crate) async fn ecr_credentials(
    host: &str,
    aws: &crate::aws::AwsOptions,
) -> anyhow::Result<crate::registry::auth::Credentials> {
    let (_, region) =
        ecr_host_parts(host).ok_or_else(|| anyhow::anyhow!("{host} is not an ECR host"))?;
    let client =
        aws_sdk_ecr::Client::new(&crate::aws::sdk_config(&aws.with_default_region(region)).await);
    // One token serves every registry the principal may reach.
    let answer = client.get_authorization_token().send().await.or_aws(
        Service::Ecr,
        "GetAuthorizationToken",
        host,
    )?;
    let token = answer
        .authorization_data()
        .first()
        .and_then(|d| d.authorization_token())
        .ok_or_else(|| anyhow::anyhow!("ECR {host}: GetAuthorizationToken returned no token"))?;
    crate::registry::auth::Credentials::from_base64_pair(token).ok_or_else(|| {
        anyhow::anyhow!("ECR {host}: the authorization token is not base64 USER:PASSWORD")
    })
}

/// How a client for ECR host `host` renews its token once the registry
/// says it expired (after 12 hours): `GetAuthorizationToken` again.
pub(crate) fn token_renewal(
    host: &str,
    aws: &crate::aws::AwsOptions,
) -> crate::registry::transport::CredentialRenewal {
    let (host, aws) = (host.to_string(), aws.clone());
    crate::registry::transport::CredentialRenewal {
        source: "GetAuthorizationToken",
        fetch: Box::new(move || {
            let (host, aws) = (host.clone(), aws.clone());
            Box::pin(async move { ecr_credentials(&host, &aws).await })
        }),
    }
}

/// An ECR API client for the registry `host`, in its region (unless the
/// AWS options name one).
async fn ecr_client(
    host: &str,
    aws: &crate::aws::AwsOptions,
) -> anyhow::Result<(aws_sdk_ecr::Client, String)> {
    let (account, region) =
        ecr_host_parts(host).ok_or_else(|| anyhow::anyhow!("{host} is not an ECR host"))?;
    let client =
        aws_sdk_ecr::Client::new(&crate::aws::sdk_config(&aws.with_default_region(region)).await);
    Ok((client, account.to_string()))
}

/// The tag mutability of repository `repo` of ECR host `host`, read with
/// one DescribeRepositories call. Unknown when that is not allowed or fails:
/// the push then learns it from the registry's answer instead.
pub(crate) async fn tag_mutability(
    host: &str,
    repo: &str,
    aws: &crate::aws::AwsOptions,
) -> crate::registry::tags::TagMutability {
    use crate::registry::tags::TagMutability;
    use aws_sdk_ecr::types::ImageTagMutability;
    let Ok((client, account)) = ecr_client(host, aws).await else {
        return TagMutability::Unknown;
    };
    let Ok(answer) = client
        .describe_repositories()
        .registry_id(account)
        .repository_names(repo)
        .send()
        .await
    else {
        return TagMutability::Unknown;
    };
    let Some(repository) = answer.repositories().first() else {
        return TagMutability::Unknown;
    };
    let filters: Vec<String> = repository
        .image_tag_mutability_exclusion_filters()
        .iter()
        .map(|f| f.filter().to_string())
        .collect();
    match repository.image_tag_mutability() {
        Some(ImageTagMutability::Mutable) => TagMutability::Mutable,
        Some(ImageTagMutability::Immutable) => TagMutability::Immutable { except: Vec::new() },
        Some(ImageTagMutability::ImmutableWithExclusion) => {
            TagMutability::Immutable { except: filters }
        }
        Some(ImageTagMutability::MutableWithExclusion) => TagMutability::MutableExcept { filters },
        _ => TagMutability::Unknown,
    }
}

/// The lifecycle policy text of repository `repo`, or `None` when it has none.
pub(crate) async fn lifecycle_policy(
    host: &str,
    repo: &str,
    aws: &crate::aws::AwsOptions,
) -> anyhow::Result<Option<String>> {
    let (client, account) = ecr_client(host, aws).await?;
    match client
        .get_lifecycle_policy()
        .registry_id(account)
        .repository_name(repo)
        .send()
        .await
    {
        Ok(answer) => Ok(answer.lifecycle_policy_text().map(str::to_string)),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_lifecycle_policy_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(e) => Err(AwsError::of(
            Service::Ecr,
            "GetLifecyclePolicy",
            &format!("{host}/{repo}"),
            &e,
        )
        .into()),
    }
}

/// The tags of image `digest` in repository `repo` (DescribeImages), or
/// `None` when ECR does not know the image (or the repository).
pub(crate) async fn image_tags(
    host: &str,
    repo: &str,
    digest: &str,
    aws: &crate::aws::AwsOptions,
) -> anyhow::Result<Option<Vec<String>>> {
    let (client, account) = ecr_client(host, aws).await?;
    let id = aws_sdk_ecr::types::ImageIdentifier::builder()
        .image_digest(digest)
        .build();
    match client
        .describe_images()
        .registry_id(account)
        .repository_name(repo)
        .image_ids(id)
        .send()
        .await
    {
        Ok(answer) => Ok(answer
            .image_details()
            .first()
            .map(|d| d.image_tags().to_vec())),
        Err(e)
            if e.as_service_error().is_some_and(|s| {
                s.is_image_not_found_exception() || s.is_repository_not_found_exception()
            }) =>
        {
            Ok(None)
        }
        Err(e) => Err(AwsError::of(
            Service::Ecr,
            "DescribeImages",
            &format!("{host}/{repo}@{digest}"),
            &e,
        )
        .into()),
    }
}

/// Pages of DescribeImages read to count a repository's images (1,000
/// images a page).
const MAX_IMAGE_PAGES: usize = 20;

/// How many images ECR lists in repository `repo` (DescribeImages, every
/// page: referrers included, as ECR counts them), or `None` past
/// [`MAX_IMAGE_PAGES`] pages (not known).
pub(crate) async fn image_count(
    host: &str,
    repo: &str,
    aws: &crate::aws::AwsOptions,
) -> anyhow::Result<Option<usize>> {
    let (client, account) = ecr_client(host, aws).await?;
    let mut count = 0;
    let mut token: Option<String> = None;
    for _ in 0..MAX_IMAGE_PAGES {
        let answer = client
            .describe_images()
            .registry_id(&account)
            .repository_name(repo)
            .max_results(1000)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| {
                AwsError::of(
                    Service::Ecr,
                    "DescribeImages",
                    &format!("{host}/{repo}"),
                    &e,
                )
            })?;
        count += answer.image_details().len();
        match answer.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_string()),
            _ => return Ok(Some(count)),
        }
    }
    Ok(None)
}

/// Creates repository `repo` in the ECR registry `host` unless it exists.
/// Returns true when it was created.
pub(crate) async fn ensure_repository(
    host: &str,
    repo: &str,
    aws: &crate::aws::AwsOptions,
) -> anyhow::Result<bool> {
    let (account, region) =
        ecr_host_parts(host).ok_or_else(|| anyhow::anyhow!("{host} is not an ECR host"))?;
    let client =
        aws_sdk_ecr::Client::new(&crate::aws::sdk_config(&aws.with_default_region(region)).await);
    let described = client
        .describe_repositories()
        .registry_id(account)
        .repository_names(repo)
        .send()
        .await;
    match described {
        Ok(_) => Ok(false),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_repository_not_found_exception()) =>
        {
            client
                .create_repository()
                .registry_id(account)
                .repository_name(repo)
                .send()
                .await
                .or_aws(Service::Ecr, "CreateRepository", &format!("{host}/{repo}"))?;
            Ok(true)
        }
        Err(e) => Err(AwsError::of(
            Service::Ecr,
            "DescribeRepositories",
            &format!("{host}/{repo}"),
            &e,
        )
        .into()),
    }
}
