//! End-to-end tests of the JobHealth life cycle against the local control plane: policy
//! selection and validation, Event deduplication, and retention after the Job is deleted.

mod common;

use std::time::Duration;

use common::{TestEnv, job};
use jobhealth::crd::{JobHealth, JobHealthPolicy};
use k8s_openapi::api::batch::v1::Job;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams};
use serde_json::json;

async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..120 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("timed out waiting until {what}");
}

#[tokio::test]
async fn policy_counts_and_ready() {
    let env = TestEnv::start("policycounts").await;
    env.create_job(job("ok", "succeed")).await;
    env.create_job(job("oom", "oom")).await;
    env.wait_for_reason("ok", "Succeeded").await;
    env.wait_for_reason("oom", "OOMKilled").await;

    let policies: Api<JobHealthPolicy> = Api::namespaced(env.client.clone(), &env.namespace);
    wait_until("the policy counts both Jobs", || async {
        let policy = policies.get("default").await.unwrap();
        let status = policy.status.unwrap_or_default();
        status.jobs == 2 && status.unhealthy == 1 && status.counts.succeeded == 1 && status.counts.failed == 1
    })
    .await;
    let policy = policies.get("default").await.unwrap();
    let status = policy.status.unwrap();
    let ready = status.conditions.iter().find(|condition| condition.type_ == "Ready").expect("Ready condition");
    assert_eq!(ready.status, "True");
    assert_eq!(status.observed_generation, policy.metadata.generation);
    env.finish().await;
}

#[tokio::test]
async fn invalid_policy_reports_condition() {
    let env = TestEnv::start_with_policy(
        "invalidpolicy",
        json!({"selector": {"matchExpressions": [{"key": "tier", "operator": "Sometimes"}]}}),
    )
    .await;
    let policies: Api<JobHealthPolicy> = Api::namespaced(env.client.clone(), &env.namespace);
    wait_until("the invalid policy is not Ready", || async {
        let policy = policies.get("default").await.unwrap();
        let conditions = policy.status.map(|status| status.conditions).unwrap_or_default();
        conditions.iter().any(|condition| condition.type_ == "Ready" && condition.status == "False" && condition.reason == "InvalidSelector")
    })
    .await;

    let policy = policies.get("default").await.unwrap();
    let event = env.wait_for_event_on(&policy.uid().unwrap(), "default", "InvalidSelector").await;
    assert_eq!(event.type_.as_deref(), Some("Warning"));
    assert!(event.message.as_deref().unwrap_or_default().contains("spec.selector"), "the Event names the field: {event:?}");

    // An invalid policy selects nothing, so no JobHealth appears.
    env.create_job(job("ignored", "succeed")).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let healths: Api<JobHealth> = Api::namespaced(env.client.clone(), &env.namespace);
    assert!(healths.get_opt("ignored").await.unwrap().is_none(), "an invalid policy must select no Job");

    // Fixing the policy brings the Job in.
    env.apply_policy("default", json!({})).await;
    env.wait_for_reason("ignored", "Succeeded").await;
    env.finish().await;
}

#[tokio::test]
async fn deselected_job_loses_health() {
    let env = TestEnv::start_with_policy("deselect", json!({"selector": {"matchLabels": {"team": "data"}}})).await;
    let mut spec = job("labelled", "run-forever");
    spec["metadata"]["labels"] = json!({"team": "data"});
    env.create_job(spec).await;
    env.create_job(job("unlabelled", "run-forever")).await;
    env.wait_for_reason("labelled", "Running").await;

    let healths: Api<JobHealth> = Api::namespaced(env.client.clone(), &env.namespace);
    assert!(healths.get_opt("unlabelled").await.unwrap().is_none(), "a Job the selector misses gets no JobHealth");

    env.apply_policy("default", json!({"selector": {"matchLabels": {"team": "web"}}})).await;
    wait_until("the deselected Job's JobHealth is deleted", || async { healths.get_opt("labelled").await.unwrap().is_none() }).await;

    // The operator deleted only its own record: the Job is untouched.
    let jobs: Api<Job> = Api::namespaced(env.client.clone(), &env.namespace);
    assert!(jobs.get_opt("labelled").await.unwrap().is_some());
    env.finish().await;
}

