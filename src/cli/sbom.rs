//! `hoist sbom JAR`: the CycloneDX 1.6 SBOM of a jar, as a table or (with
//! `--json`) the raw document. Reading an image's SBOM from its referrers,
//! or an OCI layout's, comes with attaching SBOMs to images.

use crate::cli::progress;
use anyhow::Result;
use hoist::error::usage_hint;
use hoist::sbom::cyclonedx::{Component, COORDINATES_PROPERTY};
use hoist::sbom::{jar_sbom, JarSbomOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// `hoist sbom`.
#[derive(Debug, clap::Args)]
pub struct SbomArgs {
    /// The jar (an image or OCI layout is not supported yet).
    #[arg(value_name = "JAR")]
    pub target: String,
    /// Print the CycloneDX JSON document.
    #[arg(long)]
    pub json: bool,
    /// The local Maven repository, searched for jars without pom.properties
    /// by exact SHA-1 [default: ~/.m2/repository].
    #[arg(long, value_name = "DIR", env = "MAVEN_REPO")]
    pub maven_repo: Option<PathBuf>,
}

/// Runs `hoist sbom`.
pub fn run_sbom(args: SbomArgs) -> Result<()> {
    let jar = jar_of(&args.target)?;
    let (timestamp, _) = hoist::reproducible_times(None)?;
    let maven_repository = args
        .maven_repo
        .or_else(hoist::sbom::default_maven_repository);
    let bom = jar_sbom(
        &jar,
        &JarSbomOptions {
            maven_repository,
            timestamp,
        },
    )?;
    let mut out = std::io::stdout().lock();
    if args.json {
        out.write_all(&bom.to_json())?;
        return Ok(());
    }
    let rows: Vec<[String; 4]> = bom.components.iter().map(row).collect();
    let headers = ["NAME", "VERSION", "PURL", "LICENCE"].map(String::from);
    let widths: Vec<usize> = (0..3)
        .map(|i| {
            rows.iter()
                .chain([&headers])
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for r in [&headers].into_iter().chain(&rows) {
        writeln!(
            out,
            "{:<w0$}  {:<w1$}  {:<w2$}  {}",
            r[0],
            r[1],
            r[2],
            r[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        )?;
    }
    let count = |how: &str| {
        bom.components
            .iter()
            .filter(|c| c.property(COORDINATES_PROPERTY) == Some(how))
            .count()
    };
    let app = &bom.metadata.component;
    progress::say(format_args!(
        "{} {}: {} jars, {} by pom.properties, {} by SHA-1 in the Maven repository, {} unknown",
        app.name,
        app.version.as_deref().unwrap_or("(no version)"),
        bom.components.len(),
        count("pom.properties"),
        count("local-repository"),
        count("unknown"),
    ));
    Ok(())
}

/// One table row: name, version, purl, licences.
fn row(component: &Component) -> [String; 4] {
    let licences: Vec<&str> = component
        .licenses
        .iter()
        .filter_map(|l| l.license.id.as_deref().or(l.license.name.as_deref()))
        .collect();
    [
        component.name.clone(),
        component.version.clone().unwrap_or_else(|| "-".into()),
        component
            .purl
            .clone()
            .unwrap_or_else(|| "(unknown coordinates)".into()),
        if licences.is_empty() {
            "-".into()
        } else {
            licences.join(", ")
        },
    ]
}

/// The jar `target` names; an image reference or OCI layout is refused for
/// now.
fn jar_of(target: &str) -> Result<PathBuf> {
    let path = Path::new(target);
    let not_yet = || {
        usage_hint(
            format!("hoist sbom {target}: reading the SBOM of an image or OCI layout is not supported yet"),
            "give the jar, e.g. hoist sbom build/libs/app.jar",
        )
    };
    if path.is_dir() {
        return Err(if path.join("oci-layout").is_file() {
            not_yet()
        } else {
            usage_hint(
                format!("hoist sbom {target}: a directory, not a jar"),
                "give the jar, e.g. hoist sbom build/libs/app.jar",
            )
        });
    }
    if path.exists() || target.ends_with(".jar") {
        return Ok(path.to_path_buf());
    }
    if target.starts_with("oci:")
        || target.starts_with("docker-archive:")
        || target.contains(['/', ':', '@'])
    {
        return Err(not_yet());
    }
    Ok(path.to_path_buf())
}
