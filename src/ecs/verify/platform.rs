//! The platform check: whether the image's `os/arch[/variant]` platforms
//! include the CPU and OS the service's tasks run on. Pure; knows no image
//! format.

use super::facts::TargetFacts;
use super::task_definition::on_fargate;
use super::{Check, CheckStatus, PlatformsFrom};
use crate::ecs::service::short_arn;

/// `os`, `arch` of `os/arch[/variant]`.
fn os_arch(platform: &str) -> (&str, &str) {
    let mut parts = platform.split('/');
    (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    )
}

pub(super) fn platform_check(facts: &TargetFacts, request: &Platforms<'_>) -> Check {
    let service = &facts.service_name();
    let td = &facts.task_definition;
    let name = short_arn(&facts.snapshot.task_definition);
    let shown = format!(
        "{}{}",
        request.platforms.join(", "),
        match request.from {
            PlatformsFrom::Configured => " (as configured)",
            PlatformsFrom::Default => " (the default)",
        }
    );
    let runtime = &td["runtimePlatform"];
    let (cpu, os_family, assumed) = match (
        runtime["cpuArchitecture"].as_str(),
        runtime["operatingSystemFamily"].as_str(),
    ) {
        (Some(cpu), os) => (cpu.to_string(), os.unwrap_or("LINUX").to_string(), None),
        (None, os) if on_fargate(&facts.snapshot, td) => (
            "X86_64".to_string(),
            os.unwrap_or("LINUX").to_string(),
            Some(if runtime.is_object() {
                format!("{name} sets no cpuArchitecture: Fargate runs X86_64")
            } else {
                format!("{name} has no runtimePlatform: Fargate runs X86_64")
            }),
        ),
        (None, _) => {
            return Check::new(
                service,
                "platform",
                CheckStatus::CouldNotCheck,
                format!(
                    "{shown}: {name} has no runtimePlatform.cpuArchitecture, so its tasks run on the container instances' CPU, which hoist does not read"
                ),
            )
        }
    };
    let arch = match cpu.as_str() {
        "X86_64" => "amd64",
        "ARM64" => "arm64",
        other => {
            return Check::new(
                service,
                "platform",
                CheckStatus::CouldNotCheck,
                format!("{shown}: {name} has cpuArchitecture {other:?}, which hoist does not know"),
            )
        }
    };
    let os = if os_family.starts_with("WINDOWS") {
        "windows"
    } else {
        "linux"
    };
    let note = match &assumed {
        Some(why) => format!("{name}; {why}"),
        None => name.to_string(),
    };
    let fits = request.platforms.iter().any(|p| os_arch(p) == (os, arch));
    let what = if os == "linux" {
        cpu.clone()
    } else {
        format!("{cpu} {os_family}")
    };
    if fits {
        let verb = if request.platforms.len() > 1 {
            "include"
        } else {
            "matches"
        };
        return Check::new(
            service,
            "platform",
            CheckStatus::Ok,
            format!("{shown} {verb} {what} ({note})"),
        );
    }
    let wanted = format!("{os}/{arch}");
    let other_cpu = if arch == "amd64" { "ARM64" } else { "X86_64" };
    let hint = if request.platforms.iter().all(|p| os_arch(p).0 == os) {
        format!(
            "build {wanted} ([image] platforms), or set runtimePlatform.cpuArchitecture to {other_cpu}"
        )
    } else {
        format!("build {wanted} ([image] platforms)")
    };
    Check::new(
        service,
        "platform",
        CheckStatus::Problem,
        format!(
            "{shown} does not match {what} ({note}): the tasks would stop with \"exec format error\"; {hint}"
        ),
    )
}

/// The image's platforms and where they come from.
pub(super) struct Platforms<'a> {
    pub(super) platforms: &'a [String],
    pub(super) from: PlatformsFrom,
}

#[cfg(test)]
mod tests {
    use crate::ecs::verify::checks::judge;
    use crate::ecs::verify::fixtures::{facts, only, problem, run};
    use crate::ecs::verify::{CheckStatus, PlatformsFrom};
    use serde_json::json;

    #[test]
    fn the_platform_must_be_the_tasks_cpu() {
        let facts = facts();
        let arm = vec!["linux/arm64".to_string()];
        let checks = judge(&facts, &arm, PlatformsFrom::Configured);
        let bad = problem(&checks, "platform");
        assert!(
            bad.message
                .starts_with("linux/arm64 (as configured) does not match X86_64 (plog-api:3)")
                && bad.message.contains("exec format error")
                && bad.message.contains("build linux/amd64"),
            "{}",
            bad.message
        );
        // A multi-arch image that includes it is fine; arm64/v8 is arm64.
        let both = vec!["linux/amd64".to_string(), "linux/arm64/v8".to_string()];
        let checks = judge(&facts, &both, PlatformsFrom::Default);
        assert_eq!(
            only(&checks, "platform")[0].line(false),
            "ok       platform: linux/amd64, linux/arm64/v8 (the default) include X86_64 (plog-api:3)"
        );
        let mut arm_task = facts.clone();
        arm_task.task_definition["runtimePlatform"]["cpuArchitecture"] = json!("ARM64");
        assert_eq!(
            only(
                &judge(&arm_task, &arm, PlatformsFrom::Configured),
                "platform"
            )[0]
            .status,
            CheckStatus::Ok
        );
        // No runtimePlatform: X86_64 on Fargate, said so; unknown on EC2.
        let mut bare = facts.clone();
        bare.task_definition
            .as_object_mut()
            .unwrap()
            .remove("runtimePlatform");
        let checks = judge(&bare, &arm, PlatformsFrom::Configured);
        assert!(
            problem(&checks, "platform")
                .message
                .contains("plog-api:3 has no runtimePlatform: Fargate runs X86_64"),
            "{checks:#?}"
        );
        assert_eq!(
            only(&run(&bare), "platform")[0].message,
            "linux/amd64 (as configured) matches X86_64 (plog-api:3; plog-api:3 has no runtimePlatform: Fargate runs X86_64)"
        );
        bare.snapshot.launch_type = Some("EC2".into());
        assert_eq!(
            only(&run(&bare), "platform")[0].status,
            CheckStatus::CouldNotCheck
        );
        // A Windows task needs a Windows image.
        let mut windows = facts.clone();
        windows.task_definition["runtimePlatform"]["operatingSystemFamily"] =
            json!("WINDOWS_SERVER_2022_CORE");
        let checks = run(&windows);
        assert!(problem(&checks, "platform")
            .message
            .contains("build windows/amd64"));
    }
}
