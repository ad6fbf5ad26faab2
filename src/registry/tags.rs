//! Putting a manifest under tags the way its repository allows.
//!
//! Many repositories keep tags immutable (ECR's `IMMUTABLE`, or
//! `IMMUTABLE_WITH_EXCLUSION` / `MUTABLE_WITH_EXCLUSION` with wildcard
//! filters). There a *moving* tag (`dev`, `latest`) that already names another
//! image cannot be written; a *unique* tag (`dev-{git_sha}`) can, and so can a
//! tag that already names this very manifest (an identical re-push is
//! success). What to do with a moving tag is the user's choice
//! ([`ImmutableTags`]): skip it with one warning line, or fail with a hint.
//!
//! When the repository's mutability is known ([`TagMutability`], read once
//! from ECR's DescribeRepositories) a tag it keeps immutable is looked up
//! before the `PUT`; when it is not, the registry's refusal (ECR: 400
//! `TAG_INVALID`) is the signal, and the tag is looked up then.

use crate::image::Digest;
use crate::registry::manifests::{manifest_digest, put_manifest, PutOutcome};
pub use crate::registry::tag_policy::ImmutableTags;
use crate::registry::transport::{answer_error, Registry};
use anyhow::{anyhow, Result};

/// A repository's tag mutability, as far as it is known.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) enum TagMutability {
    /// Not known (not ECR, or DescribeRepositories was not allowed).
    #[default]
    Unknown,
    /// Every tag may move.
    Mutable,
    /// No tag may move, except those matching the filters.
    Immutable {
        /// Wildcard filters (`*`) of tags that may move all the same.
        except: Vec<String>,
    },
    /// Every tag may move, except those matching the filters.
    MutableExcept {
        /// Wildcard filters (`*`) of tags that may not move.
        filters: Vec<String>,
    },
}

impl TagMutability {
    /// True when `tag` is known to be immutable here.
    pub(crate) fn is_immutable(&self, tag: &str) -> bool {
        match self {
            TagMutability::Unknown | TagMutability::Mutable => false,
            TagMutability::Immutable { except } => !except.iter().any(|f| wildcard(f, tag)),
            TagMutability::MutableExcept { filters } => filters.iter().any(|f| wildcard(f, tag)),
        }
    }
}

/// ECR's wildcards (exclusion filters, lifecycle `tagPatternList`): `*`
/// matches any run of characters.
pub(crate) fn wildcard(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

/// Which tags a manifest ended up under.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct TagResult {
    /// Tags that name the manifest now (written, or already naming it).
    pub written: Vec<String>,
    /// Immutable tags left naming another image.
    pub skipped: Vec<String>,
}

