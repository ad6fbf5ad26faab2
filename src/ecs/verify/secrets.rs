//! The secrets a task reads (its `valueFrom`s, with hoist.toml's over them)
//! and what each reference names: a Secrets Manager secret or an SSM
//! parameter. Pure: reads neither AWS nor any secret's value.

use super::task_definition::containers;
use super::VerifyTarget;
use serde_json::Value;

/// One secret a task reads, and who reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct SecretUse {
    /// The container.
    pub(super) container: String,
    /// The variable (or log option) name; `repositoryCredentials` for
    /// registry credentials.
    pub(super) name: String,
    /// The ARN or parameter name.
    pub(super) value_from: String,
}

/// What a `valueFrom` names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum SecretRef {
    /// A Secrets Manager secret: its ARN without the JSON key, version
    /// stage and version id, and its region.
    SecretsManager {
        /// The first seven `:`-fields of the ARN.
        id: String,
        /// The ARN's region.
        region: String,
    },
    /// An SSM parameter of the task's own account: the names to look for
    /// with DescribeParameters (a one-level name in an ARN may have been
    /// created with or without its leading `/`; a `:version` or `:label`
    /// selector is left off), in `region` (else the task's).
    Parameter {
        /// Names for DescribeParameters' `Name` filter.
        names: Vec<String>,
        /// The ARN's region, if an ARN.
        region: Option<String>,
    },
    /// An SSM parameter ARN of another account (a shared parameter), which
    /// DescribeParameters does not list: not looked up.
    OtherAccountParameter {
        /// The ARN's account.
        account: String,
    },
    /// Neither.
    Unknown,
}

impl SecretRef {
    /// What `value_from` names; `account` is the task's account (an SSM ARN
    /// of another one is an [`OtherAccountParameter`](Self::OtherAccountParameter)).
    pub(super) fn parse(value_from: &str, account: Option<&str>) -> Self {
        if !value_from.starts_with("arn:") {
            return SecretRef::Parameter {
                names: vec![without_selector(value_from).to_string()],
                region: None,
            };
        }
        let fields: Vec<&str> = value_from.split(':').collect();
        if fields.len() < 6 {
            return SecretRef::Unknown;
        }
        match fields[2] {
            "secretsmanager" if fields.len() >= 7 && fields[5] == "secret" => {
                SecretRef::SecretsManager {
                    id: fields[..7].join(":"),
                    region: fields[3].to_string(),
                }
            }
            "ssm" => {
                let resource = fields[5..].join(":");
                let Some(name) = resource.strip_prefix("parameter/") else {
                    return SecretRef::Unknown;
                };
                if account.is_some_and(|a| a != fields[4]) {
                    return SecretRef::OtherAccountParameter {
                        account: fields[4].to_string(),
                    };
                }
                let name = without_selector(name);
                let names = if name.contains('/') {
                    vec![format!("/{name}")]
                } else {
                    vec![name.to_string(), format!("/{name}")]
                };
                SecretRef::Parameter {
                    names,
                    region: Some(fields[3].to_string()),
                }
            }
            _ => SecretRef::Unknown,
        }
    }

    /// `Secrets Manager` / `SSM Parameter Store`.
    pub(super) fn store(&self) -> &'static str {
        match self {
            SecretRef::SecretsManager { .. } => "Secrets Manager",
            SecretRef::Parameter { .. } | SecretRef::OtherAccountParameter { .. } => {
                "SSM Parameter Store"
            }
            SecretRef::Unknown => "?",
        }
    }
}

/// A parameter name without its `:version` or `:label` selector (a name
/// has no `:` of its own).
fn without_selector(name: &str) -> &str {
    name.split(':').next().unwrap_or(name)
}

