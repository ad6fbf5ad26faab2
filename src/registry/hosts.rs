//! Which registry a host name is: Amazon ECR (`ACCOUNT.dkr.ecr.REGION.amazonaws.com`,
//! FIPS, China and dual-stack `*.on.aws` forms) or ECR Public
//! (`public.ecr.aws`). Pure string checks: the transport's hints and the
//! ECR code above it both ask here.

/// Amazon ECR Public's registry host (pulls work anonymously, through the
/// ordinary Bearer challenge; pushes need `docker login public.ecr.aws`).
pub(crate) const ECR_PUBLIC: &str = "public.ecr.aws";

/// The account and region of a private ECR registry host, if it is one:
/// `ACCOUNT.dkr.ecr.REGION.amazonaws.com` (and `.amazonaws.com.cn`), the FIPS
/// form `ACCOUNT.dkr.ecr-fips.REGION.amazonaws.com`, and the dual-stack
/// (IPv4 + IPv6) forms `ACCOUNT.dkr-ecr.REGION.on.aws` and
/// `ACCOUNT.dkr-ecr-fips.REGION.on.aws`.
pub(crate) fn ecr_host_parts(host: &str) -> Option<(&str, &str)> {
    let host = host.split(':').next().unwrap_or(host);
    let (account, region) = if let Some(rest) = host.strip_suffix(".on.aws") {
        let (account, rest) = rest.split_once(".dkr-ecr")?;
        let region = rest
            .strip_prefix('.')
            .or_else(|| rest.strip_prefix("-fips."))?;
        (account, region)
    } else {
        let rest = host
            .strip_suffix(".amazonaws.com")
            .or_else(|| host.strip_suffix(".amazonaws.com.cn"))?;
        let (account, rest) = rest.split_once(".dkr.ecr")?;
        let region = rest
            .strip_prefix('.')
            .or_else(|| rest.strip_prefix("-fips."))?;
        (account, region)
    };
    let valid_account = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    (valid_account && !region.is_empty() && !region.contains('.')).then_some((account, region))
}

/// True for private ECR registry hosts (every form [`ecr_host_parts`] knows).
pub(crate) fn is_ecr_host(host: &str) -> bool {
    ecr_host_parts(host).is_some()
}

/// True for Amazon ECR Public (`public.ecr.aws`).
pub(crate) fn is_ecr_public_host(host: &str) -> bool {
    host.split(':').next() == Some(ECR_PUBLIC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_ecr_hosts() {
        assert_eq!(
            ecr_host_parts("123456789012.dkr.ecr.ap-northeast-2.amazonaws.com"),
            Some(("123456789012", "ap-northeast-2"))
        );
        assert_eq!(
            ecr_host_parts("123456789012.dkr.ecr-fips.us-east-1.amazonaws.com"),
            Some(("123456789012", "us-east-1"))
        );
        assert_eq!(
            ecr_host_parts("123456789012.dkr-ecr.eu-west-1.on.aws"),
            Some(("123456789012", "eu-west-1"))
        );
        assert_eq!(
            ecr_host_parts("123456789012.dkr-ecr-fips.us-gov-west-1.on.aws"),
            Some(("123456789012", "us-gov-west-1"))
        );
        assert_eq!(
            ecr_host_parts("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn"),
            Some(("123456789012", "cn-north-1"))
        );
        assert!(is_ecr_public_host("public.ecr.aws"));
        assert!(
            !is_ecr_host("public.ecr.aws"),
            "no GetAuthorizationToken for ECR Public"
        );
        assert!(!is_ecr_host("ghcr.io"));
        assert!(!is_ecr_host(
            "123456789012.dkr-ecr.eu-west-1.on.aws.example"
        ));
        assert!(!is_ecr_host("12345.dkr.ecr.us-east-1.amazonaws.com"));
    }
}
