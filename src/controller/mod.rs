//! The controller: watches Jobs, their pods, policies and JobHealth objects, and runs each
//! reconcile as observe (client) -> classify (pure) -> plan (pure) -> report (client).
//!
//! NOTE: there is no act phase yet: the operator only reports. Re-running, failing early and
//! cleaning up Jobs will sit between plan and report.

pub mod observe;
pub mod plan;
pub mod report;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{StreamExt, future};
use jiff::Timestamp;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};
use tracing::{debug, info, warn};

use crate::classify::{Observation, classify};
use crate::crd::{JobHealth, JobHealthPolicy};
use crate::select::{choose_policy, validate_policy};
use observe::{ObserveError, observe_job};
use plan::{RetentionPlan, carry_forward, job_present, plan_policy_status, plan_report, plan_retention};
use report::{ReportError, apply_health, apply_health_status, apply_policy_status, delete_health, is_managed, publish_event};

/// Name under which the operator records Events.
pub const CONTROLLER_NAME: &str = "jobhealth";

/// How often JobHealth objects of deleted Jobs are checked against their retention.
const RETENTION_SWEEP: Duration = Duration::from_secs(15);
/// How often a policy's counts are recomputed when nothing triggers it.
const POLICY_RESYNC: Duration = Duration::from_secs(60);
/// First and maximum delay before retrying an object whose reconcile failed.
const RETRY_FIRST: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(300);

/// A reconcile failure.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// Reading pods or Events failed. Transient: retried with backoff.
    #[error(transparent)]
    Observe(#[from] ObserveError),
    /// Writing a JobHealth, a status or an Event failed. Transient: retried with backoff.
    #[error(transparent)]
    Report(#[from] ReportError),
}

impl ReconcileError {
    /// Returns the PascalCase category used in Events and logs.
    pub fn category(&self) -> &'static str {
        match self {
            ReconcileError::Observe(error) => error.category(),
            ReconcileError::Report(error) => error.category(),
        }
    }
}

/// The operator's watch scope: the whole cluster, or one namespace.
#[derive(Clone, Debug)]
pub enum Scope {
    Cluster,
    Namespace(String),
}

impl Scope {
    fn api<K>(&self, client: &Client) -> Api<K>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
    {
        match self {
            Scope::Cluster => Api::all(client.clone()),
            Scope::Namespace(namespace) => Api::namespaced(client.clone(), namespace),
        }
    }
}

/// Shared state of the reconcilers of one scope.
pub struct Context {
    client: Client,
    recorder: Recorder,
    pods: Store<Pod>,
    policies: Store<JobHealthPolicy>,
    healths: Store<JobHealth>,
    /// Consecutive failures per object, for the retry backoff. Reset on success.
    failures: Mutex<HashMap<String, u32>>,
}

impl Context {
    fn record_failure(&self, key: String) -> Duration {
        let mut failures = self.failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = failures.entry(key).or_insert(0);
        *count = count.saturating_add(1);
        let exponent = (*count - 1).min(16);
        (RETRY_FIRST * 2u32.pow(exponent)).min(RETRY_MAX)
    }

    fn record_success(&self, key: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        failures.remove(key);
    }
}

fn object_key<K: Resource>(kind: &str, object: &K) -> String {
    format!("{kind}/{}/{}", object.meta().namespace.as_deref().unwrap_or_default(), object.meta().name.as_deref().unwrap_or_default())
}

/// Runs the operator until interrupted: one set of controllers per scope.
pub async fn run(client: Client, scopes: Vec<Scope>) {
    let instance = std::env::var("POD_NAME")
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| CONTROLLER_NAME.to_string());
    let reporter = Reporter { controller: CONTROLLER_NAME.to_string(), instance: Some(instance) };
    let runs = scopes.into_iter().map(|scope| run_scope(client.clone(), scope, reporter.clone()));
    future::join_all(runs).await;
}

