//! `hoist build`: a jar (and extra files, directory trees) on a base image,
//! written to a destination. The only module that knows both the jar plan and
//! the image core; it never knows where bytes go beyond [`crate::dest`].

use crate::dest::attach::AttestationReport;
use crate::dest::remote::{PushSummary, RegistryAccess};
use crate::dest::{self, BaseImage, Location};
use crate::error::{usage, usage_hint};
use crate::image::assemble::{assemble, Image, Publication, RuntimeSettings};
use crate::image::cache::LayerCache;
use crate::image::compression::Compression;
use crate::image::layer::{
    write_layer_teed, BlobTee, BuiltLayer, Content, LayerSpec, NormalizedLayerBuilder,
};
use crate::image::manifest::ManifestFormat;
use crate::image::platform::Platform;
use crate::image::tree::layer_from_directory;
use crate::image::Digest;
use crate::jar::plan::{FileSource, JarPlan, Mode};
use crate::jar::{plan_jar, PlanOptions};
use crate::publish::{publish, Output, Repairs};
use crate::registry::push::{BlobOutcome, PushProgress};
use crate::registry::stream::StreamTee;
use crate::registry::transport::ClientOptions;
use crate::startup::train::{TrainedArchive, TrainingRequest};
use crate::startup::{Startup, TrainingSettings};
use crate::util::temp::{self, Place, TempKind};
use anyhow::Context;
use anyhow::Result;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// A host file copied into the image (`--file SRC:DEST`).
#[derive(Clone, Debug)]
pub struct ExtraFile {
    /// The file on the host.
    pub source: PathBuf,
    /// Its absolute path in the image.
    pub dest: String,
    /// Permission bits (default: 0644, or 0755 when the host file is executable).
    pub mode: Option<u32>,
    /// Owner (uid, gid) in the image (default root).
    pub owner: Option<(u64, u64)>,
    /// True for secrets: the layer holding it is never cached.
    pub secret: bool,
}

/// A host directory copied with its metadata (`--layer-dir DIR[:DEST]`).
#[derive(Clone, Debug)]
pub struct LayerDir {
    /// The directory on the host.
    pub source: PathBuf,
    /// Where its content lands in the image.
    pub dest: String,
}

/// Everything `hoist build` needs.
#[derive(Clone, Debug)]
pub struct BuildOptions {
    /// The application jar (optional: an image of directory trees needs none).
    pub jar: Option<PathBuf>,
    /// How the jar is laid out and started.
    pub plan: PlanOptions,
    /// The base image.
    pub from: Location,
    /// The destination.
    pub to: Location,
    /// The platforms to build for (one image each; several make an index).
    pub platforms: Vec<Platform>,
    /// Extra files, in one layer.
    pub files: Vec<ExtraFile>,
    /// Directory trees, one layer each.
    pub layer_dirs: Vec<LayerDir>,
    /// Environment variables to set.
    pub env: Vec<(String, String)>,
    /// Ports to expose.
    pub ports: Vec<String>,
    /// The user to run as.
    pub user: Option<String>,
    /// Labels to set.
    pub labels: Vec<(String, String)>,
    /// The config's `created` time.
    pub created: String,
    /// The mtime of every file written.
    pub mtime: u64,
    /// Layer compression.
    pub compression: Compression,
    /// Force a manifest format (default: follow the base).
    pub format: Option<ManifestFormat>,
    /// The layer cache directory (`None`: no cache).
    pub cache_dir: Option<PathBuf>,
    /// More tags for a registry destination (besides the reference's own).
    pub tags: Vec<String>,
    /// How to reach registries.
    pub client: ClientOptions,
    /// Create a missing ECR repository before pushing.
    pub create_repository: bool,
    /// A start-up archive to train and ship (`none`: no training run).
    pub startup: Startup,
    /// What the training run gets besides the image's settings.
    pub training: TrainingSettings,
    /// The SBOM and provenance attached to a pushed image (registry
    /// destinations with a jar).
    pub attestations: crate::attest::Attestations,
    /// What the provenance says of the run beyond the build itself.
    pub provenance: ProvenanceContext,
}

/// What `hoist ship` knows for the provenance: the environment, the
/// `hoist.toml` digest, the commit.
#[derive(Clone, Debug, Default)]
pub struct ProvenanceContext {
    /// The environment shipped.
    pub environment: Option<String>,
    /// SHA-256 of `hoist.toml`.
    pub config_digest: Option<Digest>,
    /// The commit built.
    pub git: Option<crate::provenance::GitSource>,
}

