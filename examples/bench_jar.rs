//! Writes the benchmark jar of `bench/bench.sh`: a Spring Boot 3 layered fat jar with about
//! `MB` megabytes (10^6 bytes) of stored, incompressible dependency jars, from the test
//! fixture generator (no JDK needed, same bytes on every machine).
//!
//! ```text
//! cargo run --release --example bench_jar -- OUT_DIR MB VARIANT
//! ```
//!
//! `VARIANT` (a u32) changes the bytes of one application class and nothing else; 0 gives the
//! same jar as `fixtures::big_boot`. Prints the path of the jar (`OUT_DIR/big-0.0.1.jar`).

#[path = "../tests/support/fixtures.rs"]
mod fixtures;

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: bench_jar OUT_DIR MB VARIANT";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, mb, variant] = args.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let (Ok(mb), Ok(variant)) = (mb.parse::<u64>(), variant.parse::<u32>()) else {
        eprintln!("{USAGE} (MB and VARIANT are whole numbers)");
        return ExitCode::from(2);
    };
    let jar = fixtures::big_boot_variant(&PathBuf::from(dir), mb * 1_000_000, variant);
    println!("{}", jar.display());
    ExitCode::SUCCESS
}
