//! Keeps the layering honest: the image core, the jar reader, the start-up
//! training and the SBOM builder never touch the network, and every module
//! says what it owns.

use std::path::Path;

fn rust_files(dir: &Path) -> Vec<std::path::PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap().into_path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect()
}

#[test]
fn image_and_jar_stay_off_the_network() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for dir in ["image", "jar", "startup", "sbom"] {
        for file in rust_files(&src.join(dir)) {
            let text = std::fs::read_to_string(&file).unwrap();
            for banned in [
                "reqwest",
                "tokio",
                "aws_",
                "crate::dest",
                "crate::build",
                "crate::registry",
            ] {
                assert!(
                    !text.contains(banned),
                    "{} mentions {banned}",
                    file.display()
                );
            }
        }
    }
    for file in rust_files(&src.join("image")) {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            !text.contains("crate::jar"),
            "{}: the image core knows no Java",
            file.display()
        );
    }
}

#[test]
fn the_registry_knows_no_java_and_ecs_knows_no_tar() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for file in rust_files(&src.join("registry")) {
        let text = std::fs::read_to_string(&file).unwrap();
        for banned in ["crate::jar", "crate::build", "crate::ecs", "zip::", "tar::"] {
            assert!(
                !text.contains(banned),
                "{} mentions {banned}",
                file.display()
            );
        }
    }
    for file in rust_files(&src.join("ecs")) {
        let text = std::fs::read_to_string(&file).unwrap();
        for banned in [
            "tar::",
            "flate2",
            "crate::image::layer",
            "crate::jar",
            "crate::build",
            "crate::dest",
        ] {
            assert!(
                !text.contains(banned),
                "{} mentions {banned}",
                file.display()
            );
        }
    }
}

#[test]
fn every_module_has_a_doc_comment() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for file in rust_files(&src) {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.starts_with("//!"),
            "{} has no module doc comment",
            file.display()
        );
    }
}

/// The top-level module a source file belongs to: `src/ecs/deploy.rs` →
/// `ecs`, `src/ship.rs` → `ship`, `src/cli/build.rs` → `cli::build`.
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap();
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts[0] == "cli" && parts.len() > 1 && parts[1] != "mod" {
        return format!("cli::{}", parts[1]);
    }
    parts.truncate(1);
    parts.remove(0)
}

/// Every `crate::NAME` a text mentions (NAME: the top-level module, or
/// `cli::NAME` for a command module).
fn mentioned_modules(text: &str) -> std::collections::BTreeSet<String> {
    let mut found = std::collections::BTreeSet::new();
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if name == "cli" {
            let sub: String = rest["cli::".len().min(rest.len())..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            found.insert(format!("cli::{sub}"));
        } else if !name.is_empty() {
            found.insert(name);
        }
    }
    found
}

type Graph = std::collections::BTreeMap<String, std::collections::BTreeSet<String>>;

/// Who imports whom, for the library (`src/`) and the command layer.
fn import_graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph = Graph::new();
    for file in rust_files(&src) {
        let module = module_of(&src, &file);
        let text = std::fs::read_to_string(&file).unwrap();
        let edges = graph.entry(module.clone()).or_default();
        for target in mentioned_modules(&text) {
            if target != module {
                edges.insert(target);
            }
        }
    }
    graph
}

/// One cycle in `graph`, as the path that closes it, if there is one.
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &Graph,
        path: &mut Vec<String>,
        done: &mut std::collections::BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = std::collections::BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn no_module_imports_in_a_cycle() {
    let graph = import_graph();
    assert!(graph.contains_key("ecs") && graph.contains_key("cli::deploy"));
    if let Some(cycle) = find_cycle(&graph) {
        panic!("import cycle: {}", cycle.join(" → "));
    }
}

#[test]
fn the_cycle_check_catches_a_cycle() {
    // The check above would fail on a cycle like the one `cli` once had with
    // the command modules it dispatched to.
    let mut graph = Graph::new();
    graph
        .entry("cli".into())
        .or_default()
        .insert("cli::ship".into());
    graph
        .entry("cli::ship".into())
        .or_default()
        .insert("ship".into());
    graph
        .entry("cli::ship".into())
        .or_default()
        .insert("cli".into());
    let cycle = find_cycle(&graph).expect("a cycle");
    assert_eq!(cycle.first(), cycle.last());
    assert!(cycle.contains(&"cli::ship".to_string()));
    graph.get_mut("cli::ship").unwrap().remove("cli");
    assert_eq!(find_cycle(&graph), None);
}

