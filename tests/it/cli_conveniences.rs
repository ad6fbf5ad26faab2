//! What CI users expect of a command-line tool: completions and a man page
//! generated from the same definitions as the flags, `-q` and `-v` on every
//! command, `NO_COLOR`, and a version that names its commit.

use crate::support::cli::hoist;
use crate::support::fixtures::synthetic_boot;

#[test]
fn completions_for_bash_zsh_and_fish_name_every_command() {
    for (shell, marker) in [
        ("bash", "complete -F _hoist"),
        ("zsh", "#compdef hoist"),
        ("fish", "complete -c hoist"),
    ] {
        let script = hoist().args(["completions", shell]).success();
        assert!(
            script.contains(marker),
            "{shell}: {}",
            &script[..200.min(script.len())]
        );
        for command in [
            "build", "deploy", "ship", "promote", "render", "rollback", "status",
        ] {
            assert!(
                script.contains(command),
                "{shell} completion lacks {command}"
            );
        }
        assert!(
            script.contains("rollback-on-failure"),
            "{shell}: flags completed"
        );
    }
    let stderr = hoist().args(["completions", "powershell-ish"]).failure(2);
    assert!(
        stderr.contains("possible values: bash, zsh, fish"),
        "{stderr}"
    );
}

#[test]
fn the_man_page_is_roff_naming_the_commands() {
    let page = hoist().args(["man"]).success();
    assert!(page.contains(".TH hoist 1"), "{}", &page[..200]);
    assert!(
        page.contains(".SH SUBCOMMANDS") || page.contains("hoist\\-deploy"),
        "{page}"
    );
    for command in ["deploy", "ship", "completions"] {
        assert!(page.contains(command), "man page lacks {command}");
    }
}

#[test]
fn quiet_and_verbose_on_a_build() {
    let dir = tempfile::tempdir().unwrap();
    let jar = synthetic_boot(dir.path());
    let build = |flag: Option<&str>, out: &str| {
        let mut command = hoist()
            .args(["build", "--from", "scratch", "--jar"])
            .args([&jar]);
        command = command.args(["--to", &format!("oci:{}", dir.path().join(out).display())]);
        if let Some(flag) = flag {
            command = command.args([flag]);
        }
        let (_, output) = command.output();
        assert!(output.status.success());
        (
            String::from_utf8(output.stdout).unwrap(),
            String::from_utf8(output.stderr).unwrap(),
        )
    };
    let (digest, normal) = build(None, "a");
    assert!(digest.starts_with("sha256:"));
    assert!(!normal.contains("layer "), "{normal}");
    let (quiet_digest, quiet) = build(Some("-q"), "b");
    assert_eq!(quiet_digest, digest);
    assert_eq!(quiet, "", "-q prints nothing on stderr");
    let (verbose_digest, verbose) = build(Some("--verbose"), "c");
    assert_eq!(verbose_digest, digest);
    assert!(verbose.contains("layer dependencies"), "{verbose}");
    assert!(verbose.contains("layer application"), "{verbose}");
    // Both at once is a usage error.
    let stderr = hoist()
        .args(["-q", "-v", "inspect"])
        .args([&jar])
        .failure(2);
    assert!(stderr.contains("cannot be used with"), "{stderr}");
}

#[test]
fn no_color_wins_over_a_forced_colour() {
    let (_, coloured) = hoist().args(["--help"]).env("CLICOLOR_FORCE", "1").output();
    assert!(
        coloured.stdout.contains(&0x1b),
        "colour is forced without NO_COLOR"
    );
    let (_, plain) = hoist()
        .args(["--help"])
        .env("CLICOLOR_FORCE", "1")
        .env("NO_COLOR", "1")
        .output();
    assert!(
        !plain.stdout.contains(&0x1b),
        "NO_COLOR: no escape sequences"
    );
}

#[test]
fn the_version_names_the_commit() {
    let version = hoist().args(["--version"]).success();
    let words: Vec<&str> = version.split_whitespace().collect();
    assert_eq!(words[0], "hoist");
    assert_eq!(words[1], env!("CARGO_PKG_VERSION"));
    let commit = words[2].trim_matches(['(', ')']);
    assert!(
        commit == "unknown"
            || (commit.len() == 12 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "{version}"
    );
}