#[tokio::test]
async fn one_event_per_reason_change() {
    let env = TestEnv::start("eventdedup").await;
    let created = env.create_job(job("steady", "run-forever")).await;
    env.wait_for_reason("steady", "Running").await;
    env.wait_for_event(&created, "Running").await;

    // Touching the Job triggers reconciles; none may record a second Event.
    let jobs: Api<Job> = Api::namespaced(env.client.clone(), &env.namespace);
    for round in 0..3 {
        let patch = json!({"metadata": {"annotations": {"jobhealth.io/test-touch": round.to_string()}}});
        jobs.patch("steady", &Default::default(), &kube::api::Patch::Merge(&patch)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    let events = env.jobhealth_events(&created).await;
    let running: Vec<_> = events.iter().filter(|event| event.reason.as_deref() == Some("Running")).collect();
    assert_eq!(running.len(), 1, "one Running Event expected: {events:?}");
    let count = running[0].count.unwrap_or(1) + running[0].series.as_ref().and_then(|series| series.count).unwrap_or(0);
    assert!(count <= 1, "the Running Event was recorded again: {events:?}");
    env.finish().await;
}

#[tokio::test]
async fn health_outlives_job_for_retention() {
    let env = TestEnv::start_with_policy("retention", json!({"retentionSeconds": 3600})).await;
    env.create_job(job("kept", "oom")).await;
    env.wait_for_reason("kept", "OOMKilled").await;

    let jobs: Api<Job> = Api::namespaced(env.client.clone(), &env.namespace);
    jobs.delete("kept", &DeleteParams::background()).await.unwrap();

    let healths: Api<JobHealth> = Api::namespaced(env.client.clone(), &env.namespace);
    wait_until("the JobHealth records that the Job is gone", || async {
        let health = healths.get("kept").await.unwrap();
        let conditions = health.status.map(|status| status.conditions).unwrap_or_default();
        conditions.iter().any(|condition| condition.type_ == "JobPresent" && condition.status == "False")
    })
    .await;
    let health = healths.get("kept").await.unwrap();
    assert_eq!(health.status.and_then(|status| status.reason).map(|reason| reason.as_str()), Some("OOMKilled"), "the reason stays readable");
    env.finish().await;
}

#[tokio::test]
async fn health_deleted_after_retention() {
    let env = TestEnv::start_with_policy("retentionzero", json!({"retentionSeconds": 0})).await;
    env.create_job(job("gone", "succeed")).await;
    env.wait_for_reason("gone", "Succeeded").await;

    let jobs: Api<Job> = Api::namespaced(env.client.clone(), &env.namespace);
    jobs.delete("gone", &DeleteParams::background()).await.unwrap();

    let healths: Api<JobHealth> = Api::namespaced(env.client.clone(), &env.namespace);
    wait_until("the JobHealth is deleted after zero retention", || async { healths.get_opt("gone").await.unwrap().is_none() }).await;
    env.finish().await;
}

/// The operator needs no more than `deploy/rbac.yaml` grants: it classifies a Job, records the
/// Event and keeps the policy status while running as that ServiceAccount.
#[tokio::test]
async fn operator_works_with_deploy_rbac() {
    let kubeconfig = common::service_account_kubeconfig();
    let env = TestEnv::start_as("rbac", json!({}), kubeconfig).await;
    let created = env.create_job(job("limited", "oom")).await;

    env.wait_for_reason("limited", "OOMKilled").await;
    env.wait_for_event(&created, "OOMKilled").await;
    let policies: Api<JobHealthPolicy> = Api::namespaced(env.client.clone(), &env.namespace);
    wait_until("the policy status is written", || async {
        let policy = policies.get("default").await.unwrap();
        policy.status.is_some_and(|status| status.jobs == 1)
    })
    .await;
    let log = env.operator_log_tail(200);
    assert!(!log.contains("Forbidden"), "the operator hit an RBAC denial:\n{log}");
    assert!(!log.contains("forbidden"), "the operator hit an RBAC denial:\n{log}");
    env.finish().await;
}

/// `deploy/` and the rendered chart pass the API server's validation (a server-side dry run).
#[tokio::test]
async fn manifests_pass_server_validation() {
    // Installs deploy/rbac.yaml for real, so its namespace exists for the dry run.
    common::service_account_kubeconfig();
    let chart = std::process::Command::new(common::testbed_helm())
        .args(["template", "jobhealth", "charts/jobhealth", "--namespace", "jobhealth-system"])
        .current_dir(common::repo_root())
        .output()
        .expect("helm runs");
    assert!(chart.status.success(), "helm template failed");
    let rendered = common::repo_root().join(format!("target/e2e-logs/chart-{}.yaml", std::process::id()));
    std::fs::write(&rendered, &chart.stdout).unwrap();

    for file in [common::repo_root().join("deploy/operator.yaml"), common::repo_root().join("crds/jobhealth.io.yaml"), rendered] {
        let output = std::process::Command::new(common::testbed_kubectl())
            .args(["apply", "--dry-run=server", "--server-side", "--force-conflicts", "-f"])
            .arg(&file)
            .env("KUBECONFIG", common::kubeconfig_path())
            .output()
            .expect("kubectl runs");
        assert!(output.status.success(), "{} fails server validation: {}", file.display(), String::from_utf8_lossy(&output.stderr));
    }
}
