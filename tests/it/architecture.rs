//! Keeps the layering honest: the image core and the jar reader never touch
//! the network, and every module says what it owns.

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
    for dir in ["image", "jar"] {
        for file in rust_files(&src.join(dir)) {
            let text = std::fs::read_to_string(&file).unwrap();
            for banned in ["reqwest", "tokio", "aws_", "crate::dest", "crate::build"] {
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
