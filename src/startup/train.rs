//! The training run and its check: from a base image and a jar plan to a
//! verified archive file, or a one-line refusal with the JVM's own reason.

use crate::error::{usage, usage_hint};
use crate::image::assemble::ImageLayer;
use crate::image::Digest;
use crate::jar::plan::{JarPlan, Mode, EXTRACTED_JAR};
use crate::startup::jvm::{self, BaseJvm};
use crate::startup::launcher::{Launcher, RunOutcome};
use crate::startup::layout;
use crate::startup::{ArchiveKind, Startup, TrainingSettings};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The oldest feature release hoist trains for (CDS's dynamic archive and
/// Spring Boot's support for it start there).
const OLDEST_JDK: u32 = 17;
/// The first feature release with the AOT cache (JEP 483).
const FIRST_AOT_JDK: u32 = 24;
/// Spring Boot stops once the context is refreshed: the training workload.
const SPRING_EXIT: &str = "-Dspring.context.exit=onRefresh";

/// JVM flags that hoist sets itself or that turn sharing off.
const OWN_FLAGS: &[&str] = &[
    "-Xshare:off",
    "-XX:-UseSharedSpaces",
    "-XX:SharedArchiveFile",
    "-XX:ArchiveClassesAtExit",
    "-XX:AOTCache",
    "-XX:AOTMode",
    "-XX:AOTConfiguration",
    "-XX:AOTCacheOutput",
];

/// What to train on.
pub(crate) struct TrainingRequest<'a> {
    /// What `startup` asks for (not `None`).
    pub startup: Startup,
    /// The base image as named, for messages.
    pub base_name: &'a str,
    /// The base's layers, their blobs on disk.
    pub base_layers: &'a [ImageLayer],
    /// The image's environment: the base's, then hoist's settings.
    pub image_env: Vec<(String, String)>,
    /// The application (extracted mode).
    pub plan: &'a JarPlan,
    /// The image's JVM flags.
    pub jvm_flags: &'a [String],
    /// `[image.training]`.
    pub settings: &'a TrainingSettings,
    /// The modification time of the image's files.
    pub mtime: u64,
    /// The layer cache directory, where archives are kept.
    pub cache_dir: Option<&'a Path>,
    /// A scratch directory, removed by the caller.
    pub work: &'a Path,
}

/// A verified archive, ready to be a layer.
#[derive(Clone, Debug)]
pub(crate) struct TrainedArchive {
    /// CDS or the AOT cache.
    pub kind: ArchiveKind,
    /// The archive on this machine.
    pub file: PathBuf,
    /// Its path in the image (`/app/app.jsa`).
    pub image_path: String,
    /// Labels recording what it was trained on.
    pub labels: Vec<(String, String)>,
    /// The base JVM's `JAVA_VERSION`.
    pub java_version: String,
    /// Seconds the training (and check) took; 0 when cached.
    pub seconds: f64,
    /// True when the archive came from the cache.
    pub cached: bool,
    /// The base JDK's home in the image and its `release` facts.
    pub jdk: (String, BTreeMap<String, String>),
}

/// What the cache keeps beside an archive.
#[derive(Serialize, Deserialize)]
struct Facts {
    kind: ArchiveKind,
    #[serde(default)]
    java_home: String,
    release: BTreeMap<String, String>,
    classpath: String,
    seconds: f64,
}

/// Refuses flags that would make the archive unusable or fight hoist's own.
pub(crate) fn check_flags(flags: &[String]) -> Result<()> {
    for flag in flags {
        if let Some(own) = OWN_FLAGS
            .iter()
            .find(|own| flag == *own || flag.starts_with(&format!("{own}=")))
        {
            return Err(usage_hint(
                format!("JVM flag {flag:?}: a start-up archive cannot be used with {own}"),
                "hoist sets the archive flags itself; drop the flag, or set startup = \"none\"",
            ));
        }
    }
    Ok(())
}