async fn run_scope(client: Client, scope: Scope, reporter: Reporter) {
    info!(scope = ?scope, "starting controllers");
    let jobs: Api<Job> = scope.api(&client);
    let pods: Api<Pod> = scope.api(&client);
    let policies: Api<JobHealthPolicy> = scope.api(&client);
    let healths: Api<JobHealth> = scope.api(&client);

    // Only the Job controller's pods: they carry its controller-uid label.
    let pod_config = watcher::Config::default().labels("batch.kubernetes.io/controller-uid");
    let (pod_store, pod_writer) = reflector::store();
    let pod_stream = watcher(pods, pod_config)
        .modify(|pod| pod.managed_fields_mut().clear())
        .default_backoff()
        .reflect(pod_writer)
        .touched_objects();

    let (policy_store, policy_writer) = reflector::store();
    let policy_stream = watcher(policies.clone(), watcher::Config::default())
        .modify(|policy| policy.managed_fields_mut().clear())
        .default_backoff()
        .reflect(policy_writer)
        .touched_objects();

    let (health_store, health_writer) = reflector::store();
    let health_stream = watcher(healths.clone(), watcher::Config::default())
        .modify(|health| health.managed_fields_mut().clear())
        .default_backoff()
        .reflect(health_writer)
        .touched_objects();

    let context = Arc::new(Context {
        client: client.clone(),
        recorder: Recorder::new(client.clone(), reporter),
        pods: pod_store,
        policies: policy_store.clone(),
        healths: health_store.clone(),
        failures: Mutex::new(HashMap::new()),
    });

    // managedFields are dropped from cached objects: the operator never reads them and they
    // can be the larger part of a Job.
    let (job_store, job_writer) = reflector::store();
    let job_stream = watcher(jobs, watcher::Config::default())
        .modify(|job| job.managed_fields_mut().clear())
        .default_backoff()
        .reflect(job_writer)
        .applied_objects();
    let job_controller = Controller::for_stream(job_stream, job_store.clone());
    let jobs_for_policy = job_store.clone();
    let job_run = job_controller
        .owns_stream(pod_stream)
        .watches_stream(policy_stream, move |policy: JobHealthPolicy| {
            let namespace = policy.namespace();
            jobs_for_policy
                .state()
                .into_iter()
                .filter(|job| job.namespace() == namespace)
                .map(|job| ObjectRef::from_obj(job.as_ref()))
                .collect::<Vec<_>>()
        })
        .watches_stream(health_stream, |health: JobHealth| {
            let namespace = health.namespace().unwrap_or_default();
            Some(ObjectRef::new(&health.name_any()).within(&namespace))
        })
        .shutdown_on_signal()
        .run(reconcile_job, retry_job, context.clone())
        .for_each(|result| async move {
            if let Err(error) = result {
                debug!(error = %error, "job controller event");
            }
        });

    let policy_run = Controller::new(policies, watcher::Config::default())
        .watches(healths, watcher::Config::default(), |health: JobHealth| {
            let namespace = health.namespace().unwrap_or_default();
            Some(ObjectRef::new(&health.spec.policy).within(&namespace))
        })
        .shutdown_on_signal()
        .run(reconcile_policy, retry_policy, context.clone())
        .for_each(|result| async move {
            if let Err(error) = result {
                debug!(error = %error, "policy controller event");
            }
        });

    let sweep = sweep_retention(context.clone(), job_store);
    tokio::select! {
        _ = future::join(job_run, policy_run) => {}
        _ = sweep => {}
    }
    info!(scope = ?scope, "controllers stopped");
}

