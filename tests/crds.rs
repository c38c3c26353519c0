//! The committed CRDs must be what the Rust types generate: run `make crds` after changing them.

use std::path::Path;

fn assert_matches_generated(path: &str) {
    let committed = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|error| panic!("cannot read {path}: {error}; run `make crds`"));
    assert!(committed == jobhealth::crd_yaml(), "{path} differs from the CRDs the code generates; run `make crds`");
}

#[test]
fn crds_dir_is_current() {
    assert_matches_generated("crds/jobhealth.io.yaml");
}

#[test]
fn chart_crds_are_current() {
    assert_matches_generated("charts/jobhealth/crds/jobhealth.io.yaml");
}