/// What a build made, for people and for `--metadata-file`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildReport {
    /// Where the image went.
    pub image: String,
    /// The image (manifest) digest.
    pub digest: Digest,
    /// The manifest media type.
    pub media_type: String,
    /// The config digest.
    pub config_digest: Digest,
    /// The platform(s), comma-separated.
    pub platform: String,
    /// With several platforms: each platform's manifest.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub manifests: Vec<PlatformManifest>,
    /// The base image as named.
    pub base_image: String,
    /// The base manifest digest, when it has one.
    pub base_digest: Option<Digest>,
    /// The layers, bottom first.
    pub layers: Vec<LayerReport>,
    /// The tags pushed (registry destinations).
    pub tags: Vec<String>,
    /// Immutable tags left naming another image (registry destinations).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped_tags: Vec<String>,
    /// What the push did (registry destinations).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push: Option<PushReport>,
    /// The start-up archive, when one was trained (or found in the cache).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub startup: Option<StartupReport>,
    /// The SBOM and provenance attached as referrers (registry destinations).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attestations: Vec<AttestationReport>,
}

/// The start-up archive of a [`BuildReport`].
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StartupReport {
    /// `cds` or `aot-cache`.
    pub kind: String,
    /// Its path in the image.
    pub archive: String,
    /// Its size.
    pub archive_bytes: u64,
    /// The compressed size of its layer.
    pub layer_bytes: u64,
    /// Seconds the training run and its check took (0 when cached).
    pub training_seconds: f64,
    /// True when the archive came from the cache.
    pub cached: bool,
    /// The base JVM's `JAVA_VERSION`.
    pub java_version: String,
    /// The platform it was trained for (others have no archive).
    pub platform: String,
}

/// One platform's image in a multi-platform [`BuildReport`].
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlatformManifest {
    /// The platform.
    pub platform: String,
    /// Its manifest digest.
    pub digest: Digest,
    /// Its config digest.
    pub config_digest: Digest,
}

/// Push totals for a [`BuildReport`].
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PushReport {
    /// Blobs uploaded.
    pub uploaded: usize,
    /// Of those, the layers streamed while they were written.
    pub streamed: usize,
    /// Blobs mounted from another repository.
    pub mounted: usize,
    /// Blobs already present.
    pub present: usize,
    /// Bytes uploaded.
    pub bytes_uploaded: u64,
    /// Seconds the push took, counted from when the streams opened if layers streamed.
    pub seconds: f64,
    /// What happened to the config blob.
    pub config: BlobOutcome,
}

/// One layer of a [`BuildReport`].
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LayerReport {
    /// Name (`base`, `dependencies`, …).
    pub name: String,
    /// Compressed digest.
    pub digest: Digest,
    /// Uncompressed digest.
    pub diff_id: Digest,
    /// Compressed size.
    pub size: u64,
    /// Media type.
    pub media_type: String,
    /// `base` or `app`.
    pub source: &'static str,
    /// True when an app layer came from the layer cache instead of being written.
    pub cached: bool,
    /// For registry destinations: uploaded, mounted or present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<BlobOutcome>,
}

/// The config's `created` and the layers' mtime: `--creation-time`
/// (`epoch`, `now` or RFC 3339) if given, else `SOURCE_DATE_EPOCH`, else the
/// epoch (created) and one second after it (mtime).
pub fn reproducible_times(creation_time: Option<&str>) -> Result<(String, u64)> {
    let epoch = source_date_epoch()?;
    Ok((
        self::creation_time(creation_time, epoch)?,
        epoch.unwrap_or(crate::image::layer::DEFAULT_MTIME),
    ))
}

fn source_date_epoch() -> Result<Option<u64>> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(text) if !text.is_empty() => text.parse::<u64>().map(Some).map_err(|_| {
            usage(format!(
                "SOURCE_DATE_EPOCH={text:?}: expected whole seconds since 1970"
            ))
        }),
        _ => Ok(None),
    }
}