/// Classifies one Job and records the result in its JobHealth.
async fn reconcile_job(job: Arc<Job>, context: Arc<Context>) -> Result<Action, ReconcileError> {
    let key = object_key("Job", job.as_ref());
    let namespace = job.namespace().unwrap_or_default();
    let name = job.name_any();
    let existing = context.healths.get(&ObjectRef::new(&name).within(&namespace));

    let policies = context.policies.state();
    let Some(policy) = choose_policy(policies.iter().map(|policy| policy.as_ref()), &job) else {
        if let Some(health) = existing.filter(|health| is_managed(health)) {
            delete_health(&context.client, &health).await?;
            info!(job = %name, namespace = %namespace, action = "DeleteHealth", "no policy selects the Job any more");
        }
        context.record_success(&key);
        return Ok(Action::await_change());
    };

    let observed = observe_job(&context.client, &context.pods, &job).await?;
    let now = Timestamp::now();
    let observation = Observation { job: &job, pods: &observed.pods, events: &observed.events };
    let finding = classify(&observation, &policy.thresholds(), now);
    let same_job = existing.as_ref().filter(|health| Some(&health.spec.job_uid) == job.metadata.uid.as_ref());
    let finding = carry_forward(finding, same_job.and_then(|health| health.status.as_ref()));

    let mut plan = plan_report(&job, policy, existing.as_deref(), &finding, now);
    if let Some(spec) = &plan.spec {
        let applied = apply_health(&context.client, &namespace, spec).await?;
        // Plan again against the applied object so the status carries its generation.
        plan = plan_report(&job, policy, Some(&applied), &finding, now);
    }
    if let Some(status) = &plan.status {
        match apply_health_status(&context.client, &namespace, &name, status).await {
            Ok(()) => {}
            // The cache still had a JobHealth that was deleted meanwhile: create it again.
            Err(error) if error.is_not_found() => {
                let spec = crate::crd::JobHealthSpec {
                    job_name: name.clone(),
                    job_uid: job.uid().unwrap_or_default(),
                    policy: policy.name_any(),
                };
                let applied = apply_health(&context.client, &namespace, &spec).await?;
                plan = plan_report(&job, policy, Some(&applied), &finding, now);
                if let Some(status) = &plan.status {
                    apply_health_status(&context.client, &namespace, &name, status).await?;
                }
            }
            Err(error) => return Err(error.into()),
        }
    }
    if let Some(event) = &plan.event {
        publish_event(&context.recorder, job.as_ref(), "Classify", event).await?;
        info!(
            job = %name,
            namespace = %namespace,
            policy = %policy.name_any(),
            state = %finding.state,
            reason = %finding.reason,
            action = "Classify",
            "classification changed"
        );
    } else {
        debug!(job = %name, namespace = %namespace, reason = %finding.reason, "classification unchanged");
    }

    context.record_success(&key);
    Ok(Action::requeue(plan.requeue_after))
}

fn retry_job(job: Arc<Job>, error: &ReconcileError, context: Arc<Context>) -> Action {
    let delay = context.record_failure(object_key("Job", job.as_ref()));
    warn!(
        job = %job.name_any(),
        namespace = %job.namespace().unwrap_or_default(),
        category = error.category(),
        error = %error,
        retry_in_seconds = delay.as_secs(),
        "reconcile failed"
    );
    Action::requeue(delay)
}

/// Validates one policy and records its Ready condition and counts.
async fn reconcile_policy(policy: Arc<JobHealthPolicy>, context: Arc<Context>) -> Result<Action, ReconcileError> {
    let key = object_key("JobHealthPolicy", policy.as_ref());
    let namespace = policy.namespace().unwrap_or_default();
    let name = policy.name_any();

    let validation = validate_policy(&policy).map(|_| ());
    if let Err(error) = &validation {
        warn!(policy = %name, namespace = %namespace, category = error.category(), error = %error, "invalid policy");
    }
    let healths = context.healths.state();
    let covered: Vec<&JobHealth> = healths
        .iter()
        .map(|health| health.as_ref())
        .filter(|health| health.namespace().as_deref() == Some(namespace.as_str()))
        .filter(|health| health.spec.policy == name && job_present(health))
        .collect();

    if let Some(status) = plan_policy_status(&policy, validation.as_ref().map(|_| ()), &covered, Timestamp::now()) {
        apply_policy_status(&context.client, &namespace, &name, &status).await?;
        if let Err(error) = &validation
            && policy_became_invalid(&policy, error.category())
        {
            let event = plan::JobEvent { warning: true, reason: error.category().to_string(), note: error.to_string() };
            publish_event(&context.recorder, policy.as_ref(), "Validate", &event).await?;
        }
        debug!(policy = %name, namespace = %namespace, jobs = status.jobs, unhealthy = status.unhealthy, "policy status written");
    }
    context.record_success(&key);
    Ok(Action::requeue(POLICY_RESYNC))
}