/// Puts the manifest `bytes` under each of `tags` in `repo`, following the
/// repository's `mutability` and the user's `policy` for moving tags. When
/// every tag is skipped, the manifest is still stored, by digest, so that
/// what was pushed can be deployed.
pub(crate) async fn put_tagged(
    registry: &Registry,
    repo: &str,
    tags: &[String],
    media_type: &str,
    bytes: &[u8],
    mutability: &TagMutability,
    policy: ImmutableTags,
) -> Result<TagResult> {
    let digest = Digest::of(bytes);
    let mut result = TagResult::default();
    for tag in tags {
        if mutability.is_immutable(tag) {
            match manifest_digest(registry, repo, tag).await? {
                Some(named) if named == digest => {
                    result.written.push(tag.clone());
                    continue;
                }
                Some(named) => {
                    moving_tag(registry, repo, tag, &named, policy, None)?;
                    result.skipped.push(tag.clone());
                    continue;
                }
                None => {}
            }
        }
        match put_manifest(registry, repo, tag, media_type, bytes).await? {
            PutOutcome::Stored => result.written.push(tag.clone()),
            PutOutcome::TagImmutable(answer) => {
                match manifest_digest(registry, repo, tag).await? {
                    Some(named) if named == digest => result.written.push(tag.clone()),
                    Some(named) => {
                        moving_tag(registry, repo, tag, &named, policy, Some(&answer))?;
                        result.skipped.push(tag.clone());
                    }
                    // Refused, yet naming nothing: not a tag policy at all.
                    None => {
                        return Err(answer_error(
                            &answer,
                            registry.host(),
                            &format!("pushing manifest {repo}:{tag}"),
                        ))
                    }
                }
            }
        }
    }
    if result.written.is_empty() {
        match put_manifest(registry, repo, digest.as_str(), media_type, bytes).await? {
            PutOutcome::Stored => {}
            PutOutcome::TagImmutable(answer) => {
                return Err(answer_error(
                    &answer,
                    registry.host(),
                    &format!("pushing manifest {repo}@{digest}"),
                ))
            }
        }
    }
    if !result.skipped.is_empty() {
        eprintln!(
            "warning: {}/{repo}: immutable tag{} {} already name{} another image and stay{} there; {digest} is pushed{} (--immutable-tags fail, or [registry] immutable-tags = \"fail\", makes this an error)",
            registry.host(),
            if result.skipped.len() == 1 { "" } else { "s" },
            result.skipped.join(", "),
            if result.skipped.len() == 1 { "s" } else { "" },
            if result.skipped.len() == 1 { "s" } else { "" },
            if result.written.is_empty() {
                " by digest only".to_string()
            } else {
                format!(" as {}", result.written.join(", "))
            }
        );
    }
    Ok(result)
}

/// A moving tag in an immutable repository: fine to skip, or the error.
fn moving_tag(
    registry: &Registry,
    repo: &str,
    tag: &str,
    named: &Digest,
    policy: ImmutableTags,
    answer: Option<&crate::registry::transport::ErrorAnswer>,
) -> Result<()> {
    if policy == ImmutableTags::Skip {
        return Ok(());
    }
    let said = answer
        .filter(|a| !a.code.is_empty())
        .map(|a| format!(" ({} {})", a.status, a.code))
        .unwrap_or_default();
    Err(anyhow!(
        "registry {}: tag {repo}:{tag} is immutable and already names {named}{said} (hint: use unique tags such as \"{{env}}-{{git_sha}}\" in [env.NAME] tags, or --immutable-tags skip ([registry] immutable-tags = \"skip\") to leave such tags where they are)",
        registry.host()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusion_filters_are_wildcards() {
        assert!(wildcard("latest", "latest"));
        assert!(!wildcard("latest", "latest2"));
        assert!(wildcard("dev-*", "dev-abc123"));
        assert!(!wildcard("dev-*", "prod-abc"));
        assert!(wildcard("*-snapshot", "1.0-snapshot"));
        assert!(wildcard("a*b*c", "a-x-b-y-c"));
        assert!(!wildcard("a*b*c", "a-x-c"));
        assert!(wildcard("*", "anything"));
    }

    #[test]
    fn which_tags_are_immutable() {
        assert!(!TagMutability::Unknown.is_immutable("dev"));
        assert!(!TagMutability::Mutable.is_immutable("dev"));
        let immutable = TagMutability::Immutable {
            except: vec!["dev".into(), "latest*".into()],
        };
        assert!(immutable.is_immutable("dev-abc"));
        assert!(!immutable.is_immutable("dev"));
        assert!(!immutable.is_immutable("latest-x"));
        let mutable = TagMutability::MutableExcept {
            filters: vec!["v*".into()],
        };
        assert!(mutable.is_immutable("v1.2"));
        assert!(!mutable.is_immutable("dev"));
    }

    #[test]
    fn the_policy_parses() {
        assert_eq!("skip".parse::<ImmutableTags>(), Ok(ImmutableTags::Skip));
        assert_eq!("fail".parse::<ImmutableTags>(), Ok(ImmutableTags::Fail));
        assert!("warn".parse::<ImmutableTags>().is_err());
    }
}
