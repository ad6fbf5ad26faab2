//! Writes the start-up and compression app of `bench/bench.sh`: a runnable Spring Boot 3
//! layered fat jar (the fixture app and launcher of `testdata/java`, compiled with `javac`: a
//! JDK 17 is needed) with about `MB` megabytes (10^6 bytes) of synthetic dependency jars and
//! then the given jar files, stored as they are.
//!
//! ```text
//! cargo run --release --example bench_app -- OUT_DIR MB [JAR ...]
//! ```
//!
//! Prints the path of the jar (`OUT_DIR/app-0.0.1.jar`). Jar file names must differ.

#[path = "../tests/support/fixtures.rs"]
mod fixtures;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: bench_app OUT_DIR MB [JAR ...]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, mb, jars @ ..] = args.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let Ok(mb) = mb.parse::<u64>() else {
        eprintln!("{USAGE} (MB is a whole number)");
        return ExitCode::from(2);
    };
    let jars: Vec<PathBuf> = jars.iter().map(PathBuf::from).collect();
    let mut names = BTreeSet::new();
    for jar in &jars {
        if !jar.is_file() {
            eprintln!("bench_app: {}: not a file", jar.display());
            return ExitCode::from(2);
        }
        if !names.insert(jar.file_name().map(|n| n.to_os_string())) {
            eprintln!("bench_app: two jars named {:?}", jar.file_name());
            return ExitCode::from(2);
        }
    }
    let jar = fixtures::boot3_with_deps(&PathBuf::from(dir), mb * 1_000_000, &jars);
    println!("{}", jar.display());
    ExitCode::SUCCESS
}
