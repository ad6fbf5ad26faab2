//! `hoist sbom JAR|IMAGE|oci:DIR[:TAG]`: the CycloneDX 1.6 SBOM of a jar
//! (computed), or the one attached to an image as a referrer (read), as a
//! table or (with `--json`) the raw document.

use crate::cli::args::{AwsArgs, RegistryArgs};
use crate::cli::progress;
use anyhow::{Context, Result};
use hoist::attached_sbom::{layout_sbom, registry_sbom, AttachedSbom, NoSbom};
use hoist::error::{usage, usage_hint};
use hoist::sbom::cyclonedx::COORDINATES_PROPERTY;
use hoist::sbom::{jar_sbom, JarSbomOptions};
use hoist::Location;
use std::io::Write;
use std::path::{Path, PathBuf};

/// `hoist sbom`.
#[derive(Debug, clap::Args)]
pub struct SbomArgs {
    /// The jar, an image in a registry (REGISTRY/REPO:TAG or @DIGEST), or an OCI layout (oci:DIR[:TAG]).
    #[arg(value_name = "JAR|IMAGE")]
    pub target: String,
    /// Print the CycloneDX JSON document.
    #[arg(long)]
    pub json: bool,
    /// The local Maven repository, searched for jars without pom.properties
    /// by exact SHA-1 [default: ~/.m2/repository].
    #[arg(long, value_name = "DIR", env = "MAVEN_REPO")]
    pub maven_repo: Option<PathBuf>,
    /// For an image index: the platform whose SBOM to print [default: linux/amd64, else the only one].
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<String>,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// Runs `hoist sbom`.
pub async fn run_sbom(args: SbomArgs) -> Result<()> {
    if let Some(attached) = attached_sbom(&args).await? {
        if args.json {
            std::io::stdout().lock().write_all(&attached.bytes)?;
            return Ok(());
        }
        let bom: serde_json::Value =
            serde_json::from_slice(&attached.bytes).with_context(|| {
                format!(
                    "{}: the attached SBOM {} is not JSON (--json prints it as it is)",
                    args.target, attached.referrer
                )
            })?;
        return print_table(&bom, "components");
    }
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
    if args.json {
        std::io::stdout().lock().write_all(&bom.to_json())?;
        return Ok(());
    }
    let bom: serde_json::Value = serde_json::from_slice(&bom.to_json())?;
    print_table(&bom, "jars")
}

/// The hint for an image without an attached SBOM.
const NO_SBOM_HINT: &str =
    "build and push it with hoist (attestations on), or compute one from the jar: hoist sbom build/libs/app.jar";

/// The SBOM attached to the image or OCI layout `args.target` names;
/// `None` when it names a jar.
async fn attached_sbom(args: &SbomArgs) -> Result<Option<AttachedSbom>> {
    let target = args.target.as_str();
    let path = Path::new(target);
    let platform = args
        .platform
        .as_deref()
        .map(|p| hoist::image::Platform::parse(p).map_err(usage))
        .transpose()?;
    if target.starts_with("oci:") {
        let Location::OciLayout { dir, tag } = Location::parse(target)? else {
            unreachable!("oci: parses as a layout")
        };
        return match layout_sbom(&dir, tag.as_deref(), platform.as_ref())? {
            Some(found) => Ok(Some(found)),
            None => Err(usage_hint(
                format!("hoist sbom {target}: no SBOM in the layout"),
                NO_SBOM_HINT,
            )),
        };
    }
    if path.exists()
        || target.ends_with(".jar")
        || target.starts_with("docker-archive:")
        || !target.contains(['/', ':', '@'])
    {
        return Ok(None);
    }
    let reference = hoist::registry::ImageReference::parse(target).map_err(|e| {
        usage_hint(
            format!("hoist sbom {target}: {e:#}"),
            "give a jar, REGISTRY/REPO:TAG or oci:DIR[:TAG]",
        )
    })?;
    let mut client = args.registry.client_options()?;
    client.aws = args.aws.options();
    match registry_sbom(client, &reference, platform.as_ref()).await {
        Ok(found) => Ok(Some(found)),
        Err(error) => match error.downcast_ref::<NoSbom>() {
            Some(none) => Err(usage_hint(
                format!("hoist sbom {target}: {none}"),
                NO_SBOM_HINT,
            )),
            None => Err(error),
        },
    }
}

/// The table of the CycloneDX document `bom`'s components on stdout, a
/// summary on stderr (counting `noun`s: jars for a jar, components for an
/// image, whose SBOM lists its base image and JDK too).
fn print_table(bom: &serde_json::Value, noun: &str) -> Result<()> {
    let empty = Vec::new();
    let components = bom["components"].as_array().unwrap_or(&empty);
    let mut out = std::io::stdout().lock();
    let rows: Vec<[String; 4]> = components.iter().map(row).collect();
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
        components
            .iter()
            .filter(|c| {
                c["properties"].as_array().is_some_and(|ps| {
                    ps.iter().any(|p| {
                        p["name"].as_str() == Some(COORDINATES_PROPERTY)
                            && p["value"].as_str() == Some(how)
                    })
                })
            })
            .count()
    };
    let app = &bom["metadata"]["component"];
    progress::say(format_args!(
        "{} {}: {} {noun}, {} by pom.properties, {} by SHA-1 in the Maven repository, {} unknown",
        app["name"].as_str().unwrap_or("(no name)"),
        app["version"].as_str().unwrap_or("(no version)"),
        components.len(),
        count("pom.properties"),
        count("local-repository"),
        count("unknown"),
    ));
    Ok(())
}

/// One table row: name, version, purl, licences.
fn row(component: &serde_json::Value) -> [String; 4] {
    let text = |v: &serde_json::Value| v.as_str().map(str::to_string);
    let licences: Vec<String> = component["licenses"]
        .as_array()
        .map(|ls| {
            ls.iter()
                .filter_map(|l| text(&l["license"]["id"]).or_else(|| text(&l["license"]["name"])))
                .collect()
        })
        .unwrap_or_default();
    [
        text(&component["name"]).unwrap_or_default(),
        text(&component["version"]).unwrap_or_else(|| "-".into()),
        text(&component["purl"]).unwrap_or_else(|| "(unknown coordinates)".into()),
        if licences.is_empty() {
            "-".into()
        } else {
            licences.join(", ")
        },
    ]
}

/// The jar `target` names (an image or OCI layout was taken before); a
/// layout directory without `oci:` and a docker archive are refused.
fn jar_of(target: &str) -> Result<PathBuf> {
    let path = Path::new(target);
    let not_yet = || {
        usage_hint(
            format!("hoist sbom {target}: reading the SBOM of a docker archive is not supported"),
            "give the jar, an image in a registry, or an OCI layout (oci:DIR[:TAG])",
        )
    };
    if path.is_dir() {
        return Err(if path.join("oci-layout").is_file() {
            usage_hint(
                format!("hoist sbom {target}: an OCI layout"),
                format!("name it oci:{target}"),
            )
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