/// Returns true unless the recorded Ready condition already reports this validation error, so
/// an invalid policy gets one Event, not one per pass.
fn policy_became_invalid(policy: &JobHealthPolicy, category: &str) -> bool {
    let conditions = policy.status.as_ref().map(|status| status.conditions.as_slice()).unwrap_or_default();
    let ready = crate::conditions::find(conditions, plan::READY);
    !ready.is_some_and(|ready| ready.status == "False" && ready.reason == category)
}

fn retry_policy(policy: Arc<JobHealthPolicy>, error: &ReconcileError, context: Arc<Context>) -> Action {
    let delay = context.record_failure(object_key("JobHealthPolicy", policy.as_ref()));
    warn!(
        policy = %policy.name_any(),
        namespace = %policy.namespace().unwrap_or_default(),
        category = error.category(),
        error = %error,
        retry_in_seconds = delay.as_secs(),
        "policy reconcile failed"
    );
    Action::requeue(delay)
}

/// Marks JobHealth objects whose Job is gone and deletes them once the covering policy's
/// retention has passed. Runs until the process stops.
async fn sweep_retention(context: Arc<Context>, jobs: Store<Job>) {
    // A sweep before the caches are filled would take every Job for deleted.
    let ready = future::join3(jobs.wait_until_ready(), context.healths.wait_until_ready(), context.policies.wait_until_ready()).await;
    if ready.0.is_err() || ready.1.is_err() || ready.2.is_err() {
        warn!("caches closed before they were ready; JobHealth retention is not enforced");
        return;
    }
    let mut ticker = tokio::time::interval(RETENTION_SWEEP);
    loop {
        ticker.tick().await;
        for health in context.healths.state() {
            if !is_managed(&health) {
                continue;
            }
            let namespace = health.namespace().unwrap_or_default();
            let job_ref = ObjectRef::<Job>::new(&health.name_any()).within(&namespace);
            if jobs.get(&job_ref).is_some() {
                continue;
            }
            let policy_ref = ObjectRef::<JobHealthPolicy>::new(&health.spec.policy).within(&namespace);
            let retention = context
                .policies
                .get(&policy_ref)
                .map(|policy| policy.retention_seconds())
                .unwrap_or(crate::crd::DEFAULT_RETENTION_SECONDS);
            if let Err(error) = apply_retention(&context, &health, retention).await {
                warn!(job = %health.name_any(), namespace = %namespace, category = error.category(), error = %error, "retention sweep failed");
            }
        }
    }
}

async fn apply_retention(context: &Context, health: &JobHealth, retention_seconds: i64) -> Result<(), ReportError> {
    let namespace = health.namespace().unwrap_or_default();
    match plan_retention(health, retention_seconds, Timestamp::now()) {
        RetentionPlan::MarkGone(status) => {
            apply_health_status(&context.client, &namespace, &health.name_any(), &status).await?;
            info!(job = %health.name_any(), namespace = %namespace, retention_seconds, action = "MarkJobGone", "Job deleted; keeping its JobHealth");
        }
        RetentionPlan::Keep { .. } => {}
        RetentionPlan::Delete => {
            delete_health(&context.client, health).await?;
            info!(job = %health.name_any(), namespace = %namespace, action = "DeleteHealth", "retention over; JobHealth deleted");
        }
    }
    Ok(())
}
