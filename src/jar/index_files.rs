//! Spring Boot's index files: `BOOT-INF/layers.idx` and `BOOT-INF/classpath.idx`.

/// One layer of `layers.idx`: its name and the entry names or prefixes
/// (ending in `/`) that belong to it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct IndexedLayer {
    /// Layer name (`dependencies`, `application`, …).
    pub name: String,
    /// Entry names, or prefixes ending in `/`.
    pub patterns: Vec<String>,
}

impl IndexedLayer {
    /// True when `entry` belongs to this layer.
    pub(crate) fn contains(&self, entry: &str) -> bool {
        self.patterns.iter().any(|p| {
            if p.ends_with('/') {
                entry.starts_with(p.as_str())
            } else {
                entry == p
            }
        })
    }
}

/// Parses `layers.idx`:
/// ```text
/// - "dependencies":
///   - "BOOT-INF/lib/"
/// ```
pub(crate) fn parse_layers_index(text: &str) -> Result<Vec<IndexedLayer>, String> {
    let mut layers: Vec<IndexedLayer> = Vec::new();
    for (number, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = || format!("line {}: unexpected {:?}", number + 1, line);
        if let Some(rest) = line.strip_prefix("- ") {
            let name = rest.strip_suffix(':').and_then(unquote).ok_or_else(bad)?;
            layers.push(IndexedLayer {
                name,
                patterns: Vec::new(),
            });
        } else if let Some(rest) = line.strip_prefix("  - ") {
            let pattern = unquote(rest).ok_or_else(bad)?;
            layers.last_mut().ok_or_else(bad)?.patterns.push(pattern);
        } else {
            return Err(bad());
        }
    }
    if layers.is_empty() {
        return Err("no layers listed".into());
    }
    Ok(layers)
}

fn unquote(text: &str) -> Option<String> {
    text.trim()
        .strip_prefix('"')?
        .strip_suffix('"')
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_spring_default_layers() {
        let text = "- \"dependencies\":\n  - \"BOOT-INF/lib/\"\n- \"spring-boot-loader\":\n  - \"org/\"\n- \"snapshot-dependencies\":\n- \"application\":\n  - \"BOOT-INF/classes/\"\n  - \"META-INF/\"\n";
        let layers = parse_layers_index(text).unwrap();
        let names: Vec<&str> = layers.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "dependencies",
                "spring-boot-loader",
                "snapshot-dependencies",
                "application"
            ]
        );
        assert!(layers[0].contains("BOOT-INF/lib/a.jar"));
        assert!(layers[2].patterns.is_empty());
        assert!(!layers[3].contains("BOOT-INF/classpath.idx"));
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_layers_index("dependencies:\n").is_err());
        assert!(parse_layers_index("  - \"x\"\n").is_err());
        assert!(parse_layers_index("\n").is_err());
    }
}
