//! Would an ECR lifecycle policy expire an image? Evaluated here from the
//! policy's JSON (GetLifecyclePolicy), because GetLifecyclePolicyPreview only
//! says what expires *now*, needs a start call and polling, and moto (the
//! tests' ECR) does not implement it.
//!
//! ECR's rules, as its user guide states them: rules apply in `rulePriority`
//! order, lowest first; an image is handled by the first rule whose tag
//! selection it matches, and a lower-priority rule can never expire it after
//! that. `tagStatus` is `tagged` (then every entry of `tagPrefixList`, or of
//! `tagPatternList` with `*` wildcards, must match one of the image's tags),
//! `untagged` (no tags) or `any`. Policies expire *images*, not tags: an image
//! tagged `dev-1` and `prod-1` is selected by a rule for `dev` unless a rule
//! of higher priority selects it first. That is the trap `promote` runs into,
//! and what [`LifecyclePolicy::risk`] reports.
//!
//! A count rule keeping [`KEEP_THRESHOLD`] images or more is read as "keep":
//! that is how policies say it, having no keep action.
//!
//! ECR counts each OCI 1.1 referrer (an SBOM, a provenance, a signature) as
//! an image of the repository (aws/containers-roadmap#2613): untagged, so
//! `untagged` and `any` rules select them and they fill an
//! `imageCountMoreThan` count like any image. [`LifecyclePolicy::risk_counted`]
//! takes what is known of the repository's count ([`Counted`]) and says so.

use serde::Deserialize;

/// `imageCountMoreThan` at or above this counts as keeping the images.
pub(crate) const KEEP_THRESHOLD: i64 = 1000;

/// A repository's lifecycle policy.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct LifecyclePolicy {
    rules: Vec<Rule>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    rule_priority: i64,
    #[serde(default)]
    description: Option<String>,
    selection: Selection,
    action: Action,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Selection {
    tag_status: String,
    #[serde(default)]
    tag_prefix_list: Vec<String>,
    #[serde(default)]
    tag_pattern_list: Vec<String>,
    count_type: String,
    #[serde(default)]
    count_unit: Option<String>,
    count_number: i64,
}

#[derive(Clone, Debug, Deserialize)]
struct Action {
    #[serde(rename = "type")]
    kind: String,
}

/// The rule that may expire an image, in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ExpiryRisk {
    /// The rule's priority.
    pub priority: i64,
    /// What the rule selects and when it expires, for people.
    pub rule: String,
}

/// What is known of the images ECR counts in a repository.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counted {
    /// Every image ECR lists (DescribeImages), referrers included; `None`:
    /// not known.
    pub images: Option<usize>,
    /// Of those, the referrers (manifests with a `subject`).
    pub referrers: usize,
}

impl Rule {
    /// An expiring count rule over untagged or any images: one that counts
    /// referrers, which ECR lists as untagged images.
    fn counts_referrers(&self) -> bool {
        matches!(self.selection.tag_status.as_str(), "untagged" | "any")
            && self.selection.count_type == "imageCountMoreThan"
            && self.action.kind == "expire"
    }
}

impl LifecyclePolicy {
    /// [`Self::risk`], counting images as ECR does: referrers are untagged
    /// images, so a rule selecting untagged or any images counts them, and
    /// a "keep" count rule (at [`KEEP_THRESHOLD`] or more) still expires
    /// the image once the images it counts, referrers included, exceed it.
    /// When referrers take part in the count, the risk says how many.
    pub(crate) fn risk_counted(&self, tags: &[String], counted: &Counted) -> Option<ExpiryRisk> {
        let rule = self.first_selecting(tags)?;
        let s = &rule.selection;
        let counts_referrers = counted.referrers > 0 && rule.counts_referrers();
        let overflowing = counts_referrers
            && counted
                .images
                .is_some_and(|n| i64::try_from(n).unwrap_or(i64::MAX) > s.count_number);
        let mut risk = match self.risk(tags) {
            Some(risk) => risk,
            None if overflowing => ExpiryRisk {
                priority: rule.rule_priority,
                rule: format!(
                    "rule {} keeps the newest {} images and the repository has {}",
                    rule.rule_priority,
                    s.count_number,
                    counted.images.unwrap_or_default()
                ),
            },
            None => return None,
        };
        if counts_referrers {
            risk.rule.push_str(&format!(
                "; {} of the images counted are referrers (SBOMs, provenance, signatures)",
                counted.referrers
            ));
        }
        Some(risk)
    }