fn creation_time(flag: Option<&str>, source_date_epoch: Option<u64>) -> Result<String> {
    let time = match flag {
        Some("now") => OffsetDateTime::now_utc(),
        Some("epoch") => OffsetDateTime::UNIX_EPOCH,
        Some(text) => OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
            usage_hint(
                format!("--creation-time {text:?}: not a time"),
                "use epoch, now or RFC 3339 like 2024-05-01T12:00:00Z",
            )
        })?,
        None => match source_date_epoch {
            Some(secs) => OffsetDateTime::from_unix_timestamp(secs as i64)
                .map_err(|_| usage("SOURCE_DATE_EPOCH is out of range"))?,
            None => OffsetDateTime::UNIX_EPOCH,
        },
    };
    let utc = time
        .to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(time);
    Ok(utc
        .format(&Rfc3339)
        .expect("RFC 3339 formatting of a UTC time succeeds"))
}

/// Runs a build: validates every input, builds the layers, writes the image.
/// Nothing is written to the destination unless everything succeeded.
pub async fn build(options: &BuildOptions, progress: &dyn PushProgress) -> Result<BuildReport> {
    let started_on = now_rfc3339();
    if options.platforms.is_empty() {
        return Err(usage("give at least one --platform"));
    }
    if let Location::Registry(target) = &options.to {
        if target.digest.is_some() {
            return Err(usage_hint(
                format!("--to {target}: a destination cannot name a digest"),
                "give a tag (the digest is what hoist computes)",
            ));
        }
    }
    for tag in &options.tags {
        crate::registry::reference::check_tag(tag)
            .map_err(|why| usage(format!("tag {tag:?} {why}")))?;
    }
    // zstd and an explicit Docker format: refused before anything is read.
    ManifestFormat::for_layers(
        options.format,
        ManifestFormat::Oci,
        options.compression,
        std::iter::empty(),
    )?;
    if options.platforms.len() > 1 && matches!(options.to, Location::DockerArchive { .. }) {
        return Err(usage_hint(
            "a docker archive holds one platform",
            "build several --platform values to oci:DIR or a registry",
        ));
    }
    let plan_options = plan_options_for(options)?;
    let plan = match &options.jar {
        Some(jar) => Some(plan_jar(jar, &plan_options)?),
        None => None,
    };
    let training_platform = training_platform(options)?;
    let mut specs = Vec::new();
    for dir in &options.layer_dirs {
        let name = format!("dir {}", dir.source.display());
        specs.push(layer_from_directory(&name, &dir.source, &dir.dest)?);
    }
    if let Some(plan) = &plan {
        specs.extend(jar_layers(plan)?);
    }
    if !options.files.is_empty() {
        specs.push(files_layer(&options.files)?);
    }
    for spec in &mut specs {
        spec.mtime = options.mtime;
        spec.compression = options.compression;
    }
    let work_parent = work_parent(&options.to)?;
    // Work directories a killed hoist left here.
    temp::sweep(&work_parent, Place::Foreign);
    let work = temp::dir_in(&work_parent, TempKind::Build)?;
    let cache = match &options.cache_dir {
        Some(dir) => Some(LayerCache::open(dir)?),
        None => None,
    };
    let uses_registry = matches!(options.from, Location::Registry(_))
        || matches!(options.to, Location::Registry(_));
    let registries = if uses_registry {
        let blob_dir = match &cache {
            Some(cache) => cache.blob_dir(),
            None => work.path().join("blobs"),
        };
        Some(RegistryAccess::new(
            options.client.clone(),
            blob_dir,
            options.create_repository,
        )?)
    } else {
        None
    };
    let mut bases = Vec::new();
    for platform in &options.platforms {
        bases.push(
            dest::open_base(&options.from, platform, work.path(), registries.as_ref()).await?,
        );
    }
    // Each image's manifest format, settled before any layer is written.
    let formats = bases
        .iter()
        .map(|base| {
            ManifestFormat::for_layers(
                options.format,
                base.format,
                options.compression,
                base.layers.iter().map(|l| l.descriptor.media_type.as_str()),
            )
        })
        .collect::<Result<Vec<_>>>()?;
    // The start-up archive: trained on the base of this machine's platform,
    // before any layer is written, so that its layer goes up with the rest.
    let trained = match (&plan, training_platform) {
        (Some(plan), Some(i)) => {
            if let Some(access) = &registries {
                access.fetch_base_layers(&bases[i]).await?;
            }
            let archive = train_archive(options, &bases[i], plan, work.path())?;
            let mut spec = archive_layer(&archive)?;
            spec.mtime = options.mtime;
            spec.compression = options.compression;
            specs.push(spec);
            Some((i, archive))
        }
        _ => None,
    };
    // A layer that is not in the registry goes up while it is written.
    let upload_started = std::time::Instant::now();
    let mut streams = match (&options.to, &registries) {
        (Location::Registry(target), Some(access)) => {
            let warm = cache.as_ref().is_some_and(LayerCache::is_warm);
            access.layer_streams(target, specs.len(), warm).await?
        }
        _ => None,
    };
    let tees = match &mut streams {
        Some(streams) => std::mem::take(&mut streams.tees),
        None => Vec::new(),
    };
    let built = write_layers_parallel(&specs, cache.as_ref(), work.path(), tees);
    let streamed = match (streams, &built) {
        (Some(streams), Ok(_)) => streams.finish().await,
        (Some(streams), Err(_)) => {
            streams.abandon();
            Vec::new()
        }
        (None, _) => Vec::new(),
    };
    let built = built?;
    let cached: Vec<bool> = built.iter().map(|(_, hit)| *hit).collect();
    let built: Vec<BuiltLayer> = built.into_iter().map(|(layer, _)| layer).collect();
    let images = bases
        .iter()
        .zip(&options.platforms)
        .zip(&formats)
        .enumerate()
        .map(|(i, ((base, platform), format))| {
            let archive = trained.as_ref().filter(|(at, _)| *at == i).map(|(_, a)| a);
            // The archive's layer is the last; other platforms go without.
            let layers = match (&trained, archive) {
                (Some(_), None) => &built[..built.len() - 1],
                _ => &built[..],
            };
            assemble_image(
                base,
                plan.as_ref(),
                layers,
                archive,
                options,
                platform,
                *format,
            )
        })
        .collect();
    let publication = Publication::of(images);
    let output = Output {
        to: &options.to,
        tags: &options.tags,
        publication: &publication,
        bases: &bases,
        registries: registries.as_ref(),
        work: work.path(),
        streamed: &streamed,
    };
    let repairs = Repairs {
        specs: &specs,
        built: &built,
        cached: &cached,
        cache: cache.as_ref(),
    };
    let mut push = publish(&output, repairs, progress).await?;
    if let Some(push) = push.as_mut().filter(|_| !streamed.is_empty()) {
        // Uploading began with the streams, while the layers were written.
        push.seconds = upload_started.elapsed().as_secs_f64();
    }
    let attestations = match &plan {
        Some(plan) if options.attestations.any() => {
            let archive = trained.as_ref().map(|(_, a)| a);
            let facts: Vec<_> = bases
                .iter()
                .map(|base| attestation_facts(options, base, plan, archive, &started_on))
                .collect();
            let platforms: Vec<String> = options.platforms.iter().map(|p| p.to_string()).collect();
            crate::dest::attach::attach(
                &options.to,
                registries.as_ref(),
                &publication,
                &facts,
                &platforms,
                options.attestations,
            )
            .await?
        }
        _ => Vec::new(),
    };
    let mut report = report(&publication, &bases[0], &options.to, &cached, push);
    report.attestations = attestations;
    report.startup = trained.map(|(i, archive)| StartupReport {
        kind: archive.kind.name().to_string(),
        archive: archive.image_path.clone(),
        archive_bytes: std::fs::metadata(&archive.file).map_or(0, |m| m.len()),
        layer_bytes: built.last().map_or(0, |l| l.size),
        training_seconds: archive.seconds,
        cached: archive.cached,
        java_version: archive.java_version.clone(),
        platform: options.platforms[i].to_string(),
    });
    Ok(report)
}

