//! Old task-definition revisions cleaned up (`keep-revisions = N`): after a
//! stable deploy, the family's ACTIVE revisions beyond the newest N are
//! deregistered (API_DeregisterTaskDefinition.html) — never one that a
//! service of the cluster uses (any of its deployments), never the rollback
//! target (the revision the service was on before, and the newest one
//! below the current, which `hoist rollback` would pick), and never one
//! hoist did not register (tag `hoist:registered-by`) unless asked. A
//! refused DeregisterTaskDefinition is a note, never a failed deploy.
//!
//! [`choose`] decides (pure); [`clean_up`] reads and acts.

use crate::ecs::client::EcsClient;
use crate::ecs::service::short_arn;
use anyhow::Result;
use serde::Serialize;
use std::collections::BTreeSet;

/// What the clean-up of one family did (or, on a dry run, would do).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RevisionCleanup {
    /// The task-definition family.
    pub family: String,
    /// How many newest revisions are kept.
    pub keep: u32,
    /// Deregistered (on a dry run: would be).
    pub deregistered: Vec<String>,
    /// Beyond the newest N but kept: in use, or the rollback target.
    pub kept_in_use: Vec<String>,
    /// Beyond the newest N but not registered by hoist (kept without
    /// `--all-revisions`).
    pub kept_not_hoists: Vec<String>,
    /// DeregisterTaskDefinition refused these (ARN: why).
    pub refused: Vec<String>,
    /// Nothing was changed.
    pub dry_run: bool,
}

impl RevisionCleanup {
    /// The one line said after the deploy.
    pub fn line(&self) -> String {
        let verb = if self.dry_run {
            "would deregister"
        } else {
            "deregistered"
        };
        let count = self.deregistered.len();
        let mut line = format!(
            "{verb} {count} old revision{} of {} (keep-revisions = {})",
            if count == 1 { "" } else { "s" },
            self.family,
            self.keep
        );
        if !self.kept_in_use.is_empty() {
            line.push_str(&format!(
                "; kept {} in use or the rollback target",
                self.kept_in_use.len()
            ));
        }
        if !self.kept_not_hoists.is_empty() {
            line.push_str(&format!(
                "; kept {} that hoist did not register (--all-revisions deregisters them too)",
                self.kept_not_hoists.len()
            ));
        }
        if !self.refused.is_empty() {
            line.push_str(&format!(
                "; note: {} refused ({})",
                self.refused.len(),
                self.refused.join("; ")
            ));
        }
        line
    }
}

/// One ACTIVE revision, as the decision sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Revision {
    /// Its ARN.
    pub(crate) arn: String,
    /// Its revision number.
    pub(crate) number: i64,
    /// hoist registered it (`None`: not looked up).
    pub(crate) by_hoist: Option<bool>,
}

/// Which of `revisions` (one family's ACTIVE ones) to deregister, keeping
/// the newest `keep`, everything in `protected`, and — unless
/// `all_revisions` — what hoist did not register. Returns (deregister,
/// kept as protected, kept as not hoist's), newest first.
pub(crate) fn choose(
    revisions: &[Revision],
    keep: u32,
    protected: &BTreeSet<String>,
    all_revisions: bool,
) -> (Vec<String>, Vec<String>, Vec<String>) {
    let mut sorted: Vec<&Revision> = revisions.iter().collect();
    sorted.sort_by_key(|r| std::cmp::Reverse(r.number));
    let (mut gone, mut in_use, mut not_hoists) = (Vec::new(), Vec::new(), Vec::new());
    for revision in sorted.into_iter().skip(keep as usize) {
        if protected.contains(&revision.arn) {
            in_use.push(revision.arn.clone());
        } else if !all_revisions && revision.by_hoist != Some(true) {
            not_hoists.push(revision.arn.clone());
        } else {
            gone.push(revision.arn.clone());
        }
    }
    (gone, in_use, not_hoists)
}

/// The revision number at the end of a task-definition ARN.
fn number_of(arn: &str) -> i64 {
    short_arn(arn)
        .rsplit_once(':')
        .and_then(|(_, n)| n.parse().ok())
        .unwrap_or(0)
}

