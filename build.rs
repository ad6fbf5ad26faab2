//! Cargo build script (the package root's build.rs; `src/build.rs` is the unrelated
//! `hoist build` command).
//!
//! It sets `HOIST_GIT_COMMIT` for `env!`: the first 12 hex digits of the commit the binary
//! is built from, or "unknown" where there is no git checkout (a crates.io tarball, a source
//! archive, no git installed). A non-empty `HOIST_GIT_COMMIT` in the build environment wins,
//! for builds from an exported tree that still know their commit.
//!
//! It asks Cargo to run it again only when HEAD moves: the HEAD file (checkout of another
//! branch or commit) and the ref HEAD points to (a new commit), loose or packed. Only paths
//! that exist are named, since Cargo reruns a script on every build for a missing path.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=HOIST_GIT_COMMIT");

    let commit = match env::var("HOIST_GIT_COMMIT") {
        Ok(given) if !given.trim().is_empty() => given.trim().to_string(),
        _ => commit_from_git().unwrap_or_else(|| "unknown".to_string()),
    };
    println!("cargo:rustc-env=HOIST_GIT_COMMIT={commit}");
}

fn commit_from_git() -> Option<String> {
    let root = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR")?);
    // Only this package's own checkout counts: a crates.io tarball unpacked somewhere inside
    // another repository must not report that repository's commit. `.git` is a directory
    // in a clone and a file in a worktree or submodule.
    if !root.join(".git").exists() {
        return None;
    }
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git")
            .arg("-C")
            .arg(&root)
            .args(args)
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
        (!text.is_empty()).then_some(text)
    };

    // What to watch. A worktree has its own HEAD (git dir) but shares refs (common dir).
    if let Some(git_dir) = git(&["rev-parse", "--git-dir"]) {
        let git_dir = absolute(&root, &git_dir);
        watch(&git_dir.join("HEAD"));
        let common = git(&["rev-parse", "--git-common-dir"])
            .map(|dir| absolute(&root, &dir))
            .unwrap_or(git_dir);
        if let Some(branch_ref) = git(&["symbolic-ref", "-q", "HEAD"]) {
            let loose = common.join(&branch_ref);
            if loose.exists() {
                watch(&loose);
            } else if let Some(parent) = loose.parent() {
                // The ref is packed for now; a commit writes it loose into this directory.
                watch(parent);
            }
        }
        watch(&common.join("packed-refs"));
        watch(&common.join("reftable"));
    }

    git(&["rev-parse", "--short=12", "HEAD"])
}

fn absolute(root: &Path, path: &str) -> PathBuf {
    let path = Path::new(path);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        root.join(path)
    }
}

fn watch(path: &Path) {
    if path.exists() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}
