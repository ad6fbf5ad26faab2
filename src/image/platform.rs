//! Platforms (`os/arch[/variant]`) as written in image indexes and configs.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An image platform as it appears in an index descriptor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    /// CPU architecture in Go's naming (`amd64`, `arm64`, …).
    pub architecture: String,
    /// Operating system (`linux`).
    pub os: String,
    /// CPU variant (`v8` for arm64), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Operating-system version (Windows images), if any.
    #[serde(
        rename = "os.version",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub os_version: Option<String>,
}

impl Platform {
    /// Parses `os/arch[/variant]`, e.g. `linux/amd64` or `linux/arm64/v8`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let parts: Vec<&str> = text.split('/').collect();
        let bad =
            || format!("unknown platform {text:?}: expected OS/ARCH[/VARIANT], e.g. linux/amd64");
        if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.is_empty()) {
            return Err(bad());
        }
        Ok(Platform {
            os: parts[0].to_string(),
            architecture: parts[1].to_string(),
            variant: parts.get(2).map(|v| v.to_string()),
            os_version: None,
        })
    }

    /// The default platform: linux/amd64.
    /// The platform this machine runs natively (`linux/amd64` on x86-64).
    pub fn native() -> Self {
        let architecture = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "x86" => "386",
            "powerpc64" => "ppc64le",
            other => other,
        };
        Platform::parse(&format!("{}/{architecture}", std::env::consts::OS))
            .unwrap_or_else(|_| Platform::default_linux_amd64())
    }

    pub fn default_linux_amd64() -> Self {
        Platform::parse("linux/amd64").expect("constant platform parses")
    }

    /// True when `candidate` (from an index) satisfies this requested platform.
    /// A request without a variant accepts any variant; `arm64` treats a
    /// missing variant as `v8`.
    pub fn matches(&self, candidate: &Platform) -> bool {
        if self.os != candidate.os || self.architecture != candidate.architecture {
            return false;
        }
        match (&self.variant, &candidate.variant) {
            (None, _) => true,
            (Some(want), Some(have)) => want == have,
            (Some(want), None) => self.architecture == "arm64" && want == "v8",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        assert_eq!(
            Platform::parse("linux/arm64/v8").unwrap().to_string(),
            "linux/arm64/v8"
        );
        assert!(Platform::parse("linux").is_err());
        assert!(Platform::parse("linux//x").is_err());
    }

    #[test]
    fn variant_matching() {
        let arm = Platform::parse("linux/arm64/v8").unwrap();
        let bare = Platform::parse("linux/arm64").unwrap();
        assert!(arm.matches(&bare));
        assert!(bare.matches(&arm));
        assert!(!Platform::default_linux_amd64().matches(&arm));
    }
}