/// What to clean up, and how.
pub(crate) struct CleanupRequest<'a> {
    /// The cluster whose services' revisions are in use.
    pub(crate) cluster: &'a str,
    /// The family's current revision (the one just deployed).
    pub(crate) current: &'a str,
    /// The revision the service was on before the deploy.
    pub(crate) previous: &'a str,
    /// How many newest revisions to keep.
    pub(crate) keep: u32,
    /// Deregister revisions hoist did not register too.
    pub(crate) all_revisions: bool,
    /// Change nothing; say what would go. (A dry run registers nothing, so
    /// one place is left for the revision a real run would add.)
    pub(crate) dry_run: bool,
}

/// Cleans up the family of `request.current`.
pub(crate) async fn clean_up(
    client: &EcsClient,
    request: &CleanupRequest<'_>,
) -> Result<RevisionCleanup> {
    let family = short_arn(request.current)
        .rsplit_once(':')
        .map(|(f, _)| f.to_string())
        .unwrap_or_default();
    let arns = client.family_revisions(&family).await?;
    let current = number_of(request.current);
    let mut protected: BTreeSet<String> = client
        .task_definitions_in_use(request.cluster)
        .await?
        .into_iter()
        .collect();
    protected.insert(request.current.to_string());
    protected.insert(request.previous.to_string());
    // What `hoist rollback` would go back to: the newest below the current.
    if let Some(below) = arns
        .iter()
        .filter(|a| number_of(a) < current)
        .max_by_key(|a| number_of(a))
    {
        protected.insert(below.clone());
    }
    let keep = if request.dry_run {
        request.keep.saturating_sub(1)
    } else {
        request.keep
    };
    let mut revisions: Vec<Revision> = arns
        .iter()
        .map(|arn| Revision {
            arn: arn.clone(),
            number: number_of(arn),
            by_hoist: None,
        })
        .collect();
    // Who registered them: only the candidates are looked up.
    if !request.all_revisions {
        let (candidates, _, _) = choose(&revisions, keep, &protected, true);
        for revision in &mut revisions {
            if candidates.contains(&revision.arn) {
                let described = client.describe_task_definition_raw(&revision.arn).await?;
                revision.by_hoist =
                    Some(crate::ecs::taskdef::revision_tags::read(&described["tags"]).by_hoist);
            }
        }
    }
    let (gone, kept_in_use, kept_not_hoists) =
        choose(&revisions, keep, &protected, request.all_revisions);
    let mut report = RevisionCleanup {
        family,
        keep: request.keep,
        kept_in_use,
        kept_not_hoists,
        dry_run: request.dry_run,
        ..Default::default()
    };
    for arn in gone {
        if request.dry_run {
            report.deregistered.push(arn);
            continue;
        }
        match client.deregister_task_definition(&arn).await {
            Ok(()) => report.deregistered.push(arn),
            Err(error) => report.refused.push(format!(
                "{}: {}",
                short_arn(&arn),
                crate::error::one_line(&error)
            )),
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn revision(n: i64, by_hoist: bool) -> Revision {
        Revision {
            arn: format!("arn:aws:ecs:r:1:task-definition/app:{n}"),
            number: n,
            by_hoist: Some(by_hoist),
        }
    }

    #[test]
    fn the_newest_are_kept_and_in_use_and_foreign_ones_stay() {
        let revisions: Vec<Revision> = (1..=8).map(|n| revision(n, n != 2)).collect();
        let protected: BTreeSet<String> = [revisions[0].arn.clone(), revisions[4].arn.clone()]
            .into_iter()
            .collect();
        let (gone, in_use, foreign) = choose(&revisions, 3, &protected, false);
        let numbers = |arns: &[String]| -> Vec<i64> { arns.iter().map(|a| number_of(a)).collect() };
        assert_eq!(numbers(&gone), [4, 3]);
        assert_eq!(numbers(&in_use), [5, 1]);
        assert_eq!(numbers(&foreign), [2]);
        let (gone, _, foreign) = choose(&revisions, 3, &protected, true);
        assert_eq!(numbers(&gone), [4, 3, 2]);
        assert!(foreign.is_empty());
    }

    #[test]
    fn the_line_counts_and_says_a_dry_run() {
        let report = RevisionCleanup {
            family: "app".into(),
            keep: 3,
            deregistered: vec!["a".into(), "b".into()],
            kept_not_hoists: vec!["c".into()],
            dry_run: true,
            ..Default::default()
        };
        assert_eq!(
            report.line(),
            "would deregister 2 old revisions of app (keep-revisions = 3); kept 1 that hoist did not register (--all-revisions deregisters them too)"
        );
    }
}