#[test]
fn the_library_knows_no_command_line() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for file in rust_files(&src) {
        if file.starts_with(src.join("cli")) || file == src.join("main.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for banned in ["clap", "indicatif", "crate::cli"] {
            assert!(
                !text.contains(banned),
                "{} mentions {banned}: that belongs to the command layer (src/cli)",
                file.display()
            );
        }
    }
    // The command modules don't import one another, only the shared pieces.
    let graph = import_graph();
    let commands = [
        "cli::build",
        "cli::cache",
        "cli::copy",
        "cli::deploy",
        "cli::render",
        "cli::ship",
    ];
    for command in commands {
        for other in commands.iter().filter(|c| **c != command) {
            assert!(
                !graph[command].contains(*other),
                "{command} imports {other}"
            );
        }
    }
}

#[test]
fn one_runtime_made_in_main() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for file in rust_files(&src) {
        let text = std::fs::read_to_string(&file).unwrap();
        let makes_runtime = text.contains("runtime::Builder") || text.contains("Runtime::new");
        assert!(
            !makes_runtime || file == src.join("main.rs"),
            "{} makes a tokio runtime: the library is async, main owns the one runtime",
            file.display()
        );
    }
}

/// Who imports whom among the rooms of one directory module (`ecs` is
/// `src/ecs/`, `ecs::rollout` is `src/ecs/rollout/`): each file or
/// sub-directory is a room, and an edge is a mention of
/// `crate::MODULE::ROOM` (or `crate::MODULE::{ROOM, …}`), doc comments
/// included.
fn room_graph(module: &str) -> Graph {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src")
        .join(module.replace("::", "/"));
    let prefix = format!("crate::{module}::");
    let room_of = |file: &Path| -> String {
        let relative = file.strip_prefix(&root).unwrap();
        let first = relative.iter().next().unwrap().to_string_lossy();
        first.trim_end_matches(".rs").to_string()
    };
    let mut graph = Graph::new();
    for file in rust_files(&root) {
        let room = room_of(&file);
        if room == "mod" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let edges = graph.entry(room.clone()).or_default();
        for (i, _) in text.match_indices(&prefix) {
            let rest = &text[i + prefix.len()..];
            let names: Vec<String> = if let Some(group) = rest.strip_prefix('{') {
                let group = &group[..group.find('}').unwrap_or(group.len())];
                group
                    .split(',')
                    .map(|part| part.trim().split("::").next().unwrap_or("").to_string())
                    .collect()
            } else {
                vec![rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect()]
            };
            for name in names {
                let is_room =
                    root.join(format!("{name}.rs")).is_file() || root.join(&name).is_dir();
                if is_room && name != room {
                    edges.insert(name);
                }
            }
        }
    }
    graph
}

#[test]
fn no_room_of_a_module_imports_in_a_cycle() {
    // The circles that once were: registry's transport ↔ ecr / tags, image's
    // cache ↔ cache_dir, ecs's client → diagnose → deploy → … → client.
    for dir in [
        "registry",
        "image",
        "ecs",
        "ecs::taskdef",
        "ecs::rollout",
        "ecs::diagnosis",
        "ecs::verify",
        "dest",
        "startup",
        "jar",
        "sbom",
        "provenance",
        "aws",
        "util",
    ] {
        let graph = room_graph(dir);
        assert!(!graph.is_empty(), "src/{dir} has rooms");
        if let Some(cycle) = find_cycle(&graph) {
            panic!("import cycle in src/{dir}: {}", cycle.join(" → "));
        }
    }
    // The scan sees edges, grouped imports included.
    let registry = room_graph("registry");
    assert!(registry["tags"].contains("transport"), "{registry:?}");
    assert!(room_graph("ecs::rollout")["deploy"].contains("follow"));
    // ECS's rooms: the task definition (pure: it imports no other room),
    // the rollout, why it failed, verify, and the client with the shared
    // types at the bottom.
    let ecs = room_graph("ecs");
    assert!(ecs["rollout"].contains("diagnosis"), "{ecs:?}");
    assert!(ecs["taskdef"].is_empty(), "{ecs:?}");
    for bottom in ["client", "service", "failure", "target_health"] {
        for room in ["rollout", "diagnosis", "verify"] {
            assert!(
                !ecs[bottom].contains(room),
                "{bottom} imports {room}: {ecs:?}"
            );
        }
    }
    // The registry's transport knows no ECR and no tag policy: those hook in
    // from above.
    let transport = registry["transport"].clone();
    for above in ["ecr", "tags", "tag_policy"] {
        assert!(!transport.contains(above), "transport imports {above}");
    }
}