/// Trains, checks and returns the archive (or finds it in the cache).
pub(crate) fn train(request: &TrainingRequest) -> Result<TrainedArchive> {
    if request.plan.mode != Mode::Extracted {
        return Err(usage(format!(
            "startup {}: the image must use the extracted mode",
            request.startup.name()
        )));
    }
    check_flags(request.jvm_flags)?;
    let classpath = layout::classpath_digest(request.plan)?;
    let key = cache_key(request, &classpath);
    let cached_dir = request
        .cache_dir
        .map(|dir| dir.join("startup").join(key.hex()));
    if let Some(found) = cached_dir.as_deref().and_then(|d| from_cache(d, request)) {
        return Ok(found);
    }
    let root = request.work.join("startup-root");
    std::fs::create_dir_all(&root)?;
    let blobs: Vec<PathBuf> = request.base_layers.iter().map(|l| l.path.clone()).collect();
    crate::image::unpack::unpack_layers(&blobs, &root)
        .with_context(|| format!("unpacking base {} for the training run", request.base_name))?;
    let base_jvm = jvm::find_jvm(&root, &request.image_env, request.base_name)?;
    let kind = archive_kind(request, &base_jvm)?;
    if kind == ArchiveKind::Cds && !has_default_cds(&root, &base_jvm) {
        return Err(usage_hint(
            format!(
                "base {}: the JDK at {} has no default CDS archive (lib/server/classes.jsa), which a CDS archive of the app builds on",
                request.base_name, base_jvm.home
            ),
            "use a JDK image that ships it (Temurin, Corretto and Debian's do); a jlink'd runtime needs --generate-cds-archive",
        ));
    }
    layout::lay_out(request.plan, &root, request.mtime)?;
    let launcher = launcher(request, &root, &base_jvm)?;
    let started = std::time::Instant::now();
    let archive = run_training(request, &launcher, kind)?;
    let seconds = started.elapsed().as_secs_f64();
    let facts = Facts {
        kind,
        java_home: base_jvm.home.clone(),
        release: base_jvm.release.clone(),
        classpath: classpath.to_string(),
        seconds,
    };
    let file = match cached_dir {
        Some(dir) => keep(&archive, &dir, &facts)?,
        None => {
            // Out of the scratch root, which goes as soon as training ends.
            let kept = request.work.join(kind.file_name());
            std::fs::rename(&archive, &kept)
                .with_context(|| format!("moving {}", archive.display()))?;
            kept
        }
    };
    Ok(trained(request, file, &facts, false))
}

/// True when the JDK has the default CDS archive a dynamic one builds on.
fn has_default_cds(root: &Path, base: &BaseJvm) -> bool {
    ["classes.jsa", "classes_nocoops.jsa"]
        .iter()
        .any(|name| jvm::host_path(root, &format!("{}/lib/server/{name}", base.home)).is_file())
}

/// Everything that shapes the archive, hashed.
fn cache_key(request: &TrainingRequest, classpath: &Digest) -> Digest {
    let text = serde_json::json!({
        "hoist": env!("CARGO_PKG_VERSION"),
        "startup": request.startup.name(),
        "base": request.base_layers.iter().map(|l| l.diff_id.to_string()).collect::<Vec<_>>(),
        "classpath": classpath.to_string(),
        "workdir": request.plan.working_dir,
        "flags": request.jvm_flags,
        "env": request.image_env,
        "training": request.settings.env,
        "mtime": request.mtime,
    })
    .to_string();
    Digest::of(text.as_bytes())
}

fn from_cache(dir: &Path, request: &TrainingRequest) -> Option<TrainedArchive> {
    let facts: Facts = serde_json::from_slice(&std::fs::read(dir.join("facts.json")).ok()?).ok()?;
    let file = dir.join(facts.kind.file_name());
    file.is_file().then(|| {
        crate::image::cache_dir::mark_used(&file);
        trained(request, file, &facts, true)
    })
}

/// Moves a fresh archive into the cache: written beside, then renamed, so a
/// killed hoist never leaves half an entry.
fn keep(archive: &Path, dir: &Path, facts: &Facts) -> Result<PathBuf> {
    let parent = dir.parent().expect("the key directory has a parent");
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let staging = tempfile::Builder::new()
        .prefix(".staging-")
        .tempdir_in(parent)
        .with_context(|| format!("creating a directory in {}", parent.display()))?;
    let name = facts.kind.file_name();
    std::fs::copy(archive, staging.path().join(name))
        .with_context(|| format!("copying the archive into {}", parent.display()))?;
    std::fs::write(
        staging.path().join("facts.json"),
        serde_json::to_vec_pretty(facts)?,
    )?;
    let staged = staging.keep();
    if std::fs::rename(&staged, dir).is_err() {
        // Another build kept the same archive first.
        let _ = std::fs::remove_dir_all(&staged);
    }
    Ok(dir.join(name))
}