/// What the attestations of the image on `base` record.
fn attestation_facts(
    options: &BuildOptions,
    base: &BaseImage,
    plan: &JarPlan,
    archive: Option<&TrainedArchive>,
    started_on: &str,
) -> crate::attest::AttestationFacts {
    crate::attest::AttestationFacts {
        jar: plan.jar.clone(),
        from: base.name.clone(),
        base_digest: base.digest.clone(),
        base_repository: base
            .remote
            .as_ref()
            .map(|r| format!("{}/{}", r.registry, r.repository)),
        jdk: archive.map(|a| a.jdk.clone()),
        created: options.created.clone(),
        compression: options.compression.to_string(),
        mode: plan.mode.name().to_string(),
        startup: options.startup.name().to_string(),
        environment: options.provenance.environment.clone(),
        config_digest: options.provenance.config_digest.clone(),
        git: options.provenance.git.clone(),
        started_on: started_on.to_string(),
    }
}

fn now_rfc3339() -> String {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0)
        .unwrap_or(now)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// The jar plan's options: `startup` asks for the extracted layout.
fn plan_options_for(options: &BuildOptions) -> Result<PlanOptions> {
    let mut plan = options.plan.clone();
    if options.startup == Startup::None {
        return Ok(plan);
    }
    let name = options.startup.name();
    if options.jar.is_none() {
        return Err(usage_hint(
            format!("--startup {name}: there is no jar to train on"),
            "give --jar, or drop --startup",
        ));
    }
    match plan.mode {
        None | Some(Mode::Extracted) => plan.mode = Some(Mode::Extracted),
        Some(other) => {
            return Err(usage_hint(
                format!(
                    "--startup {name} needs the extracted mode, not --mode {}",
                    other.name()
                ),
                "drop --mode (a start-up archive is trained on Spring's extracted layout)",
            ))
        }
    }
    crate::startup::train::check_flags(&plan.jvm_flags)?;
    Ok(plan)
}

