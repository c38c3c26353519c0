//! The `jobhealth` command line without a cluster: `diagnose -f` on every fixture, in every
//! output format, its errors, and its use as a kubectl plugin.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/fixtures exists")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 13, "expected every shared case in tests/fixtures, found {}", paths.len());
    paths
}

/// Returns the `# expect:` header of a fixture.
fn expected_reason(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix("# expect:"))
        .map(|reason| reason.trim().to_string())
        .unwrap_or_else(|| panic!("{} has no '# expect:' header", path.display()))
}

/// Returns the extra arguments a fixture needs: `--now` from its snapshot time and `--policy`
/// from its `# thresholds:` header, written to a policy file.
fn fixture_args(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut args = Vec::new();
    if let Some(time) = text.lines().find_map(|line| line.split("Snapshot time:").nth(1)) {
        args.push("--now".to_string());
        args.push(time.trim().trim_end_matches('.').to_string());
    }
    if let Some(thresholds) = text.lines().find_map(|line| line.strip_prefix("# thresholds:")) {
        let mut spec = String::new();
        for pair in thresholds.split(',') {
            let (key, value) = pair.trim().split_once('=').expect("thresholds are key=value");
            let camel: String = key
                .split('_')
                .enumerate()
                .map(|(i, word)| if i == 0 { word.to_string() } else { word[..1].to_uppercase() + &word[1..] })
                .collect();
            spec.push_str(&format!("    {camel}: {value}\n"));
        }
        let policy = format!("apiVersion: jobhealth.io/v1alpha1\nkind: JobHealthPolicy\nmetadata:\n  name: fixture\nspec:\n  thresholds:\n{spec}");
        let file = std::env::temp_dir().join(format!("jobhealth-policy-{}-{}.yaml", std::process::id(), path.file_stem().unwrap().to_string_lossy()));
        std::fs::write(&file, policy).unwrap();
        args.push("--policy".to_string());
        args.push(file.to_string_lossy().to_string());
    }
    args
}

fn diagnose(path: &Path, format: &str) -> Output {
    let mut args = vec!["diagnose".to_string(), "-f".to_string(), path.to_string_lossy().to_string(), "-o".to_string(), format.to_string()];
    args.extend(fixture_args(path));
    Command::new(env!("CARGO_BIN_EXE_jobhealth")).args(&args).output().expect("jobhealth runs")
}

fn jobhealth(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jobhealth")).args(args).output().expect("jobhealth runs")
}

fn stdout(output: &Output) -> String {
    assert!(output.status.success(), "jobhealth failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[test]
fn diagnose_json_every_fixture() {
    for path in fixtures() {
        let expected = expected_reason(&path);
        let output = stdout(&diagnose(&path, "json"));
        let value: serde_json::Value = serde_json::from_str(&output).unwrap_or_else(|error| panic!("{}: invalid JSON: {error}", path.display()));
        let first = &value.as_array().expect("JSON output is a list")[0];
        assert_eq!(first["reason"], expected.as_str(), "{}", path.display());
        for field in ["namespace", "job", "state", "message", "retryable", "evidence", "notes"] {
            assert!(first.get(field).is_some(), "{}: JSON lacks {field}", path.display());
        }
    }
}

#[test]
fn diagnose_table_every_fixture() {
    for path in fixtures() {
        let expected = expected_reason(&path);
        let output = stdout(&diagnose(&path, "table"));
        let first_row = output.lines().nth(1).unwrap_or_default();
        assert!(
            first_row.split_whitespace().any(|cell| cell == expected),
            "{}: table row {first_row:?} lacks {expected}",
            path.display()
        );
    }
}

#[test]
fn diagnose_yaml_output() {
    let path = &fixtures()[0];
    let output = stdout(&jobhealth(&["diagnose", "-f", path.to_str().unwrap(), "-o", "yaml"]));
    let value: serde_json::Value = serde_norway::from_str(&output).expect("YAML output parses");
    assert_eq!(value[0]["reason"], expected_reason(path).as_str());
}

#[test]
fn diagnose_reads_stdin() {
    let path = &fixtures()[0];
    let input = std::fs::File::open(path).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_jobhealth"))
        .args(["diagnose", "-f", "-", "-o", "json"])
        .stdin(input)
        .output()
        .unwrap();
    let value: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(value[0]["reason"], expected_reason(path).as_str());
}

#[test]
fn diagnose_rejects_invalid_field() {
    let dir = std::env::temp_dir().join(format!("jobhealth-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.yaml");
    std::fs::write(&path, "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: bad\nstatus:\n  failed: many\n").unwrap();
    let output = jobhealth(&["diagnose", "-f", path.to_str().unwrap()]);
    assert!(!output.status.success(), "an invalid field must fail");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("document 1"), "error names the document: {stderr}");
    assert!(stderr.contains("status.failed"), "error names the field: {stderr}");
}

#[test]
fn diagnose_skips_unknown_kinds() {
    let dir = std::env::temp_dir().join(format!("jobhealth-cli-kinds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("mixed.yaml");
    let fixture = std::fs::read_to_string(&fixtures()[0]).unwrap();
    std::fs::write(&path, format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n---\n{fixture}")).unwrap();
    let output = jobhealth(&["diagnose", "-f", path.to_str().unwrap(), "-o", "json"]);
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    let value: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(value.as_array().unwrap().len(), 1);
    assert!(stderr.contains("ConfigMap settings"), "the skipped object is named: {stderr}");
}

#[test]
fn diagnose_missing_file_fails() {
    let output = jobhealth(&["diagnose", "-f", "/nonexistent/jobs.yaml"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/jobs.yaml"));
}

/// kubectl finds `kubectl-jobhealth` on PATH and passes it the remaining arguments. The test
/// bed's kubectl is used when it is built; the test fails otherwise, since `make test` builds it.
#[test]
fn kubectl_plugin_diagnose() {
    let kubectl = common::testbed_kubectl();

    let plugin_dir = std::env::temp_dir().join(format!("jobhealth-plugin-{}", std::process::id()));
    std::fs::create_dir_all(&plugin_dir).unwrap();
    let link = plugin_dir.join("kubectl-jobhealth");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_jobhealth"), &link).unwrap();

    let path = format!("{}:{}", plugin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let fixture = &fixtures()[0];
    let output = Command::new(&kubectl)
        .args(["jobhealth", "diagnose", "-f", fixture.to_str().unwrap(), "-o", "json"])
        .env("PATH", path)
        .output()
        .unwrap();
    let value: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(value[0]["reason"], expected_reason(fixture).as_str());
}
