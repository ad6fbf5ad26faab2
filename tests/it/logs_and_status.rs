//! `hoist logs ENV` (and `--follow`) reads the running tasks' awslogs
//! streams from CloudWatch Logs; `hoist status ENV` shows the latest
//! stopped tasks with their exit codes and log lines. Against the ECS
//! emulator (moto: its CloudWatch Logs is the real moto one).

use crate::support::cli::{hoist, Hoist};
use crate::support::ecs_emulator::{deploy_args, marked_image, EcsEmulator};
use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

const TOML: &str = r#"[image]
from = "scratch"
to = "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/plog-back"

[env.dev]
cluster = "plog-cluster"
service = "plog-api"
container = "plog-back"
"#;

fn in_project(command: Hoist, emulator: &EcsEmulator, dir: &std::path::Path) -> Hoist {
    emulator.aws(command.current_dir(dir))
}

/// Writes `lines` to the awslogs stream of each running task of plog-api
/// and returns the task ids.
fn log_running_tasks(emulator: &EcsEmulator, lines: &[&str]) -> Vec<String> {
    let out = emulator.boto3(
        "ecs",
        &format!(
            r#"
import time
logs = client_for('logs')
arns = client.list_tasks(cluster='plog-cluster', serviceName='plog-api')['taskArns']
ids = [a.rsplit('/', 1)[1] for a in arns]
for i in ids:
    stream = 'plog-back/plog-back/' + i
    try:
        logs.create_log_stream(logGroupName='/ecs/plog-api', logStreamName=stream)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    now = int(time.time() * 1000)
    logs.put_log_events(logGroupName='/ecs/plog-api', logStreamName=stream,
        logEvents=[{{'timestamp': now + n, 'message': m + ' ' + i[:6]}} for n, m in enumerate({lines:?})])
print(json.dumps(ids))
"#
        ),
    );
    serde_json::from_str(out.trim()).unwrap()
}

#[test]
fn logs_prints_the_running_tasks_lines_and_follow_prints_new_ones() {
    let emulator = EcsEmulator::start();
    emulator.seed();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hoist.toml"), TOML).unwrap();
    let ids = log_running_tasks(
        &emulator,
        &["Started PlogApplication", "Tomcat started on port 8080"],
    );
    assert_eq!(ids.len(), 2);
    let stdout = in_project(
        hoist().args(["logs", "dev", "-n", "1"]),
        &emulator,
        dir.path(),
    )
    .success();
    for id in &ids {
        let line = format!(
            "plog-back/{} | Tomcat started on port 8080 {}",
            &id[..12],
            &id[..6]
        );
        assert!(stdout.contains(&line), "{line:?} not in:\n{stdout}");
    }
    assert!(
        !stdout.contains("Started PlogApplication"),
        "-n 1: {stdout}"
    );

    // --follow -n 0: only lines written after it began, of both tasks;
    // every wait bounded by a deadline.
    let (_, mut command) = in_project(
        hoist().args([
            "logs",
            "dev",
            "-n",
            "0",
            "--follow",
            "--poll-interval",
            "100ms",
        ]),
        &emulator,
        dir.path(),
    )
    .into_command();
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<(bool, String)>();
    for (is_stdout, pipe) in [
        (
            true,
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        ),
        (false, Box::new(child.stderr.take().unwrap())),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if tx.send((is_stdout, line)).is_err() {
                    break;
                }
            }
        });
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    // Ready: it has read where each stream ends.
    while Instant::now() < deadline
        && !stderr
            .iter()
            .any(|l: &String| l.contains("following 2 log streams"))
    {
        if let Ok((is_stdout, line)) = rx.recv_timeout(Duration::from_millis(100)) {
            if is_stdout {
                stdout.push(line)
            } else {
                stderr.push(line)
            }
        }
    }
    assert!(
        stderr.iter().any(|l| l.contains("following 2 log streams")),
        "{stderr:?}"
    );
    log_running_tasks(&emulator, &["GET /orders 200"]);
    while Instant::now() < deadline
        && stdout
            .iter()
            .filter(|l| l.contains("GET /orders 200"))
            .count()
            < 2
    {
        if let Ok((is_stdout, line)) = rx.recv_timeout(Duration::from_millis(100)) {
            if is_stdout {
                stdout.push(line)
            } else {
                stderr.push(line)
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        stdout
            .iter()
            .filter(|l| l.contains("GET /orders 200"))
            .count(),
        2,
        "new lines of both tasks: {stdout:?} {stderr:?}"
    );
    assert!(
        stdout.iter().all(|l| l.contains("GET /orders 200")),
        "-n 0 --follow shows only new lines: {stdout:?}"
    );
}

#[test]
fn status_shows_the_latest_stopped_tasks_with_their_exit_codes_and_log_lines() {
    let emulator = EcsEmulator::start();
    emulator.seed();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hoist.toml"), TOML).unwrap();
    let crash = "Caused by: org.postgresql.util.PSQLException: Connection refused";
    in_project(
        hoist()
            .args(deploy_args("plog-api", &marked_image("", 'f')))
            .args([
                "--env",
                &format!("CRASH_ON_START={crash}"),
                "--poll-interval",
                "10ms",
            ]),
        &emulator,
        dir.path(),
    )
    .failure(3);
    let stdout = in_project(
        hoist().args(["status", "dev", "--log-lines", "3"]),
        &emulator,
        dir.path(),
    )
    .success();
    assert!(stdout.contains("LATEST STOPPED TASKS"), "{stdout}");
    assert!(
        stdout.contains("stopped: Essential container in task exited [EssentialContainerExited]"),
        "{stdout}"
    );
    assert!(
        stdout.contains("task     plog-back: exit code 1"),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("log    | {crash}")), "{stdout}");
    let json = in_project(
        hoist().args(["status", "dev", "--json", "--log-lines", "0"]),
        &emulator,
        dir.path(),
    )
    .success();
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    let tasks = value["services"][0]["stoppedTasks"].as_array().unwrap();
    assert!(!tasks.is_empty() && tasks.len() <= 3, "{value}");
    assert_eq!(tasks[0]["containers"][0]["exitCode"], 1);
}
