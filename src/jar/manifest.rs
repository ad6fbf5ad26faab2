//! `META-INF/MANIFEST.MF`: the main section's attributes.

use std::collections::BTreeMap;

/// The main attributes of a jar manifest. Attribute names compare
/// case-insensitively, as the jar specification says.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct JarManifest {
    attributes: BTreeMap<String, (String, String)>,
    /// (name, value) as written, in the file's order.
    ordered: Vec<(String, String)>,
}

impl JarManifest {
    /// Parses the main section (up to the first blank line). Continuation
    /// lines start with one space; line ends may be CRLF, LF or CR.
    pub(crate) fn parse(text: &str) -> Self {
        let mut logical: Vec<String> = Vec::new();
        for line in text.split("\r\n").flat_map(|l| l.split(['\n', '\r'])) {
            if line.is_empty() {
                if logical.is_empty() {
                    continue;
                }
                break;
            }
            match (line.strip_prefix(' '), logical.last_mut()) {
                (Some(rest), Some(last)) => last.push_str(rest),
                _ => logical.push(line.to_string()),
            }
        }
        let ordered: Vec<(String, String)> = logical
            .iter()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        let attributes = ordered
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), (k.clone(), v.clone())))
            .collect();
        Self {
            attributes,
            ordered,
        }
    }

    /// Every main attribute, (name, value), in the file's order.
    pub(crate) fn attributes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.ordered.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The value of attribute `name`, if present and not empty.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.attributes
            .get(&name.to_ascii_lowercase())
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuation_lines_and_case_insensitive_names() {
        let text = "Manifest-Version: 1.0\r\nClass-Path: a.jar b\r\n .jar c.jar\r\nmain-class: x.Y\r\n\r\nName: other\r\nMain-Class: wrong\r\n";
        let m = JarManifest::parse(text);
        assert_eq!(m.get("Class-Path"), Some("a.jar b.jar c.jar"));
        assert_eq!(m.get("Main-Class"), Some("x.Y"));
        assert_eq!(m.get("Start-Class"), None);
    }
}
