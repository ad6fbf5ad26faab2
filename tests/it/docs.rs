//! The documentation holds: every key hoist.toml's parser accepts is in the
//! reference page (`docs/configuration.md`), with the key list taken from
//! the parser itself — the "expected one of …" of its unknown-key error, at
//! every table it reads — never from a hand-written list; every TOML
//! snippet of the docs and the README parses with hoist's own parser; and
//! every documented key is one the parser knows.

use std::collections::BTreeSet;
use std::path::Path;

/// How a table is reached from its parent.
#[derive(Clone, Debug)]
enum Step {
    /// `[parent.key]`.
    Table(String),
    /// `[[parent.key]]`.
    Array(String),
    /// `[parent.key.NAME]`.
    Map(String),
}

/// The document that puts `inner` at `path`.
fn document(path: &[Step], inner: toml::Value) -> String {
    let mut value = inner;
    for step in path.iter().rev() {
        let mut table = toml::map::Map::new();
        match step {
            Step::Table(key) => {
                table.insert(key.clone(), value);
            }
            Step::Array(key) => {
                table.insert(key.clone(), toml::Value::Array(vec![value]));
            }
            Step::Map(key) => {
                let mut named = toml::map::Map::new();
                named.insert("name".into(), value);
                table.insert(key.clone(), toml::Value::Table(named));
            }
        }
        value = toml::Value::Table(table);
    }
    toml::to_string(&value).unwrap()
}

/// The keys the parser accepts in the table at `path`, from its refusal of
/// an unknown one; `None` when no table is read there.
fn keys_at(path: &[Step]) -> Option<Vec<String>> {
    let mut probe = toml::map::Map::new();
    probe.insert("__probe__".into(), toml::Value::Integer(1));
    let error = hoist::HoistConfig::parse(&document(path, toml::Value::Table(probe))).err()?;
    let (_, expected) = error.split_once("unknown field `__probe__`, expected ")?;
    Some(
        expected
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect(),
    )
}

