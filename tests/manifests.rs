//! The Helm chart and `deploy/`: the chart lints and renders, and grants exactly what
//! `deploy/rbac.yaml` grants, because the RBAC e2e test only exercises `deploy/`.

mod common;

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::Value;

/// Renders the chart with helm and returns the documents.
fn render_chart(extra: &[&str]) -> Vec<Value> {
    let output = Command::new(common::testbed_helm())
        .args(["template", "jobhealth", "charts/jobhealth", "--namespace", "jobhealth-system"])
        .args(extra)
        .current_dir(common::repo_root())
        .output()
        .expect("helm runs; build it with `make testbed-build`");
    assert!(output.status.success(), "helm template failed: {}", String::from_utf8_lossy(&output.stderr));
    parse_documents(&String::from_utf8(output.stdout).unwrap())
}

fn parse_documents(text: &str) -> Vec<Value> {
    serde_norway::Deserializer::from_str(text)
        .map(|document| serde::Deserialize::deserialize(document).expect("manifest parses"))
        .filter(|value: &Value| !value.is_null())
        .collect()
}

/// Returns every (apiGroup, resource, verb) that the ClusterRoles in `documents` grant.
fn cluster_role_grants(documents: &[Value]) -> BTreeSet<(String, String, String)> {
    let mut grants = BTreeSet::new();
    for value in documents.iter().filter(|value| value["kind"] == "ClusterRole") {
        for rule in value["rules"].as_array().expect("ClusterRole has rules") {
            for group in rule["apiGroups"].as_array().unwrap() {
                for resource in rule["resources"].as_array().unwrap() {
                    for verb in rule["verbs"].as_array().unwrap() {
                        grants.insert((group.as_str().unwrap().into(), resource.as_str().unwrap().into(), verb.as_str().unwrap().into()));
                    }
                }
            }
        }
    }
    grants
}

#[test]
fn chart_lints() {
    let output = Command::new(common::testbed_helm())
        .args(["lint", "--strict", "charts/jobhealth"])
        .current_dir(common::repo_root())
        .output()
        .expect("helm runs");
    assert!(output.status.success(), "helm lint failed: {}", String::from_utf8_lossy(&output.stdout));
}

#[test]
fn chart_rbac_matches_deploy() {
    let deploy = std::fs::read_to_string(common::repo_root().join("deploy/rbac.yaml")).unwrap();
    let deploy_grants = cluster_role_grants(&parse_documents(&deploy));
    assert!(deploy_grants.contains(&("events.k8s.io".into(), "events".into(), "create".into())));
    assert_eq!(cluster_role_grants(&render_chart(&[])), deploy_grants);
}

#[test]
fn chart_passes_watch_namespaces() {
    let documents = render_chart(&["--set", "watchNamespaces={team-a,team-b}"]);
    let deployment = documents.iter().find(|value| value["kind"] == "Deployment").expect("the chart has a Deployment");
    let args: Vec<&str> = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|arg| arg.as_str().unwrap())
        .collect();
    assert_eq!(args, ["run", "--log-format", "json", "--namespace", "team-a", "--namespace", "team-b"]);
}