fn trained(
    request: &TrainingRequest,
    file: PathBuf,
    facts: &Facts,
    cached: bool,
) -> TrainedArchive {
    let fact = |key: &str| facts.release.get(key).cloned().unwrap_or_default();
    let mut labels = vec![
        (
            "dev.hoist.startup".to_string(),
            facts.kind.name().to_string(),
        ),
        (
            "dev.hoist.startup.java.version".into(),
            fact("JAVA_VERSION"),
        ),
        (
            "dev.hoist.startup.java.runtime-version".into(),
            facts
                .release
                .get("JAVA_RUNTIME_VERSION")
                .cloned()
                .unwrap_or_else(|| fact("JAVA_VERSION")),
        ),
        (
            "dev.hoist.startup.classpath.digest".into(),
            facts.classpath.clone(),
        ),
    ];
    if let Some(implementor) = facts.release.get("IMPLEMENTOR") {
        labels.push((
            "dev.hoist.startup.java.implementor".into(),
            implementor.clone(),
        ));
    }
    TrainedArchive {
        kind: facts.kind,
        file,
        image_path: format!(
            "{}/{}",
            request.plan.working_dir.trim_end_matches('/'),
            facts.kind.file_name()
        ),
        labels,
        java_version: fact("JAVA_VERSION"),
        seconds: if cached { 0.0 } else { facts.seconds },
        cached,
        jdk: (facts.java_home.clone(), facts.release.clone()),
    }
}

/// The archive kind for this JVM, or why there is none.
fn archive_kind(request: &TrainingRequest, base: &BaseJvm) -> Result<ArchiveKind> {
    let feature = base.feature;
    if feature < OLDEST_JDK {
        return Err(usage_hint(
            format!(
                "base {}: JDK {} is older than 17, which start-up archives need",
                request.base_name,
                base.version()
            ),
            "use a JDK 17 or later base, or set startup = \"none\"",
        ));
    }
    match request.startup {
        Startup::Cds => Ok(ArchiveKind::Cds),
        Startup::AotCache if feature < FIRST_AOT_JDK => Err(usage_hint(
            format!(
                "startup aot-cache: base {} has JDK {}, and the AOT cache needs JDK 24 or later",
                request.base_name,
                base.version()
            ),
            "use startup = \"cds\" (or \"auto\") on this base, or a JDK 25 base",
        )),
        Startup::AotCache => Ok(ArchiveKind::AotCache),
        Startup::Auto if feature >= FIRST_AOT_JDK => Ok(ArchiveKind::AotCache),
        Startup::Auto => Ok(ArchiveKind::Cds),
        Startup::None => Err(usage("startup none: nothing to train")),
    }
}

fn launcher(request: &TrainingRequest, root: &Path, base: &BaseJvm) -> Result<Launcher> {
    let java = jvm::host_path(root, &base.java);
    let loader = match jvm::elf_interpreter(&java)? {
        None => None,
        Some(interpreter) => {
            let real = jvm::resolve(root, &interpreter)
                .filter(|p| jvm::host_path(root, p).is_file())
                .ok_or_else(|| {
                    usage_hint(
                        format!(
                            "base {}: {} needs the loader {interpreter}, which the image lacks",
                            request.base_name, base.java
                        ),
                        "use a base whose JDK runs in it (a glibc JDK on a glibc image)",
                    )
                })?;
            Some((jvm::host_path(root, &real), interpreter))
        }
    };
    let library_path = match &loader {
        Some((_, interpreter)) => jvm::library_dirs(root, interpreter)
            .iter()
            .map(|d| jvm::host_path(root, d).display().to_string())
            .collect::<Vec<_>>()
            .join(":"),
        None => String::new(),
    };
    let mut env: Vec<(String, String)> = Vec::new();
    for (key, value) in request.image_env.iter().chain(&request.settings.env) {
        env.retain(|(k, _)| k != key);
        env.push((key.clone(), value.clone()));
    }
    if !env.iter().any(|(k, _)| k == "HOME") {
        env.push(("HOME".into(), root.join("tmp").display().to_string()));
    }
    Ok(Launcher {
        loader: loader.map(|(path, _)| path),
        library_path,
        java,
        dir: jvm::host_path(root, &request.plan.working_dir),
        env,
    })
}