/// Every key the parser accepts, as `table.key` paths (`env.*.cluster`,
/// `env.*.targets[].service`, `image.files[].to`).
fn parser_keys() -> BTreeSet<String> {
    fn walk(path: &mut Vec<Step>, name: &str, out: &mut BTreeSet<String>) {
        let keys = keys_at(path).unwrap_or_else(|| panic!("no table at {name:?}"));
        for key in keys {
            let here = if name.is_empty() {
                key.clone()
            } else {
                format!("{name}.{key}")
            };
            let mut found = false;
            for (step, shown) in [
                (Step::Table(key.clone()), here.clone()),
                (Step::Array(key.clone()), format!("{here}[]")),
                (Step::Map(key.clone()), format!("{here}.*")),
            ] {
                path.push(step);
                if keys_at(path).is_some() {
                    walk(path, &shown, out);
                    found = true;
                }
                path.pop();
                if found {
                    break;
                }
            }
            if !found {
                out.insert(here);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(&mut Vec::new(), "", &mut out);
    out
}

/// The keys a TOML document sets, as `table.key` paths in the parser's
/// shape (`env.dev.cluster` → `env.*.cluster`: `maps` names the tables whose
/// keys are names).
fn document_keys(
    value: &toml::Value,
    name: &str,
    maps: &BTreeSet<String>,
    leaves: &BTreeSet<String>,
    out: &mut BTreeSet<String>,
) {
    match value {
        toml::Value::Table(table) => {
            for (key, inner) in table {
                let here = if name.is_empty() {
                    key.clone()
                } else if maps.contains(name) {
                    format!("{name}.*")
                } else {
                    format!("{name}.{key}")
                };
                if leaves.contains(&here) {
                    // A key whose value is a table of the user's own
                    // (environment, labels, secrets).
                    out.insert(here);
                } else if maps.contains(name) {
                    document_keys(inner, &here, maps, leaves, out);
                } else {
                    match inner {
                        toml::Value::Table(_) => document_keys(inner, &here, maps, leaves, out),
                        toml::Value::Array(items)
                            if items.first().is_some_and(|i| i.is_table()) =>
                        {
                            for item in items {
                                document_keys(item, &format!("{here}[]"), maps, leaves, out);
                            }
                        }
                        _ => {
                            out.insert(here);
                        }
                    }
                }
            }
        }
        _ => {
            out.insert(name.to_string());
        }
    }
}

/// The ```toml blocks of a Markdown text.
fn toml_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match &mut current {
            None if line.trim_start() == "```toml" => current = Some(String::new()),
            Some(block) if line.trim_start().starts_with("```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    blocks
}

/// The Markdown files of the docs and the README.
fn markdown_files() -> Vec<std::path::PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md")];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// A snippet, completed into a whole hoist.toml where it is a part: the
/// smallest `[image]` and `[env.*]` fill in what it leaves out.
fn completed(snippet: &str) -> toml::Value {
    let mut value: toml::Value =
        toml::from_str(snippet).unwrap_or_else(|e| panic!("not TOML ({e}):\n{snippet}"));
    let table = value.as_table_mut().unwrap();
    let image = table
        .entry("image")
        .or_insert_with(|| toml::Value::Table(Default::default()));
    if let Some(image) = image.as_table_mut() {
        image
            .entry("to")
            .or_insert_with(|| toml::Value::String("registry.example/app".into()));
        image
            .entry("from")
            .or_insert_with(|| toml::Value::String("scratch".into()));
    }
    if let Some(env) = table.get_mut("env").and_then(|e| e.as_table_mut()) {
        for (_, one) in env.iter_mut() {
            if let Some(one) = one.as_table_mut() {
                one.entry("cluster")
                    .or_insert_with(|| toml::Value::String("c".into()));
                let has_targets = one.contains_key("targets");
                if !has_targets {
                    one.entry("service")
                        .or_insert_with(|| toml::Value::String("s".into()));
                    one.entry("container")
                        .or_insert_with(|| toml::Value::String("c".into()));
                }
            }
        }
    }
    value
}

#[test]
fn every_key_the_parser_reads_is_in_the_reference_and_every_snippet_parses() {
    let keys = parser_keys();
    // The walk found the tables it should (a sanity check of the probe).
    for expected in [
        "image.from",
        "env.*.cluster",
        "env.*.targets[].service",
        "registry.resolve",
    ] {
        assert!(keys.contains(expected), "{expected} not among {keys:?}");
    }
    let maps: BTreeSet<String> = ["env".to_string()].into_iter().collect();
    let mut documented = BTreeSet::new();
    let mut snippets = 0;
    for file in markdown_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        for block in toml_blocks(&text) {
            snippets += 1;
            let whole = completed(&block);
            let text = toml::to_string(&whole).unwrap();
            if let Err(error) = hoist::HoistConfig::parse(&text) {
                panic!(
                    "{}: a TOML snippet does not parse: {error}\n{block}",
                    file.display()
                );
            }
            if file.ends_with("docs/configuration.md") {
                let value: toml::Value = toml::from_str(&block).unwrap();
                document_keys(&value, "", &maps, &keys, &mut documented);
            }
        }
    }
    assert!(snippets >= 2, "{snippets} TOML snippets");
    if std::env::var_os("HOIST_PRINT_KEYS").is_some() {
        eprintln!("{}", keys.iter().cloned().collect::<Vec<_>>().join("\n"));
    }
    let missing: Vec<&String> = keys.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "keys hoist.toml's parser reads but docs/configuration.md's TOML does not show: {missing:?}"
    );
    // And each has its row in the reference table.
    let page = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/configuration.md"),
    )
    .unwrap();
    let without_row: Vec<&String> = keys
        .iter()
        .filter(|k| !page.contains(&format!("| `{k}` |")))
        .collect();
    assert!(
        without_row.is_empty(),
        "keys without a row in docs/configuration.md's table: {without_row:?}"
    );
    let unknown: Vec<&String> = documented.difference(&keys).collect();
    assert!(
        unknown.is_empty(),
        "documented keys the parser does not know: {unknown:?}"
    );
}

#[test]
fn the_readme_is_short_and_its_links_lead_somewhere() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let lines = readme.lines().count();
    assert!(
        lines <= 200,
        "README.md has {lines} lines; the rest belongs in docs/"
    );
    let mut links = 0;
    for (i, _) in readme.match_indices("](") {
        let target: String = readme[i + 2..].chars().take_while(|c| *c != ')').collect();
        if target.starts_with("http") || target.starts_with('#') {
            continue;
        }
        links += 1;
        let file = target.split('#').next().unwrap();
        assert!(
            root.join(file).exists(),
            "README.md links to {target}, which is not there"
        );
    }
    assert!(links >= 10, "{links} links into the docs");
}