/// Which platform's image gets the archive: the one this machine runs.
/// Others are refused for `cds` and `aot-cache` (an archive trained under
/// emulation is not to be trusted), and built without one for `auto`.
fn training_platform(options: &BuildOptions) -> Result<Option<usize>> {
    if options.startup == Startup::None {
        return Ok(None);
    }
    let native = Platform::native();
    let name = options.startup.name();
    let mut found = None;
    for (i, platform) in options.platforms.iter().enumerate() {
        if found.is_none() && platform.matches(&native) {
            found = Some(i);
        } else if options.startup == Startup::Auto {
            eprintln!(
                "hoist: warning: startup auto: {platform} is built without a start-up archive (this machine runs {native} and trains only for it)"
            );
        } else {
            return Err(usage_hint(
                format!(
                    "--startup {name}: cannot train for {platform} on this {native} machine"
                ),
                format!(
                    "build {platform} on a {platform} machine, or use startup = \"auto\" (other platforms then go without an archive)"
                ),
            ));
        }
    }
    Ok(found)
}

/// Trains (or finds in the cache) the archive for the image on `base`.
fn train_archive(
    options: &BuildOptions,
    base: &BaseImage,
    plan: &JarPlan,
    work: &Path,
) -> Result<TrainedArchive> {
    let mut image_env: Vec<(String, String)> = base
        .config
        .config
        .as_ref()
        .and_then(|c| c.env.clone())
        .unwrap_or_default()
        .iter()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    for (key, value) in &options.env {
        image_env.retain(|(k, _)| k != key);
        image_env.push((key.clone(), value.clone()));
    }
    let scratch = work.join("training");
    std::fs::create_dir_all(&scratch)?;
    let request = TrainingRequest {
        startup: options.startup,
        base_name: &base.name,
        base_layers: &base.layers,
        image_env,
        plan,
        jvm_flags: &options.plan.jvm_flags,
        settings: &options.training,
        mtime: options.mtime,
        cache_dir: options.cache_dir.as_deref(),
        work: &scratch,
    };
    let trained = crate::startup::train::train(&request);
    // The unpacked base is big: gone as soon as the archive is out.
    let _ = std::fs::remove_dir_all(scratch.join("startup-root"));
    trained
}

/// The archive's own layer, at its path beside the thin jar.
fn archive_layer(archive: &TrainedArchive) -> Result<LayerSpec> {
    let size = std::fs::metadata(&archive.file)
        .with_context(|| format!("reading {}", archive.file.display()))?
        .len();
    let mut builder = NormalizedLayerBuilder::new();
    builder.file(
        &archive.image_path,
        size,
        Content::HostFile(archive.file.clone()),
        false,
    );
    builder.build("startup".to_string())
}

/// The directory the work files go in: the nearest existing ancestor of the
/// destination, so that finished blobs can be renamed into place and a failed
/// build leaves no directory behind.
fn work_parent(to: &Location) -> Result<PathBuf> {
    let target = match to {
        Location::OciLayout { dir, .. } => dir,
        Location::DockerArchive { file, .. } => file,
        Location::Registry(_) => return Ok(std::env::temp_dir()),
        Location::Scratch => return Err(usage("--to scratch: scratch is only a base")),
    };
    crate::util::fs::existing_ancestor(target)
}

