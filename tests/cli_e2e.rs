//! `jobhealth diagnose job/NAME` and `jobhealth report` against live Jobs on the local control
//! plane (`make cluster-up`).

mod common;

use std::process::Command;
use std::time::Duration;

use common::{TestEnv, job, kubeconfig_path};
use k8s_openapi::api::batch::v1::Job;
use kube::api::Api;
use serde_json::{Value, json};

/// Waits until the Job has a Complete or Failed condition.
async fn wait_finished(env: &TestEnv, name: &str) {
    let jobs: Api<Job> = Api::namespaced(env.client.clone(), &env.namespace);
    for _ in 0..120 {
        let job = jobs.get(name).await.unwrap();
        let conditions = job.status.and_then(|status| status.conditions).unwrap_or_default();
        if conditions.iter().any(|condition| (condition.type_ == "Complete" || condition.type_ == "Failed") && condition.status == "True") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("Job {name} did not finish");
}

fn jobhealth_json(args: &[&str]) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_jobhealth"))
        .args(args)
        .env("KUBECONFIG", kubeconfig_path())
        .output()
        .expect("jobhealth runs");
    assert!(output.status.success(), "jobhealth {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("JSON output")
}

#[tokio::test]
async fn diagnose_live_job_with_logs() {
    let env = TestEnv::start("diagnoselive").await;
    let mut spec = job("parse", "fail");
    spec["spec"]["template"]["metadata"]["annotations"] = json!({
        "jobhealth.io/exit-code": "2",
        "jobhealth.io/termination-message": "invoice 118 has no currency",
        "jobhealth.io/log": "reading invoices.csv\nparsed 117 invoices\npanic: invoice 118 has no currency"
    });
    env.create_job(spec).await;
    wait_finished(&env, "parse").await;

    let value = jobhealth_json(&["diagnose", "job/parse", "-n", &env.namespace, "--logs", "5", "-o", "json"]);
    let diagnosis = &value[0];
    assert_eq!(diagnosis["reason"], "NonZeroExit");
    assert_eq!(diagnosis["state"], "Failed");
    assert_eq!(diagnosis["namespace"], env.namespace.as_str());
    let evidence = diagnosis["evidence"].as_array().unwrap();
    let container = evidence.iter().find(|item| item["exitCode"] == 2).expect("evidence cites exit 2");
    let log_tail: Vec<&str> = container["logTail"].as_array().map(|lines| lines.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    assert_eq!(log_tail, ["reading invoices.csv", "parsed 117 invoices", "panic: invoice 118 has no currency"], "--logs adds the container's log: {container}");

    let value = jobhealth_json(&["diagnose", "job/parse", "-n", &env.namespace, "--logs", "1", "-o", "json"]);
    let evidence = value[0]["evidence"].as_array().unwrap();
    let container = evidence.iter().find(|item| item["exitCode"] == 2).expect("evidence cites exit 2");
    assert_eq!(container["logTail"], json!(["panic: invoice 118 has no currency"]), "--logs 1 keeps only the last line");

    let missing = Command::new(env!("CARGO_BIN_EXE_jobhealth"))
        .args(["diagnose", "job/absent", "-n", &env.namespace])
        .env("KUBECONFIG", kubeconfig_path())
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("not found"));
    env.finish().await;
}

#[tokio::test]
async fn report_summarises_namespace() {
    let env = TestEnv::start("report").await;
    env.create_job(job("ok-1", "succeed")).await;
    env.create_job(job("ok-2", "succeed")).await;
    env.create_job(job("oom-1", "oom")).await;
    for name in ["ok-1", "ok-2", "oom-1"] {
        wait_finished(&env, name).await;
    }

    let summary = jobhealth_json(&["report", "-n", &env.namespace, "--window", "1h", "-o", "json"]);
    assert_eq!(summary["jobs"], 3);
    assert_eq!(summary["succeeded"], 2);
    assert_eq!(summary["failed"], 1);
    let rate = summary["successRate"].as_f64().unwrap();
    assert!((rate - 2.0 / 3.0).abs() < 1e-9, "success rate {rate}");
    assert_eq!(summary["failuresByReason"][0]["reason"], "OOMKilled");
    assert_eq!(summary["mostFailing"][0]["name"], "oom-1");
    assert!(summary["medianDurationSeconds"].is_number());
    env.finish().await;
}
