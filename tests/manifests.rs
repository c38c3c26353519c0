//! The Helm chart and `deploy/` must grant the same permissions, because the RBAC e2e test
//! only exercises `deploy/rbac.yaml`.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

/// Returns every (apiGroup, resource, verb) that the ClusterRole in `text` grants.
fn cluster_role_grants(text: &str) -> BTreeSet<(String, String, String)> {
    let mut grants = BTreeSet::new();
    for document in serde_norway::Deserializer::from_str(text) {
        let value: Value = serde::Deserialize::deserialize(document).expect("manifest parses");
        if value["kind"] != "ClusterRole" {
            continue;
        }
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
fn chart_rbac_matches_deploy() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let deploy = std::fs::read_to_string(root.join("deploy/rbac.yaml")).unwrap();
    // The chart's template only fills in names, so replacing them leaves plain YAML.
    let chart = std::fs::read_to_string(root.join("charts/jobhealth/templates/rbac.yaml"))
        .unwrap()
        .replace("{{ .Release.Name }}", "jobhealth")
        .replace("{{ .Release.Namespace }}", "jobhealth-system");

    let deploy_grants = cluster_role_grants(&deploy);
    assert!(deploy_grants.contains(&("events.k8s.io".into(), "events".into(), "create".into())));
    assert_eq!(cluster_role_grants(&chart), deploy_grants);
}
