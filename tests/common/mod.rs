//! Harness for tests against the local control plane (`make cluster-up`): one namespace, one
//! policy and one operator process per test, so tests run in parallel without sharing state.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use jobhealth::crd::{JobHealth, JobHealthPolicy};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Event, Namespace, ServiceAccount};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config, CustomResourceExt, ResourceExt};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

/// How long a test waits for the operator to report a reason.
pub const REPORT_TIMEOUT: Duration = Duration::from_secs(90);

/// Returns the repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Returns the test bed's admin kubeconfig path: `JOBHEALTH_KUBECONFIG`, else `.testbed/kubeconfig`.
pub fn kubeconfig_path() -> PathBuf {
    std::env::var_os("JOBHEALTH_KUBECONFIG")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".testbed/kubeconfig"))
}

/// Connects to the test bed. Panics with the fix when it is not running, so a missing test bed
/// fails the run rather than skipping tests.
pub async fn testbed_client() -> Client {
    let path = kubeconfig_path();
    let kubeconfig = Kubeconfig::read_from(&path)
        .unwrap_or_else(|error| panic!("cannot read the test bed kubeconfig {}: {error}; start it with `make cluster-up`", path.display()));
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("the test bed kubeconfig is valid");
    Client::try_from(config).expect("a client can be built from the test bed kubeconfig")
}

/// Returns a binary built by `tests/testbed/build.sh`; `name` may use the variables of
/// `versions.sh`, such as `helm-$HELM_VERSION`.
fn testbed_binary(name: &str) -> PathBuf {
    let output = std::process::Command::new("bash")
        .args(["-c", &format!("source tests/testbed/versions.sh && echo \"$(testbed_bin_dir)/{name}\"")])
        .current_dir(repo_root())
        .output()
        .expect("bash runs");
    let path = PathBuf::from(String::from_utf8(output.stdout).unwrap().trim());
    assert!(path.exists(), "{} is missing; run `make testbed-build`", path.display());
    path
}

/// Returns the test bed's kubectl, which matches the API server's version.
pub fn testbed_kubectl() -> PathBuf {
    testbed_binary("kubectl")
}

/// Returns the helm binary the test bed builds.
pub fn testbed_helm() -> PathBuf {
    testbed_binary("helm-$HELM_VERSION")
}

