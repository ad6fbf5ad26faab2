//! Image references: `[REGISTRY/]REPOSITORY[:TAG][@DIGEST]`, Docker's grammar,
//! with Docker Hub's names normalised: `x`, `docker.io/x`,
//! `docker.io/library/x`, `index.docker.io/library/x` and
//! `registry-1.docker.io/library/x` are all repository `library/x` on
//! `registry-1.docker.io`, the host that serves Docker Hub's v2 API.
//!
//! The parser is hand-written rather than `oci_spec::distribution::Reference`
//! (oci-spec 0.10, looked at for this): oci-spec would bring regex,
//! derive_builder, getset, strum and const_format, with their proc-macro
//! stacks, into the build for a parser of some sixty lines; its
//! `resolve_registry()` sends Docker Hub to `index.docker.io` (the v1 index
//! name), where hoist needs `registry-1.docker.io` and looks credentials up
//! under every Docker Hub name; and its errors are an enum, where hoist's
//! say which reference is wrong and how to write it, in one line. The
//! grammar here is Docker's for every reference the tests below name.

use crate::error::usage_hint;
use crate::image::Digest;
use std::fmt;

/// Checks a tag against the OCI grammar `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
pub(crate) fn check_tag(tag: &str) -> Result<(), &'static str> {
    let mut chars = tag.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    if !first_ok
        || tag.len() > 128
        || !chars.all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        return Err("is not a valid tag (letters, digits, '_', '.', '-'; at most 128; not starting with '.' or '-')");
    }
    Ok(())
}

/// Docker Hub's registry host, for references without one.
pub(crate) const DOCKER_HUB: &str = "registry-1.docker.io";

/// The names Docker Hub goes by in references and docker configs.
pub(crate) const DOCKER_HUB_ALIASES: [&str; 3] = ["docker.io", "index.docker.io", DOCKER_HUB];

/// `registry` as hoist reaches it: Docker Hub's aliases become [`DOCKER_HUB`].
pub(crate) fn normalize_registry(registry: &str) -> &str {
    if DOCKER_HUB_ALIASES.contains(&registry) {
        DOCKER_HUB
    } else {
        registry
    }
}

/// A parsed image reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageReference {
    /// Registry host (and port).
    pub registry: String,
    /// Repository path within the registry.
    pub repository: String,
    /// Tag, if given.
    pub tag: Option<String>,
    /// Digest, if given.
    pub digest: Option<Digest>,
}

impl ImageReference {
    /// Parses a reference; a first path component with `.` or `:` (or
    /// `localhost`) names the registry, otherwise Docker Hub is meant.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let bad = |why: &str| {
            usage_hint(
                format!("image reference {text:?}: {why}"),
                "write REGISTRY/REPOSITORY[:TAG][@sha256:…], e.g. 127.0.0.1:5000/app:1.0",
            )
        };
        let (name, digest) = match text.split_once('@') {
            Some((name, digest)) => (name, Some(Digest::parse(digest).map_err(|e| bad(&e))?)),
            None => (text, None),
        };
        let (name, tag) = match name.rsplit_once(':') {
            Some((n, t)) if !t.contains('/') => (n, Some(t.to_string())),
            _ => (name, None),
        };
        let (registry, repository) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (normalize_registry(first).to_string(), rest.to_string())
            }
            _ => (DOCKER_HUB.to_string(), name.to_string()),
        };
        // Docker Hub's official images live under `library/`.
        let repository = if registry == DOCKER_HUB && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
        let component_ok = |c: &str| {
            !c.is_empty()
                && c.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
                && c.as_bytes()[0].is_ascii_alphanumeric()
        };
        if repository.is_empty() || !repository.split('/').all(component_ok) {
            return Err(bad(
                "the repository must be lowercase letters, digits and . _ - /",
            ));
        }
        if let Some(tag) = &tag {
            check_tag(tag).map_err(|why| bad(&format!("tag {tag:?} {why}")))?;
        }
        Ok(Self {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// What to ask the registry for: the digest, else the tag, else `latest`.
    pub fn reference(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => "latest".into(),
        }
    }

    /// This repository pinned to `digest`, as a task definition should name
    /// it (Docker Hub images without the registry host).
    pub fn pinned(&self, digest: &Digest) -> String {
        if self.registry == DOCKER_HUB {
            format!("{}@{digest}", self.repository)
        } else {
            format!("{}/{}@{digest}", self.registry, self.repository)
        }
    }

    /// The same repository with another tag.
    pub fn with_tag(&self, tag: &str) -> Self {
        Self {
            tag: Some(tag.to_string()),
            digest: None,
            ..self.clone()
        }
    }
}

impl fmt::Display for ImageReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_references() {
        let r = ImageReference::parse("127.0.0.1:5000/team/app:1.0").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str(), r.tag.as_deref()),
            ("127.0.0.1:5000", "team/app", Some("1.0"))
        );
        let hub = ImageReference::parse("eclipse-temurin:17-jre").unwrap();
        assert_eq!(
            (hub.registry.as_str(), hub.repository.as_str()),
            (DOCKER_HUB, "library/eclipse-temurin")
        );
        let ecr =
            ImageReference::parse("123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/plog-back")
                .unwrap();
        assert_eq!(ecr.reference(), "latest");
        let pinned = ImageReference::parse(&format!("localhost/app@{}", Digest::of(b""))).unwrap();
        assert_eq!(pinned.reference(), Digest::of(b"").to_string());
        assert!(ImageReference::parse("127.0.0.1:5000/App:1").is_err());
        assert!(ImageReference::parse("docker.io/").is_err());
        assert!(ImageReference::parse("127.0.0.1:5000/app:bad tag").is_err());
        assert!(ImageReference::parse("127.0.0.1:5000/app:").is_err());
        assert!(ImageReference::parse("127.0.0.1:5000/app:../other").is_err());
    }

    #[test]
    fn docker_hub_names_all_reach_registry_1_under_library() {
        for text in [
            "temurin:17",
            "docker.io/temurin:17",
            "docker.io/library/temurin:17",
            "index.docker.io/library/temurin:17",
            "registry-1.docker.io/library/temurin:17",
            "docker://temurin:17",
        ] {
            let text = text.strip_prefix("docker://").unwrap_or(text);
            let r = ImageReference::parse(text).unwrap();
            assert_eq!(
                (r.registry.as_str(), r.repository.as_str(), r.tag.as_deref()),
                (DOCKER_HUB, "library/temurin", Some("17")),
                "{text}"
            );
        }
        let user = ImageReference::parse("docker.io/bitnami/redis").unwrap();
        assert_eq!(
            (user.registry.as_str(), user.repository.as_str()),
            (DOCKER_HUB, "bitnami/redis")
        );
        let other = ImageReference::parse("ghcr.io/x").unwrap();
        assert_eq!(other.repository, "x", "only Docker Hub adds library/");
    }
}
