//! Start-up archives: a CDS archive (JDK 17–23) or a JDK AOT cache (JDK 24
//! and later) trained at build time on the real application, without a
//! container runtime, verified, and shipped in the image's top layer.
//!
//! How it goes ([`train::train`]): the base image's layers are unpacked
//! into a scratch root ([`crate::image::unpack`]), the application's files
//! are laid out there exactly as the image holds them ([`layout`]), the
//! base's own `java` runs the app once with Spring's
//! `-Dspring.context.exit=onRefresh` and the archive flag ([`launcher`]),
//! then once more with the archive required (`-Xshare:on`,
//! `-XX:AOTMode=on`) and logged, and the build is refused unless it mapped.
//! Archives are kept in the layer cache under a key of everything that
//! makes them: the base's layers, the application's files, the flags and
//! environment, so a changed jar always retrains.

pub(crate) mod jvm;
pub(crate) mod launcher;
pub(crate) mod layout;
pub(crate) mod train;

use std::time::Duration;

/// What `startup` asks for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Startup {
    /// No archive (the default).
    #[default]
    None,
    /// A CDS archive (`-XX:ArchiveClassesAtExit`), JDK 17 and later.
    Cds,
    /// A JDK AOT cache (JEP 483), JDK 24 and later.
    AotCache,
    /// The AOT cache on JDK 24 and later, CDS on 17 to 23; platforms this
    /// machine cannot run are built without an archive, with a warning.
    Auto,
}

impl Startup {
    /// The name `--startup` and `hoist.toml` use.
    pub fn name(self) -> &'static str {
        match self {
            Startup::None => "none",
            Startup::Cds => "cds",
            Startup::AotCache => "aot-cache",
            Startup::Auto => "auto",
        }
    }
}

impl std::str::FromStr for Startup {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "none" => Ok(Startup::None),
            "cds" => Ok(Startup::Cds),
            "aot-cache" => Ok(Startup::AotCache),
            "auto" => Ok(Startup::Auto),
            _ => Err(format!(
                "unknown startup {text:?}: use none, cds, aot-cache or auto"
            )),
        }
    }
}

/// The kind of archive a training run makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ArchiveKind {
    /// A dynamic CDS archive, `app.jsa`.
    Cds,
    /// An AOT cache, `app.aot`.
    AotCache,
}

impl ArchiveKind {
    /// The archive's file name beside the thin jar.
    pub(crate) fn file_name(self) -> &'static str {
        match self {
            ArchiveKind::Cds => "app.jsa",
            ArchiveKind::AotCache => "app.aot",
        }
    }

    /// The entrypoint flag that uses the archive at `path`.
    pub(crate) fn jvm_flag(self, path: &str) -> String {
        match self {
            ArchiveKind::Cds => format!("-XX:SharedArchiveFile={path}"),
            ArchiveKind::AotCache => format!("-XX:AOTCache={path}"),
        }
    }

    /// The name `--startup` uses.
    pub(crate) fn name(self) -> &'static str {
        match self {
            ArchiveKind::Cds => "cds",
            ArchiveKind::AotCache => "aot-cache",
        }
    }
}

/// `[image.training]`: what the training run gets besides the image's own
/// settings.
#[derive(Clone, Debug)]
pub struct TrainingSettings {
    /// Environment variables for the training run only (a profile that needs
    /// no database, say).
    pub env: Vec<(String, String)>,
    /// How long one JVM run of the training may take.
    pub timeout: Duration,
}

impl Default for TrainingSettings {
    fn default() -> Self {
        Self {
            env: Vec::new(),
            timeout: Duration::from_secs(300),
        }
    }
}