/// Installs the committed CRDs with kubectl, as users do, and waits until they are served.
/// kubectl reads YAML 1.1, so this also checks that `crds/` survives that reading.
pub async fn install_crds(client: &Client) {
    let status = std::process::Command::new(testbed_kubectl())
        .args(["apply", "--server-side", "--force-conflicts", "--field-manager", "jobhealth-tests", "-f"])
        .arg(repo_root().join("crds/jobhealth.io.yaml"))
        .env("KUBECONFIG", kubeconfig_path())
        .stdout(Stdio::null())
        .status()
        .expect("kubectl runs");
    assert!(status.success(), "kubectl apply of crds/jobhealth.io.yaml failed");

    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in [JobHealthPolicy::crd(), JobHealth::crd()] {
        for _ in 0..100 {
            let current = api.get(&crd.name_any()).await.expect("CRD readable");
            let established = current
                .status
                .and_then(|status| status.conditions)
                .unwrap_or_default()
                .iter()
                .any(|condition| condition.type_ == "Established" && condition.status == "True");
            if established {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// One test's namespace with a policy and an operator watching only that namespace.
pub struct TestEnv {
    pub client: Client,
    pub namespace: String,
    operator: Option<Child>,
    log_path: PathBuf,
}

impl TestEnv {
    /// Creates namespace `jh-<name>-<suffix>`, the policy `default` selecting every Job in it,
    /// and starts `jobhealth run --namespace` on it.
    pub async fn start(name: &str) -> TestEnv {
        Self::start_with_policy(name, json!({})).await
    }

    /// Same as [`TestEnv::start`] with `policy_spec` as the policy's spec.
    pub async fn start_with_policy(name: &str, policy_spec: Value) -> TestEnv {
        Self::start_as(name, policy_spec, kubeconfig_path()).await
    }

    /// Same as [`TestEnv::start_with_policy`], with the operator using `operator_kubeconfig`.
    pub async fn start_as(name: &str, policy_spec: Value, operator_kubeconfig: PathBuf) -> TestEnv {
        let client = testbed_client().await;
        install_crds(&client).await;

        let suffix = std::process::id() % 100_000;
        let namespace = format!("jh-{name}-{suffix}");
        let namespaces: Api<Namespace> = Api::all(client.clone());
        let body: Namespace = serde_json::from_value(json!({"metadata": {"name": namespace, "labels": {"jobhealth.io/test": "e2e"}}})).unwrap();
        match namespaces.create(&PostParams::default(), &body).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 409 => panic!("namespace {namespace} already exists; run `make cluster-down` to clear the test bed"),
            Err(error) => panic!("creating namespace {namespace} failed: {error}"),
        }
        wait_for_default_service_account(&client, &namespace).await;

        let env = TestEnv::with_operator(client, namespace, operator_kubeconfig).await;
        env.apply_policy("default", policy_spec).await;
        env
    }

    async fn with_operator(client: Client, namespace: String, operator_kubeconfig: PathBuf) -> TestEnv {
        let log_dir = repo_root().join("target/e2e-logs");
        std::fs::create_dir_all(&log_dir).expect("log directory can be created");
        let log_path = log_dir.join(format!("{namespace}.log"));
        let log = std::fs::File::create(&log_path).expect("operator log can be created");
        let operator = Command::new(env!("CARGO_BIN_EXE_jobhealth"))
            .args(["run", "--namespace", &namespace])
            .env("KUBECONFIG", operator_kubeconfig)
            .env("RUST_LOG", "info,jobhealth=debug,kube=warn")
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("the jobhealth binary starts");
        TestEnv { client, namespace, operator: Some(operator), log_path }
    }

    /// Creates or updates a policy in the test namespace.
    pub async fn apply_policy(&self, name: &str, spec: Value) {
        let api: Api<JobHealthPolicy> = Api::namespaced(self.client.clone(), &self.namespace);
        let body = json!({"apiVersion": "jobhealth.io/v1alpha1", "kind": "JobHealthPolicy", "metadata": {"name": name}, "spec": spec});
        api.patch(name, &PatchParams::apply("jobhealth-tests").force(), &Patch::Apply(&body))
            .await
            .unwrap_or_else(|error| panic!("applying policy {name} failed: {error}"));
    }

    /// Creates a Job from JSON in the test namespace and returns it as stored.
    pub async fn create_job(&self, job: Value) -> Job {
        let job: Job = serde_json::from_value(job).expect("test Job is valid");
        let api: Api<Job> = Api::namespaced(self.client.clone(), &self.namespace);
        api.create(&PostParams::default(), &job).await.unwrap_or_else(|error| panic!("creating Job {} failed: {error}", job.name_any()))
    }

    /// Waits until the JobHealth of `job` reports `reason`, and returns it. On timeout, panics
    /// with the last status and the operator's log.
    pub async fn wait_for_reason(&self, job: &str, reason: &str) -> JobHealth {
        self.wait_for(job, reason, None).await
    }

    /// Waits until the JobHealth of `job` reports `reason` and, when given, `state`.
    pub async fn wait_for(&self, job: &str, reason: &str, state: Option<jobhealth::finding::State>) -> JobHealth {
        let api: Api<JobHealth> = Api::namespaced(self.client.clone(), &self.namespace);
        let deadline = tokio::time::Instant::now() + REPORT_TIMEOUT;
        let mut last = None;
        while tokio::time::Instant::now() < deadline {
            if let Ok(health) = api.get(job).await {
                let current = health.status.as_ref().and_then(|status| status.reason).map(|reason| reason.as_str());
                let current_state = health.status.as_ref().and_then(|status| status.state);
                if current == Some(reason) && (state.is_none() || current_state == state) {
                    return health;
                }
                last = Some(health);
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let last_status = last.and_then(|health| health.status).map(|status| serde_json::to_string_pretty(&status).unwrap());
        panic!(
            "JobHealth {}/{job} did not report {reason} (state {state:?}) within {:?}.\nLast status: {}\nOperator log ({}):\n{}\nJob and pods:\n{}",
            self.namespace,
            REPORT_TIMEOUT,
            last_status.unwrap_or_else(|| "none".into()),
            self.log_path.display(),
            self.operator_log_tail(40),
            self.describe(job).await,
        );
    }

    /// Waits until an Event with `reason` from jobhealth is recorded on `job`, and returns it.
    pub async fn wait_for_event(&self, job: &Job, reason: &str) -> Event {
        self.wait_for_event_on(&job.uid().unwrap(), &job.name_any(), reason).await
    }

    /// Waits until an Event with `reason` from jobhealth is recorded on the object with `uid`.
    pub async fn wait_for_event_on(&self, uid: &str, name: &str, reason: &str) -> Event {
        let api: Api<Event> = Api::namespaced(self.client.clone(), &self.namespace);
        let selector = format!("involvedObject.uid={uid}");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while tokio::time::Instant::now() < deadline {
            let events = api.list(&ListParams::default().fields(&selector)).await.expect("events list");
            if let Some(event) = events
                .items
                .into_iter()
                .find(|event| event.reason.as_deref() == Some(reason) && event.reporting_component.as_deref() == Some("jobhealth"))
            {
                return event;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        panic!("no Event {reason} from jobhealth on {}/{name}", self.namespace);
    }

    /// Returns the Events jobhealth recorded on `job`.
    pub async fn jobhealth_events(&self, job: &Job) -> Vec<Event> {
        let api: Api<Event> = Api::namespaced(self.client.clone(), &self.namespace);
        let selector = format!("involvedObject.uid={}", job.uid().unwrap());
        let events = api.list(&ListParams::default().fields(&selector)).await.expect("events list");
        events.items.into_iter().filter(|event| event.reporting_component.as_deref() == Some("jobhealth")).collect()
    }

    /// Returns the last `lines` lines of the operator's log.
    pub fn operator_log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    async fn describe(&self, job: &str) -> String {
        let jobs: Api<Job> = Api::namespaced(self.client.clone(), &self.namespace);
        let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(self.client.clone(), &self.namespace);
        let job_status = jobs.get(job).await.ok().and_then(|job| job.status).map(|status| serde_json::to_string(&status).unwrap());
        let pod_statuses: Vec<String> = pods
            .list(&ListParams::default().labels(&format!("batch.kubernetes.io/job-name={job}")))
            .await
            .map(|list| list.items.into_iter().map(|pod| format!("{}: {}", pod.name_any(), serde_json::to_string(&pod.status).unwrap())).collect())
            .unwrap_or_default();
        format!("job status: {}\npods:\n{}", job_status.unwrap_or_default(), pod_statuses.join("\n"))
    }

    /// Stops the operator and deletes the namespace. Call at the end of a passing test; a failed
    /// test leaves its namespace for inspection until `make cluster-down`.
    pub async fn finish(mut self) {
        if let Some(mut operator) = self.operator.take() {
            let _ = operator.kill().await;
        }
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        let _ = namespaces.delete(&self.namespace, &DeleteParams::background()).await;
    }
}

/// Installs `deploy/rbac.yaml` and writes a kubeconfig for its `jobhealth` ServiceAccount, so
/// the operator runs with exactly the permissions a cluster install grants.
pub fn service_account_kubeconfig() -> PathBuf {
    let kubectl = |args: &[&str]| {
        let output = std::process::Command::new(testbed_kubectl())
            .args(args)
            .env("KUBECONFIG", kubeconfig_path())
            .output()
            .expect("kubectl runs");
        assert!(output.status.success(), "kubectl {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    };
    let rbac = repo_root().join("deploy/rbac.yaml");
    kubectl(&["apply", "--server-side", "--force-conflicts", "-f", rbac.to_str().unwrap()]);
    let token = kubectl(&["create", "token", "jobhealth", "-n", "jobhealth-system", "--duration", "1h"]);
    let server = kubectl(&["config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}"]);
    let authority = kubectl(&["config", "view", "--minify", "--raw", "-o", "jsonpath={.clusters[0].cluster.certificate-authority-data}"]);

    let kubeconfig = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "testbed", "cluster": {"server": server, "certificate-authority-data": authority}}],
        "users": [{"name": "jobhealth", "user": {"token": token.trim()}}],
        "contexts": [{"name": "jobhealth", "context": {"cluster": "testbed", "user": "jobhealth"}}],
        "current-context": "jobhealth"
    });
    // One file per call, so tests running in parallel never read a file another one is writing.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = repo_root().join(format!("target/e2e-logs/service-account-{}-{call}.kubeconfig", std::process::id()));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, serde_json::to_string(&kubeconfig).unwrap()).unwrap();
    path
}

async fn wait_for_default_service_account(client: &Client, namespace: &str) {
    let api: Api<ServiceAccount> = Api::namespaced(client.clone(), namespace);
    for _ in 0..100 {
        if api.get_opt("default").await.ok().flatten().is_some() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the default ServiceAccount in {namespace} was not created; is the serviceaccount controller running?");
}

/// Builds a Job whose single pod meets `fate` on the kwok node (see tests/testbed/stages).
pub fn job(name: &str, fate: &str) -> Value {
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"labels": {"jobhealth.io/fate": fate}},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{
                        "name": "main",
                        "image": "registry.example.com/batch/worker:1.0",
                        "resources": {"limits": {"cpu": "100m", "memory": "64Mi"}}
                    }]
                }
            }
        }
    })
}
