//! `hoist cache dir|du|prune`: where the layer cache is, what it holds, and
//! pruning it — least recently used first, never beside a running build
//! (the library's `prune_cache` waits for builds to release the cache).

use crate::cli::output::{emit, OutputArgs};
use anyhow::Result;
use clap::{Args, Subcommand};
use hoist::error::{usage, usage_hint};
use hoist::PruneOptions;
use indicatif::{HumanBytes, HumanDuration};
use std::path::PathBuf;
use std::time::Duration;

/// `hoist cache`.
#[derive(Debug, Args)]
pub struct CacheArgs {
    /// Layer cache directory (default: $XDG_CACHE_HOME/hoist or ~/.cache/hoist).
    #[arg(long, value_name = "DIR", env = "HOIST_CACHE_DIR", global = true)]
    pub cache_dir: Option<PathBuf>,
    /// What to do with it.
    #[command(subcommand)]
    pub command: CacheCommand,
}

/// The `hoist cache` subcommands.
#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Print the layer cache's directory.
    Dir,
    /// Show how much the layer cache holds.
    Du(DuArgs),
    /// Remove what the layer cache has not used lately, least recently used first.
    Prune(PruneArgs),
}

/// `hoist cache du`.
#[derive(Debug, Args)]
pub struct DuArgs {
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `hoist cache prune`.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Remove blobs unused for longer than this (e.g. 30d, 12h).
    #[arg(long, value_name = "DURATION")]
    pub older_than: Option<String>,
    /// Then remove the least recently used until the cache fits (e.g. 2GiB, 500MB).
    #[arg(long, value_name = "SIZE")]
    pub max_size: Option<String>,
    /// Wait at most this long for running builds to finish with the cache.
    #[arg(long, value_name = "DURATION", default_value = "10m")]
    pub wait: String,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Runs `hoist cache …`.
pub fn run_cache(args: CacheArgs) -> Result<()> {
    let dir = args
        .cache_dir
        .clone()
        .or_else(hoist::default_cache_dir)
        .ok_or_else(|| {
            usage_hint(
                "no layer cache directory: neither XDG_CACHE_HOME nor HOME is set",
                "pass --cache-dir DIR or set HOIST_CACHE_DIR",
            )
        })?;
    match args.command {
        CacheCommand::Dir => {
            println!("{}", dir.display());
            Ok(())
        }
        CacheCommand::Du(du) => {
            let usage = hoist::cache_usage(&dir)?;
            let oldest = usage
                .oldest_use_seconds
                .map(|s| format!("{} ago", HumanDuration(Duration::from_secs(s))))
                .unwrap_or_else(|| "-".into());
            let human = format!(
                "dir         {}\nsize        {} ({} blobs, {} layer records)\nstart-up    {} archives ({})\ntemporary   {} files ({})\noldest use  {oldest}",
                usage.dir.display(),
                HumanBytes(usage.bytes),
                usage.blobs,
                usage.layers,
                usage.startup_archives,
                HumanBytes(usage.startup_bytes),
                usage.temporary,
                HumanBytes(usage.temporary_bytes),
            );
            emit(&usage, &du.output, &[], &human)
        }
        CacheCommand::Prune(prune) => {
            let options = PruneOptions {
                older_than: prune
                    .older_than
                    .as_deref()
                    .map(|t| parse_duration("--older-than", t))
                    .transpose()?,
                max_size: prune.max_size.as_deref().map(parse_size).transpose()?,
                wait: parse_duration("--wait", &prune.wait)?,
            };
            let report = hoist::prune_cache(&dir, &options)?;
            let human = format!(
                "pruned {}: removed {} blobs ({}), {} layer records, {} start-up archives, {} temporary files; kept {} blobs ({})",
                report.dir.display(),
                report.removed_blobs,
                HumanBytes(report.removed_bytes),
                report.removed_layers,
                report.removed_startup,
                report.removed_temporary,
                report.kept_blobs,
                HumanBytes(report.kept_bytes),
            );
            emit(&report, &prune.output, &[], &human)
        }
    }
}

fn parse_duration(flag: &str, text: &str) -> Result<Duration> {
    humantime::parse_duration(text).map_err(|_| {
        usage_hint(
            format!("{flag} {text:?}: not a duration"),
            "e.g. 30d, 12h, 90m",
        )
    })
}

/// `2GiB` → 2147483648, `500MB` → 500000000, `1024` → 1024.
fn parse_size(text: &str) -> Result<u64> {
    let bad = || {
        usage_hint(
            format!("--max-size {text:?}: not a size"),
            "e.g. 2GiB, 500MB, 0 (units B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)",
        )
    };
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let number: f64 = number.parse().map_err(|_| bad())?;
    let multiplier: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return Err(bad()),
    };
    let bytes = number * multiplier;
    if !bytes.is_finite() || bytes > u64::MAX as f64 {
        return Err(usage(format!("--max-size {text:?}: too large")));
    }
    Ok(bytes.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations() {
        assert_eq!(parse_size("2GiB").unwrap(), 2 << 30);
        assert_eq!(parse_size("500MB").unwrap(), 500_000_000);
        assert_eq!(parse_size("1.5 KiB").unwrap(), 1536);
        assert_eq!(parse_size("0").unwrap(), 0);
        assert!(parse_size("2 lots").is_err());
        assert!(parse_size("GiB").is_err());
        assert!(parse_size("-1GiB").is_err());
        assert_eq!(
            parse_duration("--older-than", "30d").unwrap(),
            Duration::from_secs(30 * 86_400)
        );
        assert!(parse_duration("--older-than", "a month").is_err());
    }
}