    /// Whether the rule handling an image with `tags` counts images among
    /// which ECR counts referrers (an `untagged` or `any` count rule that
    /// expires): then the repository's image count matters.
    pub(crate) fn counts_referrers(&self, tags: &[String]) -> bool {
        self.first_selecting(tags)
            .is_some_and(|rule| rule.counts_referrers())
    }

    /// The rule that handles an image with `tags`: the first, by priority,
    /// whose selection takes it.
    fn first_selecting(&self, tags: &[String]) -> Option<&Rule> {
        let mut rules: Vec<&Rule> = self.rules.iter().collect();
        rules.sort_by_key(|r| r.rule_priority);
        rules.into_iter().find(|r| r.selects(tags))
    }

    /// Parses the policy text GetLifecyclePolicy returns.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|e| format!("not a lifecycle policy ({e})"))
    }

    /// The rule that would expire an image with `tags`, if one would.
    pub(crate) fn risk(&self, tags: &[String]) -> Option<ExpiryRisk> {
        let rule = self.first_selecting(tags)?;
        let s = &rule.selection;
        let keeps = rule.action.kind != "expire"
            || (s.count_type == "imageCountMoreThan" && s.count_number >= KEEP_THRESHOLD);
        if keeps {
            return None;
        }
        let selected = match s.tag_status.as_str() {
            "untagged" => "untagged images".to_string(),
            "any" => "every image".to_string(),
            _ if !s.tag_pattern_list.is_empty() => {
                format!("images tagged {}", s.tag_pattern_list.join(" and "))
            }
            _ => format!(
                "images tagged {}",
                s.tag_prefix_list
                    .iter()
                    .map(|p| format!("{p}*"))
                    .collect::<Vec<_>>()
                    .join(" and ")
            ),
        };
        let age = format!(
            "{} {}",
            s.count_number,
            s.count_unit.as_deref().unwrap_or("days")
        );
        let when = match s.count_type.as_str() {
            "imageCountMoreThan" => format!("beyond the newest {}", s.count_number),
            "sinceImagePushed" => format!("{age} after they were pushed"),
            "sinceImagePulled" => format!("{age} after they were last pulled"),
            other => format!("{age} ({other})"),
        };
        let description = rule
            .description
            .as_deref()
            .map(|d| format!(" ({d:?})"))
            .unwrap_or_default();
        Some(ExpiryRisk {
            priority: rule.rule_priority,
            rule: format!(
                "rule {}{description} expires {selected} {when}",
                rule.rule_priority
            ),
        })
    }
}

