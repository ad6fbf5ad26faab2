//! What a GitHub Actions run tells the provenance: the workflow that is the
//! builder and the run attempt that is the invocation — from a map of the
//! variables, so the mapping is tested without a CI; only
//! [`github_environment`] reads the process.

use std::collections::BTreeMap;

/// The variables the provenance reads.
pub const GITHUB_VARIABLES: [&str; 6] = [
    "GITHUB_ACTIONS",
    "GITHUB_SERVER_URL",
    "GITHUB_WORKFLOW_REF",
    "GITHUB_REPOSITORY",
    "GITHUB_RUN_ID",
    "GITHUB_RUN_ATTEMPT",
];

/// The [`GITHUB_VARIABLES`] set (and not empty) in this process.
pub fn github_environment() -> BTreeMap<String, String> {
    GITHUB_VARIABLES
        .iter()
        .filter_map(|name| {
            let value = std::env::var(name).ok().filter(|v| !v.is_empty())?;
            Some((name.to_string(), value))
        })
        .collect()
}

/// The server's URL, in a GitHub Actions run (`None` outside one).
fn server(env: &BTreeMap<String, String>) -> Option<String> {
    if env.get("GITHUB_ACTIONS").map(String::as_str) != Some("true") {
        return None;
    }
    let server = env
        .get("GITHUB_SERVER_URL")
        .map(String::as_str)
        .unwrap_or("https://github.com");
    Some(server.trim_end_matches('/').to_string())
}

/// `<server>/<GITHUB_WORKFLOW_REF>`, in a GitHub Actions run.
pub(super) fn builder_id(env: &BTreeMap<String, String>) -> Option<String> {
    let server = server(env)?;
    let workflow = env.get("GITHUB_WORKFLOW_REF")?;
    Some(format!("{server}/{workflow}"))
}

/// `<server>/<repository>/actions/runs/<id>/attempts/<attempt>` (without
/// the attempt when it is not known), in a GitHub Actions run.
pub(super) fn invocation_id(env: &BTreeMap<String, String>) -> Option<String> {
    let server = server(env)?;
    let repository = env.get("GITHUB_REPOSITORY")?;
    let run = env.get("GITHUB_RUN_ID")?;
    let mut id = format!("{server}/{repository}/actions/runs/{run}");
    if let Some(attempt) = env.get("GITHUB_RUN_ATTEMPT") {
        id.push_str(&format!("/attempts/{attempt}"));
    }
    Some(id)
}

/// A git remote fit to publish: no `user:token@` (nor any user), and the
/// scp-like `git@host:path` written as the URL `ssh://host/path`.
pub(super) fn without_credentials(remote: &str) -> String {
    if let Some((scheme, rest)) = remote.split_once("://") {
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        return format!("{scheme}://{host}{path}");
    }
    match remote.split_once(':') {
        Some((user_host, path)) if user_host.contains('@') && !user_host.contains('/') => {
            let host = user_host.rsplit_once('@').map_or(user_host, |(_, h)| h);
            format!("ssh://{host}/{}", path.trim_start_matches('/'))
        }
        _ => remote.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remotes_lose_credentials_and_scp_syntax() {
        for (given, published) in [
            (
                "https://github.com/example/demo.git",
                "https://github.com/example/demo.git",
            ),
            (
                "https://x-access-token:ghs_x@github.com/example/demo",
                "https://github.com/example/demo",
            ),
            ("https://user@host:8443/a/b", "https://host:8443/a/b"),
            (
                "git@github.com:example/demo.git",
                "ssh://github.com/example/demo.git",
            ),
            ("ssh://git@host/a.git", "ssh://host/a.git"),
            ("/srv/git/demo.git", "/srv/git/demo.git"),
        ] {
            assert_eq!(without_credentials(given), published, "{given}");
        }
    }
}
