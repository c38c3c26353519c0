//! End-to-end tests of `jobhealth run` against the local control plane: the real Job
//! controller runs each Job, kwok plays its pods, and the operator must report the reason in
//! the JobHealth and record an Event on the Job. Start the control plane with `make cluster-up`.

mod common;

use common::{TestEnv, job};
use jobhealth::finding::{Reason, State};
use jobhealth::crd::JobHealth;
use serde_json::json;

fn state(health: &JobHealth) -> Option<State> {
    health.status.as_ref().and_then(|status| status.state)
}

fn finding(health: &JobHealth) -> jobhealth::finding::Finding {
    health.status.as_ref().and_then(|status| status.finding.clone()).expect("status carries the finding")
}

#[tokio::test]
async fn reports_succeeded() {
    let env = TestEnv::start("succeeded").await;
    let created = env.create_job(job("quick", "succeed")).await;

    let health = env.wait_for_reason("quick", "Succeeded").await;
    assert_eq!(state(&health), Some(State::Succeeded));
    assert_eq!(health.spec.policy, "default");
    let event = env.wait_for_event(&created, "Succeeded").await;
    assert_eq!(event.type_.as_deref(), Some("Normal"));
    env.finish().await;
}

#[tokio::test]
async fn reports_running() {
    let env = TestEnv::start("running").await;
    let created = env.create_job(job("forever", "run-forever")).await;

    let health = env.wait_for_reason("forever", "Running").await;
    assert_eq!(state(&health), Some(State::Running));
    env.wait_for_event(&created, "Running").await;
    env.finish().await;
}

#[tokio::test]
async fn reports_oom_killed() {
    let env = TestEnv::start("oom").await;
    let created = env.create_job(job("hungry", "oom")).await;

    let health = env.wait_for("hungry", "OOMKilled", Some(State::Failed)).await;
    assert_eq!(state(&health), Some(State::Failed));
    let finding = finding(&health);
    let container = finding.evidence.iter().find(|item| item.container.as_deref() == Some("main"));
    assert_eq!(container.and_then(|item| item.exit_code), Some(137), "evidence cites exit 137: {finding:?}");
    assert!(finding.advice.as_deref().unwrap_or_default().contains("memory"), "advice names the memory limit: {finding:?}");

    let event = env.wait_for_event(&created, "OOMKilled").await;
    assert_eq!(event.type_.as_deref(), Some("Warning"));
    env.finish().await;
}

#[tokio::test]
async fn reports_non_zero_exit() {
    let env = TestEnv::start("nonzero").await;
    let mut spec = job("broken", "fail");
    spec["spec"]["template"]["metadata"]["annotations"] = json!({"jobhealth.io/exit-code": "3"});
    let created = env.create_job(spec).await;

    let health = env.wait_for("broken", "NonZeroExit", Some(State::Failed)).await;
    assert_eq!(state(&health), Some(State::Failed));
    let finding = finding(&health);
    assert!(finding.evidence.iter().any(|item| item.exit_code == Some(3)), "evidence cites exit 3: {finding:?}");
    let event = env.wait_for_event(&created, "NonZeroExit").await;
    assert_eq!(event.type_.as_deref(), Some("Warning"));
    env.finish().await;
}

#[tokio::test]
async fn reports_image_pull_back_off() {
    let env = TestEnv::start("imagepull").await;
    let created = env.create_job(job("missing-image", "image-pull")).await;

    let health = env.wait_for_reason("missing-image", "ImagePullBackOff").await;
    assert_eq!(state(&health), Some(State::Stuck));

    // The kubelet keeps retrying; once the pull failure Event is in, the recorded message must
    // not change with each retry. The first classification may come before that Event.
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    let settled = env.wait_for_reason("missing-image", "ImagePullBackOff").await;
    tokio::time::sleep(std::time::Duration::from_secs(12)).await;
    let later = env.wait_for_reason("missing-image", "ImagePullBackOff").await;
    assert_eq!(later.status.as_ref().and_then(|status| status.message.clone()), settled.status.as_ref().and_then(|status| status.message.clone()));
    let event = env.wait_for_event(&created, "ImagePullBackOff").await;
    assert_eq!(event.type_.as_deref(), Some("Warning"));
    env.finish().await;
}

