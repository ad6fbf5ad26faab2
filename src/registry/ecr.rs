//! Amazon ECR: recognising its hosts (`ACCOUNT.dkr.ecr.REGION.amazonaws.com`).

/// The account and region of an ECR registry host, if it is one.
pub fn ecr_host_parts(host: &str) -> Option<(&str, &str)> {
    let host = host.split(':').next().unwrap_or(host);
    let rest = host
        .strip_suffix(".amazonaws.com")
        .or_else(|| host.strip_suffix(".amazonaws.com.cn"))?;
    let (account, rest) = rest.split_once(".dkr.ecr")?;
    let region = rest
        .strip_prefix('.')
        .or_else(|| rest.strip_prefix("-fips."))?;
    let valid_account = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    (valid_account && !region.is_empty() && !region.contains('.')).then_some((account, region))
}

/// True for ECR registry hosts.
pub fn is_ecr_host(host: &str) -> bool {
    ecr_host_parts(host).is_some()
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
        assert!(!is_ecr_host("ghcr.io"));
        assert!(!is_ecr_host("12345.dkr.ecr.us-east-1.amazonaws.com"));
    }
}