/// Runs the training, then the check; returns the archive file.
fn run_training(
    request: &TrainingRequest,
    launcher: &Launcher,
    kind: ArchiveKind,
) -> Result<PathBuf> {
    let name = kind.file_name();
    let flags = request.jvm_flags.to_vec();
    let jar = ["-jar".to_string(), EXTRACTED_JAR.to_string()];
    let with = |extra: &[&str], app: bool| -> Vec<String> {
        let mut args = flags.clone();
        args.extend(extra.iter().map(|s| s.to_string()));
        if app {
            args.push(SPRING_EXIT.into());
        }
        args.extend(jar.iter().cloned());
        args
    };
    let timeout = request.settings.timeout;
    let log = |step: &str| request.work.join(format!("training-{step}.log"));
    match kind {
        ArchiveKind::Cds => {
            let dump = format!("-XX:ArchiveClassesAtExit={name}");
            let run = launcher.run(&with(&[&dump], true), timeout, &log("dump"))?;
            expect_success(request, &run, "training run")?;
        }
        ArchiveKind::AotCache => {
            let record = launcher.run(
                &with(
                    &["-XX:AOTMode=record", "-XX:AOTConfiguration=app.aotconf"],
                    true,
                ),
                timeout,
                &log("record"),
            )?;
            expect_success(request, &record, "training run")?;
            let cache = format!("-XX:AOTCache={name}");
            let create = launcher.run(
                &with(
                    &[
                        "-XX:AOTMode=create",
                        "-XX:AOTConfiguration=app.aotconf",
                        &cache,
                    ],
                    false,
                ),
                timeout,
                &log("create"),
            )?;
            expect_success(request, &create, "AOT cache creation")?;
            let _ = std::fs::remove_file(launcher.dir.join("app.aotconf"));
        }
    }
    let archive = launcher.dir.join(name);
    if !archive.is_file() {
        return Err(usage_hint(
            format!("the training run made no {} archive", kind.name()),
            "the JVM wrote none; run with -v to see its output, or set startup = \"none\"",
        ));
    }
    verify(request, launcher, kind, &with)?;
    Ok(archive)
}

/// Starts the app once more with the archive required and its mapping
/// logged; refuses unless the JVM says it mapped it.
fn verify(
    request: &TrainingRequest,
    launcher: &Launcher,
    kind: ArchiveKind,
    with: &dyn Fn(&[&str], bool) -> Vec<String>,
) -> Result<()> {
    let name = kind.file_name();
    let (use_flag, require, log_flag, mapped) = match kind {
        ArchiveKind::Cds => (
            format!("-XX:SharedArchiveFile={name}"),
            "-Xshare:on",
            "-Xlog:cds=info",
            "Mapped dynamic region",
        ),
        ArchiveKind::AotCache => (
            format!("-XX:AOTCache={name}"),
            "-XX:AOTMode=on",
            "-Xlog:aot=info",
            "Opened AOT cache",
        ),
    };
    let run = launcher.run(
        &with(&[&use_flag, require, log_flag], true),
        request.settings.timeout,
        &request.work.join("training-check.log"),
    )?;
    if !run.succeeded() || !run.said(mapped) {
        let reason = jvm_reason(&run).unwrap_or_else(|| "no reason given".into());
        let log = keep_log(request, &run);
        return Err(usage_hint(
            format!("the {} archive did not map: {reason}", kind.name()),
            format!(
                "a JVM flag or the base does not let it load; the check's output is in {}",
                log.display()
            ),
        ));
    }
    Ok(())
}

fn expect_success(request: &TrainingRequest, run: &RunOutcome, what: &str) -> Result<()> {
    if run.succeeded() {
        return Ok(());
    }
    let log = keep_log(request, run);
    let last = reason_line(run).unwrap_or_else(|| "(no output)".into());
    if run.timed_out {
        return Err(usage_hint(
            format!(
                "{what} did not finish in {} s; its last line: {last}",
                request.settings.timeout.as_secs()
            ),
            format!(
                "the app must start and stop by itself ({SPRING_EXIT}); raise the timeout (--training-timeout, [image.training] timeout), or see {}",
                log.display()
            ),
        ));
    }
    let code = run
        .code
        .map_or_else(|| "was killed".to_string(), |c| format!("exited with {c}"));
    if refused_by_jvm(run) {
        return Err(usage_hint(
            format!("{what}: the JVM refused the image's flags for an archive: {last}"),
            "drop or change the JVM flag it names (jvm-flags, JAVA_TOOL_OPTIONS), or set startup = \"none\"",
        ));
    }
    let hint = if needs_services(run) {
        "the training run starts the app with no database or other services; give it a profile that needs none: [image.training] env = { SPRING_PROFILES_ACTIVE = \"training\" }".to_string()
    } else {
        format!("its output is in {}", log.display())
    };
    Err(usage_hint(
        format!("{what} failed (java {code}): {last}"),
        hint,
    ))
}

/// True when the JVM itself stopped before the app ran.
fn refused_by_jvm(run: &RunOutcome) -> bool {
    run.tail
        .iter()
        .any(|l| l.contains("Error occurred during initialization of VM"))
}

/// True when the output says the app could not reach a database or service.
fn needs_services(run: &RunOutcome) -> bool {
    const SIGNS: &[&str] = &[
        "Failed to configure a DataSource",
        "Connection refused",
        "Communications link failure",
        "Unable to obtain connection",
        "UnknownHostException",
        "Failed to obtain JDBC Connection",
        "PSQLException",
    ];
    run.tail
        .iter()
        .any(|line| SIGNS.iter().any(|s| line.contains(s)))
}