impl Rule {
    /// ECR's tag matching: does this rule's selection take an image with `tags`?
    fn selects(&self, tags: &[String]) -> bool {
        let s = &self.selection;
        match s.tag_status.as_str() {
            "any" => true,
            "untagged" => tags.is_empty(),
            "tagged" => {
                let prefixes_ok = s
                    .tag_prefix_list
                    .iter()
                    .all(|p| tags.iter().any(|t| t.starts_with(p.as_str())));
                let patterns_ok = s
                    .tag_pattern_list
                    .iter()
                    .all(|p| tags.iter().any(|t| crate::registry::tags::wildcard(p, t)));
                !tags.is_empty() && prefixes_ok && patterns_ok
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|t| t.to_string()).collect()
    }

    const POLICY: &str = r#"{"rules":[
        {"rulePriority":20,"description":"last 20 dev builds","selection":{"tagStatus":"tagged","tagPrefixList":["dev"],"countType":"imageCountMoreThan","countNumber":20},"action":{"type":"expire"}},
        {"rulePriority":30,"selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":1},"action":{"type":"expire"}}
    ]}"#;

    #[test]
    fn a_dev_prefix_rule_takes_an_image_even_when_it_is_also_tagged_prod() {
        let policy = LifecyclePolicy::parse(POLICY).unwrap();
        let risk = policy.risk(&tags(&["dev-abc", "dev"])).unwrap();
        assert_eq!(risk.priority, 20);
        assert!(
            risk.rule.contains("dev*") && risk.rule.contains("newest 20"),
            "{}",
            risk.rule
        );
        assert_eq!(
            policy
                .risk(&tags(&["dev-abc", "prod-abc"]))
                .map(|r| r.priority),
            Some(20),
            "policies expire images, not tags"
        );
        assert_eq!(policy.risk(&tags(&["prod-abc"])), None);
        assert_eq!(policy.risk(&[]).map(|r| r.priority), Some(30));
    }

    #[test]
    fn a_higher_priority_keep_rule_protects_the_image() {
        let text = POLICY.replace(
            r#"{"rules":["#,
            r#"{"rules":[{"rulePriority":1,"selection":{"tagStatus":"tagged","tagPatternList":["prod-*"],"countType":"imageCountMoreThan","countNumber":9999},"action":{"type":"expire"}},"#,
        );
        let policy = LifecyclePolicy::parse(&text).unwrap();
        assert_eq!(policy.risk(&tags(&["dev-abc", "prod-abc"])), None);
        assert!(policy.risk(&tags(&["dev-abc"])).is_some());
    }

    #[test]
    fn prefix_lists_need_every_prefix_and_any_takes_all() {
        let text = r#"{"rules":[{"rulePriority":5,"selection":{"tagStatus":"tagged","tagPrefixList":["dev","arm"],"countType":"sinceImagePushed","countUnit":"days","countNumber":7},"action":{"type":"expire"}},
            {"rulePriority":9,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":100},"action":{"type":"expire"}}]}"#;
        let policy = LifecyclePolicy::parse(text).unwrap();
        assert_eq!(
            policy.risk(&tags(&["dev-1", "arm-1"])).map(|r| r.priority),
            Some(5)
        );
        assert_eq!(policy.risk(&tags(&["dev-1"])).map(|r| r.priority), Some(9));
        assert!(LifecyclePolicy::parse("{}").is_err());
    }

    #[test]
    fn referrers_count_as_untagged_images_as_ecr_counts_them() {
        let text = r#"{"rules":[{"rulePriority":1,"selection":{"tagStatus":"tagged","tagPatternList":["prod-*"],"countType":"imageCountMoreThan","countNumber":9999},"action":{"type":"expire"}},
            {"rulePriority":2,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1000},"action":{"type":"expire"}}]}"#;
        let policy = LifecyclePolicy::parse(text).unwrap();
        let counted = |images, referrers| Counted { images, referrers };
        // 600 images and their SBOM and provenance: 1800 counted, over 1000.
        let risk = policy
            .risk_counted(&tags(&["dev-1"]), &counted(Some(1800), 1200))
            .unwrap();
        assert_eq!(risk.priority, 2);
        assert!(
            risk.rule
                .contains("newest 1000 images and the repository has 1800")
                && risk.rule.contains(
                    "1200 of the images counted are referrers (SBOMs, provenance, signatures)"
                ),
            "{}",
            risk.rule
        );
        // Within the count, or no referrers, or an unknown total: kept.
        assert_eq!(
            policy.risk_counted(&tags(&["dev-1"]), &counted(Some(900), 600)),
            None
        );
        assert_eq!(
            policy.risk_counted(&tags(&["dev-1"]), &counted(None, 600)),
            None
        );
        assert_eq!(
            policy.risk_counted(&tags(&["dev-1"]), &counted(Some(1800), 0)),
            None
        );
        // A tagged rule does not count referrers (they are untagged).
        assert_eq!(
            policy.risk_counted(&tags(&["prod-1"]), &counted(Some(20000), 19000)),
            None
        );
        // A count rule that expires anyway names the referrers it counts.
        let policy = LifecyclePolicy::parse(POLICY).unwrap();
        let risk = policy.risk_counted(&[], &counted(None, 4));
        assert_eq!(
            risk.map(|r| r.priority),
            Some(30),
            "untagged by age: no count"
        );
        let text = r#"{"rules":[{"rulePriority":3,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":50},"action":{"type":"expire"}}]}"#;
        let risk = LifecyclePolicy::parse(text)
            .unwrap()
            .risk_counted(&tags(&["dev-1"]), &counted(Some(40), 2))
            .unwrap();
        assert!(
            risk.rule
                .ends_with("2 of the images counted are referrers (SBOMs, provenance, signatures)"),
            "{}",
            risk.rule
        );
        assert_eq!(
            LifecyclePolicy::parse(text)
                .unwrap()
                .risk(&tags(&["dev-1"]))
                .unwrap()
                .rule,
            "rule 3 expires every image beyond the newest 50"
        );
    }
}
