//! Licences as a jar's manifest declares them (OSGi `Bundle-License`),
//! without guessing: a clause that is exactly an SPDX identifier hoist knows
//! becomes a CycloneDX `license.id`; anything else (a URL, a prose name) is
//! kept as written in `license.name`, with `url` when it is one. A licence
//! URL is never turned into an identifier.

/// SPDX licence identifiers recognised as `license.id` (each one is in the
/// CycloneDX 1.6 schema's SPDX enumeration; tests/it/sbom.rs checks that).
/// Only an exact, case-sensitive match counts.
pub const SPDX_IDS: &[&str] = &[
    "0BSD",
    "AGPL-3.0-only",
    "AGPL-3.0-or-later",
    "Apache-1.1",
    "Apache-2.0",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "BSL-1.0",
    "CC0-1.0",
    "CDDL-1.0",
    "CDDL-1.1",
    "EPL-1.0",
    "EPL-2.0",
    "GPL-2.0-only",
    "GPL-2.0-or-later",
    "GPL-3.0-only",
    "GPL-3.0-or-later",
    "ISC",
    "LGPL-2.1-only",
    "LGPL-2.1-or-later",
    "LGPL-3.0-only",
    "LGPL-3.0-or-later",
    "MIT",
    "MIT-0",
    "MPL-2.0",
    "Unlicense",
    "UPL-1.0",
    "Zlib",
];

/// One declared licence.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum License {
    /// An SPDX identifier from [`SPDX_IDS`], with the clause's `link`.
    Spdx {
        /// The identifier, e.g. `Apache-2.0`.
        id: String,
        /// The `link` attribute, when the clause has one.
        url: Option<String>,
    },
    /// Anything else, as written.
    Named {
        /// The clause's name (a URL is kept as the name too).
        name: String,
        /// The name when it is a URL, else the `link` attribute.
        url: Option<String>,
    },
}

impl License {
    /// The SPDX identifier, or the name as written.
    pub fn label(&self) -> &str {
        match self {
            License::Spdx { id, .. } => id,
            License::Named { name, .. } => name,
        }
    }
}

/// The licences of a `Bundle-License` header: comma-separated clauses
/// `name(;attribute=value)*`, where the name and values may be quoted.
/// `<<EXTERNAL>>` declares nothing.
pub fn from_bundle_license(header: &str) -> Vec<License> {
    let mut licenses = Vec::new();
    for clause in split_outside_quotes(header, ',') {
        let mut parts = split_outside_quotes(&clause, ';').into_iter();
        let name = unquote(parts.next().unwrap_or_default().trim());
        if name.is_empty() || name == "<<EXTERNAL>>" {
            continue;
        }
        let link = parts.find_map(|attribute| {
            let (key, value) = attribute.split_once('=')?;
            (key.trim() == "link").then(|| unquote(value.trim()))
        });
        let license = if SPDX_IDS.contains(&name.as_str()) {
            License::Spdx {
                id: name,
                url: link.filter(|l| is_url(l)),
            }
        } else {
            let url = if is_url(&name) {
                Some(name.clone())
            } else {
                link.filter(|l| is_url(l))
            };
            License::Named { name, url }
        };
        if !licenses.contains(&license) {
            licenses.push(license);
        }
    }
    licenses
}

fn is_url(text: &str) -> bool {
    (text.starts_with("https://") || text.starts_with("http://"))
        && !text.contains(char::is_whitespace)
}

fn unquote(text: &str) -> String {
    text.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text)
        .to_string()
}

/// Splits on `separator` outside double quotes; pieces are trimmed.
fn split_outside_quotes(text: &str, separator: char) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in text.chars() {
        if c == '"' {
            quoted = !quoted;
        }
        if c == separator && !quoted {
            pieces.push(current.trim().to_string());
            current.clear();
        } else {
            current.push(c);
        }
    }
    pieces.push(current.trim().to_string());
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &str, url: Option<&str>) -> License {
        License::Named {
            name: name.into(),
            url: url.map(str::to_string),
        }
    }

    /// The exact headers of the Spring fixture's jars.
    #[test]
    fn fixture_headers() {
        let apache = "https://www.apache.org/licenses/LICENSE-2.0.txt";
        assert_eq!(
            from_bundle_license(apache),
            vec![named(apache, Some(apache))]
        );
        assert_eq!(
            from_bundle_license(
                "\"Apache-2.0\";link=\"https://www.apache.org/licenses/LICENSE-2.0.txt\""
            ),
            vec![License::Spdx {
                id: "Apache-2.0".into(),
                url: Some(apache.into())
            }]
        );
        assert_eq!(
            from_bundle_license(
                "http://creativecommons.org/publicdomain/zero/1.0/, https://opensource.org/licenses/BSD-2-Clause"
            ),
            vec![
                named(
                    "http://creativecommons.org/publicdomain/zero/1.0/",
                    Some("http://creativecommons.org/publicdomain/zero/1.0/")
                ),
                named(
                    "https://opensource.org/licenses/BSD-2-Clause",
                    Some("https://opensource.org/licenses/BSD-2-Clause")
                ),
            ]
        );
    }

    #[test]
    fn identifiers_only_when_exact() {
        assert_eq!(
            from_bundle_license("MIT"),
            vec![License::Spdx {
                id: "MIT".into(),
                url: None
            }]
        );
        // Not exact: kept as a name, never mapped.
        assert_eq!(from_bundle_license("mit"), vec![named("mit", None)]);
        assert_eq!(
            from_bundle_license("Apache License, Version 2.0"),
            vec![named("Apache License", None), named("Version 2.0", None)]
        );
        assert_eq!(
            from_bundle_license("\"Apache License, Version 2.0\";link=\"https://x.example/l\""),
            vec![named(
                "Apache License, Version 2.0",
                Some("https://x.example/l")
            )]
        );
        assert!(from_bundle_license("<<EXTERNAL>>").is_empty());
        assert!(from_bundle_license("").is_empty());
    }

    #[test]
    fn the_table_is_sorted_unique_and_spdx_shaped() {
        let mut sorted = SPDX_IDS.to_vec();
        sorted.sort_by_key(|id| id.to_ascii_lowercase());
        sorted.dedup();
        assert_eq!(sorted, SPDX_IDS, "sorted (case-insensitively), unique");
        for id in SPDX_IDS {
            assert!(
                id.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'),
                "{id}"
            );
        }
    }
}
