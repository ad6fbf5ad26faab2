//! IAM roles as ECS needs them: a role ARN's name, and whether its trust
//! policy (URL-encoded or plain JSON) lets `ecs-tasks.amazonaws.com`
//! `sts:AssumeRole`. Pure: reads nothing from AWS, judges no Condition.

use serde_json::Value;

/// The role's name in an ARN (`arn:aws:iam::1:role/path/NAME` → `NAME`),
/// or the name itself.
pub(super) fn role_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// `%XX` and `+` decoded (IAM sends policy documents URL-encoded).
fn url_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `*` and `?` wildcards, ASCII case-insensitive (IAM action matching).
fn wildcard_matches(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
    let t: Vec<char> = text.to_ascii_lowercase().chars().collect();
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Whether a trust policy (as IAM sends it: URL-encoded JSON, or plain
/// JSON) lets `ecs-tasks.amazonaws.com` call `sts:AssumeRole`: an Allow
/// statement naming that service (or `*`) and the action (wildcards
/// allowed), and no Deny statement that does. Conditions are not judged.
pub(super) fn trusts_ecs_tasks(document: &str) -> Result<bool, String> {
    let text = if document.trim_start().starts_with('{') {
        document.to_string()
    } else {
        url_decode(document)
    };
    let policy: Value =
        serde_json::from_str(&text).map_err(|_| "its trust policy is not JSON".to_string())?;
    let statements: Vec<&Value> = match &policy["Statement"] {
        Value::Array(items) => items.iter().collect(),
        one @ Value::Object(_) => vec![one],
        _ => Vec::new(),
    };
    let applies = |s: &Value| {
        let principal = match &s["Principal"] {
            Value::String(p) => p == "*",
            Value::Object(p) => {
                strings(&p.get("Service").cloned().unwrap_or(Value::Null))
                    .iter()
                    .any(|s| s.starts_with("ecs-tasks.amazonaws.com"))
                    || strings(&p.get("AWS").cloned().unwrap_or(Value::Null)).contains(&"*")
            }
            _ => false,
        };
        principal
            && strings(&s["Action"])
                .iter()
                .any(|a| wildcard_matches(a, "sts:AssumeRole"))
    };
    let allowed = statements
        .iter()
        .any(|s| s["Effect"] == "Allow" && applies(s));
    let denied = statements
        .iter()
        .any(|s| s["Effect"] == "Deny" && applies(s));
    Ok(allowed && !denied)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecs::verify::fixtures::TRUST;

    #[test]
    fn trust_policies_are_read_url_encoded_or_plain() {
        assert_eq!(trusts_ecs_tasks(TRUST), Ok(true));
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Service%22%3A%5B%22ec2.amazonaws.com%22%2C%22ecs-tasks.amazonaws.com%22%5D%7D%2C%22Action%22%3A%5B%22sts%3AAssumeRole%22%5D%7D%5D%7D";
        assert_eq!(trusts_ecs_tasks(encoded), Ok(true));
        let wildcard = r#"{"Statement":{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:Assume*"}}"#;
        assert_eq!(trusts_ecs_tasks(wildcard), Ok(true));
        let web_identity = TRUST.replace("sts:AssumeRole", "sts:AssumeRoleWithWebIdentity");
        assert_eq!(trusts_ecs_tasks(&web_identity), Ok(false));
        let denied = r#"{"Statement":[
            {"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"},
            {"Effect":"Deny","Principal":"*","Action":"*"}]}"#;
        assert_eq!(trusts_ecs_tasks(denied), Ok(false));
        assert!(trusts_ecs_tasks("not json").is_err());
        assert_eq!(url_decode("a%2Fb+c%"), "a/b c%");
    }
}