/// The JVM's own words on why an archive was not used.
fn jvm_reason(run: &RunOutcome) -> Option<String> {
    let tail = &run.tail;
    for (i, line) in tail.iter().enumerate() {
        if line.contains("An error has occurred while processing the shared archive file")
            || line.contains("Error occurred during initialization of VM")
        {
            if let Some(next) = tail.get(i + 1).filter(|l| !l.trim().is_empty()) {
                return Some(next.trim().to_string());
            }
        }
    }
    tail.iter()
        .rev()
        .find(|l| {
            (l.contains("[cds") || l.contains("[aot"))
                && (l.contains("[error]") || l.contains("[warning]"))
                || l.contains("Unable to use")
                || l.contains("mismatch")
        })
        .map(|l| strip_log_prefix(l))
        .or_else(|| reason_line(run))
}

/// The line that best says why a run failed: the last `Caused by`, a Spring
/// failure description, a JVM error, else the last line.
fn reason_line(run: &RunOutcome) -> Option<String> {
    let tail = &run.tail;
    for (i, line) in tail.iter().enumerate() {
        if line.trim() == "Description:" {
            if let Some(text) = tail[i + 1..].iter().find(|l| !l.trim().is_empty()) {
                return Some(text.trim().to_string());
            }
        }
    }
    if let Some(cause) = tail
        .iter()
        .rev()
        .find(|l| l.trim_start().starts_with("Caused by:"))
    {
        return Some(cause.trim().to_string());
    }
    for (i, line) in tail.iter().enumerate() {
        if line.contains("Error occurred during initialization of VM")
            || line.contains("An error has occurred while processing the shared archive file")
        {
            if let Some(next) = tail.get(i + 1) {
                return Some(next.trim().to_string());
            }
        }
    }
    tail.iter()
        .rev()
        .find(|l| l.contains("Exception") || l.starts_with("Error"))
        .or_else(|| tail.iter().rev().find(|l| !l.trim().is_empty()))
        .map(|l| strip_log_prefix(l))
}

/// `[0.005s][error][cds] text` → `text`.
fn strip_log_prefix(line: &str) -> String {
    let mut rest = line.trim();
    while rest.starts_with('[') {
        match rest.find(']') {
            Some(end) => rest = rest[end + 1..].trim_start(),
            None => break,
        }
    }
    rest.to_string()
}

/// Keeps a failed run's whole output where the user can read it after the
/// build's scratch directory is gone.
fn keep_log(request: &TrainingRequest, run: &RunOutcome) -> PathBuf {
    let dir = request
        .cache_dir
        .map(|d| d.join("startup"))
        .unwrap_or_else(std::env::temp_dir);
    let kept = dir.join("last-training.log");
    let copied = std::fs::create_dir_all(&dir).and_then(|_| std::fs::copy(&run.log, &kept));
    if copied.is_ok() {
        kept
    } else {
        run.log.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(lines: &[&str]) -> RunOutcome {
        RunOutcome {
            code: Some(1),
            timed_out: false,
            tail: lines.iter().map(|l| l.to_string()).collect(),
            log: PathBuf::from("/nonexistent"),
        }
    }

    #[test]
    fn own_flags_are_refused() {
        assert!(check_flags(&["-Xmx512m".into()]).is_ok());
        assert!(check_flags(&["-Xshare:off".into()]).is_err());
        assert!(check_flags(&["-XX:SharedArchiveFile=/x.jsa".into()]).is_err());
    }

    #[test]
    fn reasons_come_from_the_jvm() {
        let run = outcome(&[
            "An error has occurred while processing the shared archive file.",
            "shared class paths mismatch (hint: enable -Xlog:class+path=info to diagnose the failure)",
            "Error occurred during initialization of VM",
        ]);
        assert!(jvm_reason(&run)
            .unwrap()
            .starts_with("shared class paths mismatch"));
        let run = outcome(&["[0.1s][error][aot] An error has occurred", "x"]);
        assert_eq!(jvm_reason(&run).unwrap(), "An error has occurred");
    }

    #[test]
    fn a_database_is_recognised() {
        let run = outcome(&[
            "APPLICATION FAILED TO START",
            "Description:",
            "",
            "Failed to configure a DataSource: 'url' attribute is not specified",
        ]);
        assert!(needs_services(&run));
        assert!(reason_line(&run)
            .unwrap()
            .starts_with("Failed to configure a DataSource"));
    }
}