/// The secrets the task reads once deployed: each container's `secrets`
/// (hoist.toml's over them, by name, in the containers hoist deploys to),
/// its log driver's `secretOptions` and its `repositoryCredentials`.
pub(super) fn secret_uses(td: &Value, target: &VerifyTarget) -> Vec<SecretUse> {
    let mut uses = Vec::new();
    for container in containers(td) {
        let name = container["name"].as_str().unwrap_or("?").to_string();
        let mut secrets: Vec<(String, String)> = container["secrets"]
            .as_array()
            .map(|s| {
                s.iter()
                    .filter_map(|s| {
                        Some((
                            s["name"].as_str()?.to_string(),
                            s["valueFrom"].as_str()?.to_string(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        if target.containers.contains(&name) {
            for (key, value) in &target.secrets {
                match secrets.iter_mut().find(|(k, _)| k == key) {
                    Some(existing) => existing.1 = value.clone(),
                    None => secrets.push((key.clone(), value.clone())),
                }
            }
        }
        let options = container["logConfiguration"]["secretOptions"]
            .as_array()
            .map(|s| {
                s.iter()
                    .filter_map(|s| {
                        Some((
                            format!("log option {}", s["name"].as_str()?),
                            s["valueFrom"].as_str()?.to_string(),
                        ))
                    })
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        let credentials = container["repositoryCredentials"]["credentialsParameter"]
            .as_str()
            .map(|arn| ("repositoryCredentials".to_string(), arn.to_string()));
        for (key, value_from) in secrets.into_iter().chain(options).chain(credentials) {
            uses.push(SecretUse {
                container: name.clone(),
                name: key,
                value_from,
            });
        }
    }
    uses
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecs::verify::fixtures::{target, task_definition, DB};
    use serde_json::json;

    #[test]
    fn secret_arns_are_parsed_to_what_is_looked_up() {
        assert_eq!(
            SecretRef::parse(
                "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:plog/db-AbCdEf:password:AWSCURRENT:",
                Some("123456789012")
            ),
            SecretRef::SecretsManager {
                id: DB.into(),
                region: "ap-northeast-2".into()
            }
        );
        assert_eq!(
            SecretRef::parse(
                "arn:aws:ssm:us-east-1:123456789012:parameter/plog/missing",
                Some("123456789012")
            ),
            SecretRef::Parameter {
                names: vec!["/plog/missing".into()],
                region: Some("us-east-1".into())
            }
        );
        assert_eq!(
            SecretRef::parse(
                "arn:aws:ssm:us-east-1:123456789012:parameter/flat",
                Some("123456789012")
            ),
            SecretRef::Parameter {
                names: vec!["flat".into(), "/flat".into()],
                region: Some("us-east-1".into())
            }
        );
        assert_eq!(
            SecretRef::parse(
                "arn:aws:ssm:us-east-1:123456789012:parameter/plog/flags:3",
                Some("123456789012")
            ),
            SecretRef::Parameter {
                names: vec!["/plog/flags".into()],
                region: Some("us-east-1".into())
            }
        );
        let shared = "arn:aws:ssm:us-east-1:999999999999:parameter/shared/x";
        assert_eq!(
            SecretRef::parse(shared, Some("123456789012")),
            SecretRef::OtherAccountParameter {
                account: "999999999999".into()
            }
        );
        // Without the task's account, an ARN is taken as its own.
        assert_eq!(
            SecretRef::parse(shared, None),
            SecretRef::Parameter {
                names: vec!["/shared/x".into()],
                region: Some("us-east-1".into())
            }
        );
        assert_eq!(
            SecretRef::parse("/plog/db-url", None),
            SecretRef::Parameter {
                names: vec!["/plog/db-url".into()],
                region: None
            }
        );
        assert_eq!(
            SecretRef::parse("/plog/db-url:prod", None),
            SecretRef::Parameter {
                names: vec!["/plog/db-url".into()],
                region: None
            }
        );
        assert_eq!(
            SecretRef::parse("arn:aws:s3:::bucket/key", None),
            SecretRef::Unknown
        );
    }

    #[test]
    fn secrets_are_the_task_definitions_with_hoist_tomls_over_them() {
        let mut target = target();
        target.secrets = vec![
            (
                "DB_PASSWORD".into(),
                "arn:aws:ssm:ap-northeast-2:123456789012:parameter/plog/db".into(),
            ),
            ("API_KEY".into(), "/plog/api-key".into()),
        ];
        let mut td = task_definition();
        td["containerDefinitions"][1]["secrets"] =
            json!([{"name": "DD_API_KEY", "valueFrom": "/dd/key"}]);
        td["containerDefinitions"][1]["repositoryCredentials"] = json!({"credentialsParameter": "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:hub-x"});
        let uses: Vec<(String, String, String)> = secret_uses(&td, &target)
            .into_iter()
            .map(|u| (u.container, u.name, u.value_from))
            .collect();
        assert_eq!(
            uses,
            [
                (
                    "plog-back",
                    "DB_PASSWORD",
                    "arn:aws:ssm:ap-northeast-2:123456789012:parameter/plog/db"
                ),
                ("plog-back", "API_KEY", "/plog/api-key"),
                ("datadog-agent", "DD_API_KEY", "/dd/key"),
                (
                    "datadog-agent",
                    "repositoryCredentials",
                    "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:hub-x"
                ),
            ]
            .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        );
    }
}