#[tokio::test]
async fn reports_unschedulable() {
    let env = TestEnv::start("unschedulable").await;
    let mut spec = job("too-big", "succeed");
    spec["spec"]["template"]["spec"]["containers"][0]["resources"] = json!({"requests": {"cpu": "64"}, "limits": {"cpu": "64"}});
    let created = env.create_job(spec).await;

    let health = env.wait_for_reason("too-big", "Unschedulable").await;
    assert_eq!(state(&health), Some(State::Stuck));
    let finding = finding(&health);
    assert!(
        finding.evidence.iter().any(|item| item.message.as_deref().unwrap_or_default().contains("Insufficient cpu")),
        "evidence carries the scheduler's message: {finding:?}"
    );
    env.wait_for_event(&created, "Unschedulable").await;
    env.finish().await;
}

#[tokio::test]
async fn reports_deadline_exceeded() {
    let env = TestEnv::start("deadline").await;
    let mut spec = job("slow", "run-forever");
    spec["spec"]["activeDeadlineSeconds"] = json!(5);
    let created = env.create_job(spec).await;

    let health = env.wait_for_reason("slow", "DeadlineExceeded").await;
    assert!(matches!(state(&health), Some(State::Failed | State::Failing)), "deadline fails the Job: {:?}", state(&health));
    let finding = finding(&health);
    assert_eq!(finding.cause, Some(Reason::Running), "the pod was running (hung) when the deadline passed");
    env.wait_for_event(&created, "DeadlineExceeded").await;
    env.finish().await;
}

#[tokio::test]
async fn reports_create_container_config_error() {
    let env = TestEnv::start("configerror").await;
    let created = env.create_job(job("no-secret", "config-error")).await;

    let health = env.wait_for_reason("no-secret", "CreateContainerConfigError").await;
    assert_eq!(state(&health), Some(State::Stuck));
    env.wait_for_event(&created, "CreateContainerConfigError").await;
    env.finish().await;
}