fn jar_layers(plan: &JarPlan) -> Result<Vec<LayerSpec>> {
    plan.layers
        .iter()
        .map(|layer| {
            let mut builder = NormalizedLayerBuilder::new();
            for file in &layer.files {
                let content = match &file.source {
                    FileSource::JarEntry { jar, index, crc32 } => Content::ZipEntry {
                        archive: jar.clone(),
                        index: *index,
                        crc32: *crc32,
                    },
                    FileSource::HostFile(path) => Content::HostFile(path.clone()),
                    FileSource::Bytes(bytes) => Content::Bytes(bytes.clone()),
                };
                builder.file(&file.dest, file.size, content, file.executable);
            }
            builder.build(layer.name.clone())
        })
        .collect()
}

fn files_layer(files: &[ExtraFile]) -> Result<LayerSpec> {
    let mut builder = NormalizedLayerBuilder::new();
    for file in files {
        let meta = std::fs::metadata(&file.source).map_err(|_| {
            usage_hint(
                format!("--file {}: no such file", file.source.display()),
                "give an existing file as SRC:DEST",
            )
        })?;
        if !meta.is_file() {
            return Err(usage_hint(
                format!("--file {}: not a regular file", file.source.display()),
                "use --layer-dir for directories",
            ));
        }
        use std::os::unix::fs::PermissionsExt;
        let executable = meta.permissions().mode() & 0o111 != 0;
        let mode = file.mode.unwrap_or(if executable { 0o755 } else { 0o644 });
        let owner = file.owner.unwrap_or((0, 0));
        builder.file_owned(
            &file.dest,
            meta.len(),
            Content::HostFile(file.source.clone()),
            mode,
            owner,
        );
    }
    let mut spec = builder.build("files")?;
    spec.cacheable = !files.iter().any(|f| f.secret);
    Ok(spec)
}

/// Writes all layers (or finds them in the cache), several at a time;
/// results keep the input order and say whether they came from the cache.
fn write_layers_parallel(
    specs: &[LayerSpec],
    cache: Option<&LayerCache>,
    dir: &Path,
    tees: Vec<Option<StreamTee>>,
) -> Result<Vec<(BuiltLayer, bool)>> {
    // Each layer's tee (when streaming), taken by the worker that writes it;
    // dropped unused on a cache hit, which sends nothing.
    let mut tees = tees.into_iter();
    let tees: Vec<std::sync::Mutex<Option<StreamTee>>> = (0..specs.len())
        .map(|_| std::sync::Mutex::new(tees.next().flatten()))
        .collect();
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(specs.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<Option<Result<(BuiltLayer, bool)>>> =
        (0..specs.len()).map(|_| None).collect();
    let slots = std::sync::Mutex::new(&mut results);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                // Biggest layers first would balance better, but input order
                // keeps this simple; the dependency layer is usually first.
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(spec) = specs.get(i) else { break };
                let mut tee = tees[i].lock().expect("one worker per layer").take();
                let tee = tee.as_mut().map(|t| t as &mut dyn BlobTee);
                let result = match cache {
                    Some(cache) if spec.cacheable => cache.get_or_write(spec, tee),
                    _ => write_layer_teed(spec, dir, tee).map(|layer| (layer, false)),
                };
                slots
                    .lock()
                    .expect("no worker panics while holding the lock")[i] = Some(result);
            });
        }
    });
    results
        .into_iter()
        .map(|r| r.expect("every layer was written"))
        .collect()
}

