//! The command reference of the docs site (`docs/commands.md`, below its
//! marker), generated from the same clap definitions as the command line:
//! every command and sub-command, its usage, and each argument with its
//! value, `HOIST_*` variable and help. A test keeps the page current
//! (`HOIST_BLESS=1` rewrites it), so the page is never written by hand.

use clap::{Command, CommandFactory};

/// The line after which `docs/commands.md` is generated.
pub const MARKER: &str = "<!-- Generated from hoist's clap definitions: do not edit below. -->";

/// The reference, Markdown.
pub fn commands_markdown() -> String {
    let root = crate::cli::Cli::command();
    let mut out = String::new();
    out.push_str("## Flags of every command\n\n");
    out.push_str(&args_table(&root, true));
    for sub in root.get_subcommands().filter(|c| !c.is_hide_set()) {
        command_section(&mut out, sub, "hoist");
    }
    out
}

/// One command's section, then its sub-commands'.
fn command_section(out: &mut String, command: &Command, parent: &str) {
    let name = format!("{parent} {}", command.get_name());
    out.push_str(&format!("\n## `{name}`\n\n"));
    if let Some(about) = command.get_long_about().or(command.get_about()) {
        out.push_str(&format!("{}\n\n", about.to_string().trim()));
    }
    let usage = command
        .clone()
        .bin_name(&name)
        .render_usage()
        .to_string()
        .replace("Usage: ", "");
    out.push_str(&format!("```text\n{}\n```\n\n", usage.trim()));
    let table = args_table(command, false);
    if !table.is_empty() {
        out.push_str(&table);
    }
    for sub in command.get_subcommands().filter(|c| !c.is_hide_set()) {
        command_section(out, sub, &name);
    }
}

/// The arguments of `command` as a table (only the global ones, or all
/// but those).
fn args_table(command: &Command, global: bool) -> String {
    let rows: Vec<String> = command
        .get_arguments()
        .filter(|a| !a.is_hide_set() && a.is_global_set() == global)
        .filter(|a| !matches!(a.get_id().as_str(), "help" | "version"))
        .map(|a| {
            let name = if a.is_positional() {
                format!(
                    "`{}`",
                    a.get_value_names()
                        .and_then(|v| v.first())
                        .map(|v| v.to_string())
                        .unwrap_or_else(|| a.get_id().to_string().to_uppercase())
                )
            } else {
                let mut names = Vec::new();
                if let Some(short) = a.get_short() {
                    names.push(format!("`-{short}`"));
                }
                if let Some(long) = a.get_long() {
                    names.push(format!("`--{long}`"));
                }
                names.join(", ")
            };
            let value = if a.is_positional() || !a.get_action().takes_values() {
                String::new()
            } else {
                a.get_value_names()
                    .map(|v| {
                        v.iter()
                            .map(|n| n.to_string())
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .unwrap_or_else(|| a.get_id().to_string().to_uppercase())
            };
            let env = a
                .get_env()
                .map(|e| format!("`{}`", e.to_string_lossy()))
                .unwrap_or_default();
            let help = a
                .get_long_help()
                .or(a.get_help())
                .map(|h| h.to_string())
                .unwrap_or_default();
            format!("| {name} | {} | {env} | {} |", cell(&value), cell(&help))
        })
        .collect();
    if rows.is_empty() {
        return String::new();
    }
    format!(
        "| argument | value | variable | what it does |\n|---|---|---|---|\n{}\n\n",
        rows.join("\n")
    )
}

/// Text for one table cell: on one line, `|` escaped.
fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_commands_page_is_generated_from_the_command_line() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/commands.md");
        let page = std::fs::read_to_string(&path).unwrap();
        let (head, _) = page
            .split_once(MARKER)
            .expect("docs/commands.md has the generated part's marker");
        let current = format!("{head}{MARKER}\n\n{}", commands_markdown());
        if std::env::var_os("HOIST_BLESS").is_some() {
            std::fs::write(&path, &current).unwrap();
            return;
        }
        assert!(
            page == current,
            "docs/commands.md is not what the command line says: run HOIST_BLESS=1 cargo test --bin hoist the_commands_page"
        );
        // Every command is in it.
        for name in [
            "ship", "promote", "deploy", "rollback", "verify", "sbom", "copy",
        ] {
            assert!(page.contains(&format!("## `hoist {name}`")), "{name}");
        }
        assert!(page.contains("`HOIST_TO`"));
    }
}
