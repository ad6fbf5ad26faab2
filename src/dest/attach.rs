//! A built image's attestations (its SBOM and provenance, made by
//! [`crate::attest`]) written where the image went: referrers in a registry
//! repository, or untagged `index.json` entries in an OCI layout. A
//! docker archive holds none. A registry's refusal is one warning line; the
//! image stands.

use crate::attest::{referrers_for, AttestationFacts, Attestations, KIND_ANNOTATION};
use crate::dest::remote::RegistryAccess;
use crate::dest::{oci_layout, Location};
use crate::image::assemble::Publication;
use crate::image::Digest;
use crate::registry::referrers::{Referrer, ReferrerOutcome};
use crate::registry::ImageReference;
use anyhow::Result;
use serde::Serialize;
use std::path::Path;

/// One referrer a build attached.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttestationReport {
    /// `sbom` or `provenance`.
    pub kind: String,
    /// The image manifest it describes.
    pub subject: Digest,
    /// The referrer manifest's digest.
    pub digest: Digest,
    /// `api`, `fallback-tag`, `layout`, `already-there` or `refused`.
    pub outcome: String,
    /// Blobs uploaded for it (the document, the empty config once).
    pub uploaded_blobs: usize,
}

/// Where a build's attestations go.
enum Target<'a> {
    /// A registry repository, through `access`.
    Registry(&'a RegistryAccess, &'a ImageReference),
    /// An OCI layout.
    Layout(&'a Path),
}

/// Attaches the `chosen` attestations of each platform's image of
/// `publication` (with `facts`, one per image) where it was written: `to`.
pub(crate) async fn attach(
    to: &Location,
    access: Option<&RegistryAccess>,
    publication: &Publication,
    facts: &[AttestationFacts],
    platforms: &[String],
    chosen: Attestations,
) -> Result<Vec<AttestationReport>> {
    let (target, name) = match (to, access) {
        (Location::Registry(reference), Some(access)) => (
            Target::Registry(access, reference),
            format!("{}/{}", reference.registry, reference.repository),
        ),
        (Location::OciLayout { dir, .. }, _) => {
            (Target::Layout(dir), format!("oci:{}", dir.display()))
        }
        _ => return Ok(Vec::new()),
    };
    let mut reports = Vec::new();
    for (image, facts) in publication.images().iter().zip(facts) {
        let referrers = referrers_for(image, &name, platforms, chosen, facts)?;
        let written: Vec<(&'static str, usize)> = match target {
            Target::Registry(access, reference) => access
                .attach_referrers(reference, &referrers)
                .await?
                .into_iter()
                .map(|(referrer, pushed)| {
                    let outcome = match &pushed.outcome {
                        ReferrerOutcome::Api => "api",
                        ReferrerOutcome::FallbackTag { .. } => "fallback-tag",
                        ReferrerOutcome::AlreadyThere => "already-there",
                        ReferrerOutcome::Refused { reason } => {
                            eprintln!(
                                "hoist: warning: the {} of {} was not attached: {reason}",
                                kind_of(&referrer),
                                image.digest
                            );
                            "refused"
                        }
                    };
                    (outcome, pushed.uploaded_blobs)
                })
                .collect(),
            Target::Layout(dir) => oci_layout::add_referrers(dir, &referrers)?
                .into_iter()
                .map(|added| (if added { "layout" } else { "already-there" }, 0))
                .collect(),
        };
        for (referrer, (outcome, uploaded_blobs)) in referrers.iter().zip(written) {
            reports.push(AttestationReport {
                kind: kind_of(referrer),
                subject: image.digest.clone(),
                digest: referrer.digest.clone(),
                outcome: outcome.to_string(),
                uploaded_blobs,
            });
        }
    }
    Ok(reports)
}

/// `sbom` or `provenance`: the kind hoist's annotation gives a referrer.
fn kind_of(referrer: &Referrer) -> String {
    referrer
        .descriptor
        .annotation(KIND_ANNOTATION)
        .unwrap_or_default()
        .to_string()
}