fn assemble_image(
    base: &BaseImage,
    plan: Option<&JarPlan>,
    built: &[BuiltLayer],
    archive: Option<&TrainedArchive>,
    options: &BuildOptions,
    platform: &Platform,
    format: ManifestFormat,
) -> Image {
    let mut labels = BTreeMap::new();
    if let Some(digest) = &base.digest {
        labels.insert(
            "org.opencontainers.image.base.digest".to_string(),
            digest.to_string(),
        );
    }
    if let Some(plan) = plan {
        if let Some(title) = &plan.title {
            labels.insert("org.opencontainers.image.title".to_string(), title.clone());
        }
        if let Some(version) = &plan.version {
            labels.insert(
                "org.opencontainers.image.version".to_string(),
                version.clone(),
            );
        }
    }
    if let Some(archive) = archive {
        labels.extend(archive.labels.iter().cloned());
    }
    labels.extend(options.labels.iter().cloned());
    let base_runtime = base.config.config.clone().unwrap_or_default();
    let mut entrypoint = plan.map(|p| p.entrypoint.clone());
    if let (Some(entrypoint), Some(archive)) = (entrypoint.as_mut(), archive) {
        // Before `-jar`: a JVM flag, after the image's own flags.
        let at = entrypoint
            .iter()
            .rposition(|a| a == "-jar")
            .unwrap_or(entrypoint.len());
        entrypoint.insert(at, archive.kind.jvm_flag(&archive.image_path));
    }
    let settings = RuntimeSettings {
        entrypoint: entrypoint.or(base_runtime.entrypoint).unwrap_or_default(),
        cmd: match plan {
            Some(p) => p.cmd.clone(),
            None => base_runtime.cmd.unwrap_or_default(),
        },
        working_dir: plan.map(|p| p.working_dir.clone()),
        env: options.env.clone(),
        ports: options.ports.clone(),
        user: options.user.clone(),
        labels,
        created: options.created.clone(),
    };
    let mut config = base.config.clone();
    if config.architecture.is_empty() {
        config.architecture = platform.architecture.clone();
        config.os = platform.os.clone();
    }
    assemble(config, base.layers.clone(), built, &settings, format)
}

fn report(
    publication: &Publication,
    base: &BaseImage,
    to: &Location,
    cached: &[bool],
    push: Option<PushSummary>,
) -> BuildReport {
    let outcome_of = |digest: &Digest| {
        push.as_ref().and_then(|p| {
            p.outcomes
                .iter()
                .find(|(d, _)| d == digest)
                .map(|(_, o)| *o)
        })
    };
    let image = &publication.images()[0];
    let base_count = image.layers.len() - cached.len();
    let platforms: Vec<String> = publication
        .images()
        .iter()
        .map(|i| i.platform.to_string())
        .collect();
    BuildReport {
        image: to.to_string(),
        digest: publication.digest(),
        media_type: publication.top().0.to_string(),
        config_digest: image.config_digest().clone(),
        platform: platforms.join(","),
        manifests: match publication {
            Publication::Single(_) => Vec::new(),
            Publication::Multi { images, .. } => images
                .iter()
                .map(|i| PlatformManifest {
                    platform: i.platform.to_string(),
                    digest: i.digest.clone(),
                    config_digest: i.config_digest().clone(),
                })
                .collect(),
        },
        base_image: base.name.clone(),
        base_digest: base.digest.clone(),
        layers: image
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| LayerReport {
                name: l.name.clone(),
                digest: l.descriptor.digest.clone(),
                diff_id: l.diff_id.clone(),
                size: l.descriptor.size,
                media_type: l.descriptor.media_type.clone(),
                source: if l.from_base { "base" } else { "app" },
                cached: i >= base_count && cached[i - base_count],
                outcome: outcome_of(&l.descriptor.digest),
            })
            .collect(),
        tags: push.as_ref().map(|p| p.tags.clone()).unwrap_or_default(),
        skipped_tags: push
            .as_ref()
            .map(|p| p.skipped_tags.clone())
            .unwrap_or_default(),
        startup: None,
        attestations: Vec::new(),
        push: push.as_ref().map(|p| PushReport {
            uploaded: p.uploaded,
            streamed: p.streamed,
            mounted: p.mounted,
            present: p.present,
            bytes_uploaded: p.bytes_uploaded,
            seconds: p.seconds,
            config: outcome_of(image.config_digest()).unwrap_or(BlobOutcome::Present),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creation_times() {
        assert_eq!(creation_time(None, None).unwrap(), "1970-01-01T00:00:00Z");
        assert_eq!(
            creation_time(None, Some(1_700_000_000)).unwrap(),
            "2023-11-14T22:13:20Z"
        );
        assert_eq!(
            creation_time(Some("2024-05-01T14:00:00+02:00"), None).unwrap(),
            "2024-05-01T12:00:00Z"
        );
        assert!(creation_time(Some("yesterday"), None).is_err());
    }
}