#[tokio::test]
async fn reports_pod_creation_failed() {
    let env = TestEnv::start("quota").await;
    let quota: k8s_openapi::api::core::v1::ResourceQuota =
        serde_json::from_value(json!({"metadata": {"name": "no-pods"}, "spec": {"hard": {"pods": "0"}}})).unwrap();
    let quotas: kube::Api<k8s_openapi::api::core::v1::ResourceQuota> = kube::Api::namespaced(env.client.clone(), &env.namespace);
    quotas.create(&Default::default(), &quota).await.expect("quota is created");
    // The quota admission plugin only enforces a quota once the quota controller has computed
    // its usage.
    for _ in 0..100 {
        let current = quotas.get("no-pods").await.expect("quota readable");
        if current.status.and_then(|status| status.hard).is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let created = env.create_job(job("blocked", "succeed")).await;

    let health = env.wait_for_reason("blocked", "PodCreationFailed").await;
    assert_eq!(state(&health), Some(State::Stuck));
    let finding = finding(&health);
    assert!(
        finding.evidence.iter().any(|item| item.message.as_deref().unwrap_or_default().contains("quota")),
        "evidence carries the quota message: {finding:?}"
    );
    env.wait_for_event(&created, "PodCreationFailed").await;
    env.finish().await;
}

#[tokio::test]
async fn reports_sidecar_blocks_completion() {
    // The classifier waits pendingSeconds after the work ends before blaming the sidecar.
    let env = TestEnv::start_with_policy("sidecar", json!({"thresholds": {"pendingSeconds": 3}})).await;
    let mut spec = job("with-proxy", "sidecar");
    spec["spec"]["template"]["spec"]["containers"] = json!([
        {"name": "main", "image": "registry.example.com/batch/worker:1.0"},
        {"name": "istio-proxy", "image": "registry.example.com/mesh/proxy:1.0"}
    ]);
    let created = env.create_job(spec).await;

    let health = env.wait_for_reason("with-proxy", "SidecarBlocksCompletion").await;
    assert_eq!(state(&health), Some(State::Stuck));
    env.wait_for_event(&created, "SidecarBlocksCompletion").await;
    env.finish().await;
}

#[tokio::test]
async fn reports_crash_loop() {
    let env = TestEnv::start("crashloop").await;
    let mut spec = job("restarts", "crash-loop");
    spec["spec"]["backoffLimit"] = json!(2);
    spec["spec"]["template"]["spec"]["restartPolicy"] = json!("OnFailure");
    spec["spec"]["template"]["metadata"]["annotations"] = json!({"jobhealth.io/backoff-seconds": "1", "jobhealth.io/run-seconds": "1"});
    let created = env.create_job(spec).await;

    let health = env.wait_for_reason("restarts", "CrashLoop").await;
    assert!(matches!(state(&health), Some(State::Failed | State::Failing)), "restarts spend the budget: {:?}", state(&health));
    env.wait_for_event(&created, "CrashLoop").await;
    env.finish().await;
}

#[tokio::test]
async fn reports_suspended() {
    let env = TestEnv::start("suspended").await;
    let mut spec = job("held", "succeed");
    spec["spec"]["suspend"] = json!(true);
    let created = env.create_job(spec).await;

    let health = env.wait_for_reason("held", "Suspended").await;
    assert_eq!(state(&health), Some(State::Suspended));
    let event = env.wait_for_event(&created, "Suspended").await;
    assert_eq!(event.type_.as_deref(), Some("Normal"));
    env.finish().await;
}

#[tokio::test]
async fn reports_indexed_job_failed_indexes() {
    let env = TestEnv::start("indexed").await;
    let mut spec = job("shards", "fail");
    spec["spec"]["completionMode"] = json!("Indexed");
    spec["spec"]["completions"] = json!(2);
    spec["spec"]["parallelism"] = json!(2);
    spec["spec"]["backoffLimitPerIndex"] = json!(0);
    spec["spec"].as_object_mut().unwrap().remove("backoffLimit");
    spec["spec"]["template"]["metadata"]["annotations"] = json!({"jobhealth.io/exit-code": "3"});
    let created = env.create_job(spec).await;

    let health = env.wait_for("shards", "IndexedJobFailedIndexes", Some(State::Failed)).await;
    let finding = finding(&health);
    let mut indexes: Vec<i32> = finding.failed_indexes.iter().map(|index| index.index).collect();
    indexes.sort();
    assert_eq!(indexes, [0, 1], "both indexes failed: {finding:?}");
    assert!(finding.failed_indexes.iter().all(|index| index.exit_code == Some(3)), "each index cites exit 3: {finding:?}");
    env.wait_for_event(&created, "IndexedJobFailedIndexes").await;
    env.finish().await;
}

#[tokio::test]
async fn reports_disruption_after_eviction() {
    let env = TestEnv::start("eviction").await;
    let created = env.create_job(job("evicted", "run-forever")).await;
    env.wait_for_reason("evicted", "Running").await;

    // The Eviction API marks the pod with a DisruptionTarget condition before deleting it.
    let pods: kube::Api<k8s_openapi::api::core::v1::Pod> = kube::Api::namespaced(env.client.clone(), &env.namespace);
    let listed = pods.list(&kube::api::ListParams::default().labels("batch.kubernetes.io/job-name=evicted")).await.unwrap();
    let pod = listed.items.first().expect("the Job has a pod");
    let name = pod.metadata.name.clone().unwrap();
    pods.evict(&name, &kube::api::EvictParams::default()).await.expect("eviction is accepted");

    let health = env.wait_for("evicted", "Disruption", Some(State::Failed)).await;
    let finding = finding(&health);
    assert!(finding.evidence.iter().any(|item| item.pod.as_deref() == Some(name.as_str())), "evidence names the evicted pod: {finding:?}");
    assert_eq!(finding.retryable, jobhealth::finding::Retryable::Yes);
    env.wait_for_event(&created, "Disruption").await;
    env.finish().await;
}
