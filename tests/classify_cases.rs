//! Table tests for the classifier: every file under `tests/fixtures` is a saved Job with its
//! pods and Events, and its header says what jobhealth must report.
//!
//! Header lines read here:
//! - `# expect: REASON`: the reason, by its serialized name;
//! - `# also: note NOTE` or `# also: cause REASON`: a note or a deeper cause that must be present;
//! - `# retryable: yes | with-change | no`;
//! - `# state: STATE` (optional): the state, by its serialized name;
//! - `# thresholds: name=seconds ...` (optional): thresholds that differ from the defaults;
//! - `Snapshot time: TIME` anywhere in a comment: the time to classify at. Without it, the
//!   newest timestamp in the objects is used.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use jobhealth::classify::{JobObjects, Observation, Thresholds, classify, group_by_job, newest_timestamp, parse_objects};
use jobhealth::finding::{
    EvidenceSource, Finding, MAX_EVIDENCE, MAX_FAILED_INDEXES, MAX_MESSAGE_CHARS, NoteReason, Reason, Retryable, State,
};

/// A note or deeper cause named by a fixture's `also` header.
#[derive(Debug)]
enum Also {
    Note(NoteReason),
    Cause(Reason),
}

/// What a fixture's header expects.
#[derive(Debug)]
struct Header {
    expect: Reason,
    also: Option<Also>,
    retryable: Retryable,
    state: Option<State>,
    thresholds: Thresholds,
    snapshot: Option<Timestamp>,
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("fixtures")
}

/// Parses a serialized enum name, such as "OOMKilled", through serde, the public contract.
fn parse_name<T: serde::de::DeserializeOwned>(name: &str, file: &str) -> T {
    serde_json::from_value(serde_json::Value::String(name.to_string()))
        .unwrap_or_else(|error| panic!("{file}: unknown name {name:?} in header: {error}"))
}

fn header_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let prefix = format!("# {key}:");
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .map(str::trim)
}

fn parse_header(text: &str, file: &str) -> Header {
    let expect = header_value(text, "expect").unwrap_or_else(|| panic!("{file}: missing '# expect:' header"));
    let retryable = match header_value(text, "retryable") {
        Some("yes") => Retryable::Yes,
        Some("with-change") => Retryable::WithChange,
        Some("no") => Retryable::No,
        other => panic!("{file}: invalid '# retryable:' header {other:?}"),
    };
    let also = header_value(text, "also").map(|also| {
        let mut words = also.split_whitespace();
        let kind = words.next().unwrap_or("");
        let name = words.next().unwrap_or("");
        match kind {
            "note" => Also::Note(parse_name(name, file)),
            "cause" => Also::Cause(parse_name(name, file)),
            _ => panic!("{file}: '# also:' must start with 'note' or 'cause', found {also:?}"),
        }
    });
    let state = header_value(text, "state").map(|state| parse_name(state, file));

    let mut thresholds = Thresholds::default();
    for pair in header_value(text, "thresholds").unwrap_or("").split_whitespace() {
        let (name, value) = pair
            .split_once('=')
            .unwrap_or_else(|| panic!("{file}: threshold {pair:?} is not name=seconds"));
        let seconds: i64 = value
            .parse()
            .unwrap_or_else(|_| panic!("{file}: threshold {name} has invalid seconds {value:?}"));
        match name {
            "pending_seconds" => thresholds.pending_seconds = seconds,
            "image_pull_seconds" => thresholds.image_pull_seconds = seconds,
            "stalled_seconds" => thresholds.stalled_seconds = seconds,
            "long_running_seconds" => thresholds.long_running_seconds = Some(seconds),
            "terminating_seconds" => thresholds.terminating_seconds = seconds,
            _ => panic!("{file}: unknown threshold {name:?}"),
        }
    }

    let snapshot = text
        .lines()
        .filter(|line| line.starts_with('#'))
        .find_map(|line| line.split_once("Snapshot time:"))
        .map(|(_, rest)| {
            let time = rest.trim().trim_end_matches('.');
            time.parse::<Timestamp>()
                .unwrap_or_else(|error| panic!("{file}: invalid snapshot time {time:?}: {error}"))
        });

    Header { expect: parse_name(expect, file), also, retryable, state, thresholds, snapshot }
}

/// Loads a fixture, which must hold exactly one Job, and classifies it.
fn classify_fixture(file: &str) -> (Header, Finding) {
    let text = std::fs::read_to_string(fixtures_dir().join(file)).unwrap_or_else(|error| panic!("{file}: {error}"));
    let header = parse_header(&text, file);
    let objects = parse_objects(&text).unwrap_or_else(|error| panic!("{file}: {error}"));
    let groups = group_by_job(&objects);
    assert_eq!(groups.len(), 1, "{file}: expected exactly one Job");
    let group: &JobObjects = &groups[0];
    assert_eq!(group.pods.len(), objects.pods.len(), "{file}: every pod belongs to the Job");
    assert_eq!(group.events.len(), objects.events.len(), "{file}: every Event belongs to the Job");

    let observation = group.observation();
    let now = header
        .snapshot
        .or_else(|| newest_timestamp(&observation))
        .unwrap_or_else(|| panic!("{file}: no snapshot time and no timestamp in the objects"));
    let finding = classify(&observation, &header.thresholds, now);
    (header, finding)
}

/// Checks the bounds every finding keeps.
fn assert_bounded(finding: &Finding, context: &str) {
    assert!(finding.evidence.len() <= MAX_EVIDENCE, "{context}: {} evidence items", finding.evidence.len());
    assert!(finding.failed_indexes.len() <= MAX_FAILED_INDEXES, "{context}: too many failed indexes");
    assert!(finding.message.chars().count() <= MAX_MESSAGE_CHARS, "{context}: message too long");
    assert!(!finding.message.contains('\n'), "{context}: message has a line break");
    if let Some(advice) = &finding.advice {
        assert!(advice.chars().count() <= MAX_MESSAGE_CHARS, "{context}: advice too long");
    }
    for note in &finding.notes {
        assert!(note.message.chars().count() <= MAX_MESSAGE_CHARS, "{context}: note too long");
    }
    for item in &finding.evidence {
        for text in [&item.message, &item.reason, &item.pod, &item.container, &item.node, &item.time].into_iter().flatten() {
            assert!(text.chars().count() <= MAX_MESSAGE_CHARS, "{context}: evidence text too long");
        }
    }
    for index in &finding.failed_indexes {
        if let Some(message) = &index.message {
            assert!(message.chars().count() <= MAX_MESSAGE_CHARS, "{context}: failed index message too long");
        }
    }
}

/// Classifies a fixture and checks it against its header; returns the finding for further checks.
fn check_fixture(file: &str) -> Finding {
    let (header, finding) = classify_fixture(file);
    let finding_json = serde_json::to_string_pretty(&finding).unwrap_or_default();
    // Shown with --nocapture, to read what each fixture reports.
    println!("{file}:\n{finding_json}");
    assert_eq!(finding.reason, header.expect, "{file}: wrong reason\n{finding_json}");
    assert_eq!(finding.retryable, header.retryable, "{file}: wrong retryable\n{finding_json}");
    if let Some(state) = header.state {
        assert_eq!(finding.state, state, "{file}: wrong state\n{finding_json}");
    }
    match &header.also {
        Some(Also::Note(note)) => assert!(
            finding.notes.iter().any(|found| found.reason == *note),
            "{file}: missing note {note:?}\n{finding_json}"
        ),
        Some(Also::Cause(cause)) => assert_eq!(finding.cause, Some(*cause), "{file}: wrong cause\n{finding_json}"),
        None => {}
    }
    assert!(!finding.message.is_empty(), "{file}: empty message");
    assert!(!finding.evidence.is_empty() || finding.reason == Reason::Stalled, "{file}: no evidence\n{finding_json}");
    assert_bounded(&finding, file);
    finding
}

macro_rules! fixture_tests {
    ($($name:ident => $file:literal,)*) => {
        $(
            #[test]
            fn $name() {
                check_fixture($file);
            }
        )*

        /// Every fixture named in the table.
        const FIXTURES: &[&str] = &[$($file),*];
    };
}

fixture_tests! {
    oomkilled_backoff_limit => "01-oomkilled-backoff-limit.yaml",
    image_pull_backoff_stuck => "02-image-pull-backoff-stuck.yaml",
    invalid_image_name_unrendered_variable => "03-invalid-image-name-unrendered-variable.yaml",
    unschedulable_pending_forever => "05-unschedulable-pending-forever.yaml",
    deadline_exceeded_hung_dependency => "06-deadline-exceeded-hung-dependency.yaml",
    create_container_config_error_missing_key => "08-create-container-config-error-missing-secret-key.yaml",
    istio_sidecar_blocks_completion => "10-istio-sidecar-blocks-completion.yaml",
    onfailure_restart_loop_pod_deleted => "11-onfailure-restart-loop-pod-deleted.yaml",
    stuck_terminating_job_tracking_finalizer => "13-stuck-terminating-job-tracking-finalizer.yaml",
    liveness_probe_kill_exit_137 => "15-liveness-probe-kill-exit-137.yaml",
    indexed_job_failed_indexes => "17-indexed-job-failed-indexes-per-index.yaml",
    suspended_never_admitted => "18-suspended-never-admitted.yaml",
    succeeded_after_transient_failure => "20-succeeded-after-transient-failure.yaml",
    nonzero_exit_missing_config => "50-nonzero-exit-missing-config.yaml",
    running_healthy => "51-running-healthy.yaml",
    pending_container_creating => "52-pending-container-creating.yaml",
    init_container_failed => "53-init-container-failed.yaml",
    disruption_preempted => "54-disruption-preempted.yaml",
    pod_creation_failed_quota => "55-pod-creation-failed-quota.yaml",
    image_pull_transient_rate_limit => "56-image-pull-transient-rate-limit.yaml",
    volume_mount_failed_missing_configmap => "57-volume-mount-failed-missing-configmap.yaml",
    stalled_no_controller_activity => "58-stalled-no-controller-activity.yaml",
    long_running => "59-long-running.yaml",
    backoff_limit_exceeded_pods_gone => "60-backoff-limit-exceeded-pods-gone.yaml",
    pod_failure_policy_pods_gone => "61-pod-failure-policy-pods-gone.yaml",
    oom_kill_observed_on_success => "62-oom-kill-observed-on-success.yaml",
    managed_elsewhere => "63-managed-elsewhere.yaml",
    failing_oomkilled_budget_left => "64-failing-oomkilled-budget-left.yaml",
    deadline_exceeded_unschedulable_pods_gone => "65-deadline-exceeded-unschedulable-pods-gone.yaml",
}

#[test]
fn every_fixture_is_in_table() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(fixtures_dir())
        .expect("tests/fixtures exists")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".yaml"))
        .collect();
    let listed: BTreeSet<String> = FIXTURES.iter().map(|name| name.to_string()).collect();
    assert_eq!(on_disk, listed, "add each fixture file to fixture_tests!");
}

// Evidence checks for the cases whose header names what must be cited.

#[test]
fn oom_cites_container_exit_and_limit() {
    let finding = check_fixture("01-oomkilled-backoff-limit.yaml");
    assert_eq!(finding.state, State::Failed);
    let primary = &finding.evidence[0];
    assert_eq!(primary.source, Some(EvidenceSource::Container));
    assert_eq!(primary.container.as_deref(), Some("ingest"));
    assert_eq!(primary.exit_code, Some(137));
    assert_eq!(primary.reason.as_deref(), Some("OOMKilled"));
    assert!(finding.message.contains("2Gi"), "{}", finding.message);
    assert!(finding.message.contains("4 of 4 attempts"), "{}", finding.message);
    let advice = finding.advice.as_deref().unwrap_or("");
    assert!(advice.contains("spec.template.spec.containers[ingest].resources.limits.memory above 2Gi"), "{advice}");
    let condition = finding.evidence.iter().find(|item| item.source == Some(EvidenceSource::Job) && item.reason.is_some());
    assert_eq!(condition.and_then(|item| item.reason.as_deref()), Some("Failed: BackoffLimitExceeded"));
}

#[test]
fn indexed_job_reports_index_2_exit_3() {
    let finding = check_fixture("17-indexed-job-failed-indexes-per-index.yaml");
    assert_eq!(finding.failed_indexes.len(), 1);
    let index = &finding.failed_indexes[0];
    assert_eq!(index.index, 2);
    assert_eq!(index.exit_code, Some(3));
    assert_eq!(index.reason, Reason::NonZeroExit);
    assert!(index.message.as_deref().unwrap_or("").contains("input object not found"));
    assert_eq!(finding.cause, Some(Reason::NonZeroExit));
    assert!(finding.message.contains("completed: 0,1,3"), "{}", finding.message);
    assert!(finding.advice.as_deref().unwrap_or("").contains("re-run only index 2"));
}

#[test]
fn deadline_is_failing_with_hung_pod() {
    let finding = check_fixture("06-deadline-exceeded-hung-dependency.yaml");
    assert_eq!(finding.state, State::Failing);
    assert_eq!(finding.cause, Some(Reason::Running));
    assert!(finding.advice.as_deref().unwrap_or("").contains("spec.activeDeadlineSeconds (300)"));
    let running = finding.evidence.iter().find(|item| item.reason.as_deref() == Some("Running"));
    assert_eq!(running.and_then(|item| item.container.as_deref()), Some("preflight"));
}

#[test]
fn liveness_kill_is_not_memory() {
    let finding = check_fixture("15-liveness-probe-kill-exit-137.yaml");
    let advice = finding.advice.as_deref().unwrap_or("");
    assert!(advice.contains("spec.template.spec.containers[worker].livenessProbe.initialDelaySeconds (now 0)"), "{advice}");
    assert!(!advice.contains("limits.memory"), "{advice}");
    assert_eq!(finding.evidence[0].exit_code, Some(137));
    assert_eq!(finding.evidence[0].reason.as_deref(), Some("Error"));
    assert!(finding.evidence.iter().any(|item| item.reason.as_deref() == Some("Killing")));
    assert!(finding.evidence.iter().any(|item| item.reason.as_deref() == Some("Unhealthy") && item.count == Some(3)));
}

#[test]
fn crash_loop_rests_on_events() {
    let finding = check_fixture("11-onfailure-restart-loop-pod-deleted.yaml");
    assert!(finding.notes.iter().any(|note| note.reason == NoteReason::PodsGone));
    assert!(finding.message.contains("started 4 times"), "{}", finding.message);
    assert!(finding.evidence.iter().any(|item| item.reason.as_deref() == Some("BackOff") && item.count == Some(5)));
}

#[test]
fn unschedulable_quotes_scheduler() {
    let finding = check_fixture("05-unschedulable-pending-forever.yaml");
    assert_eq!(finding.state, State::Stuck);
    assert!(finding.message.contains("2 Insufficient cpu"), "{}", finding.message);
    assert!(finding.evidence.iter().any(|item| item.reason.as_deref() == Some("FailedScheduling") && item.count == Some(1530)));
    assert!(finding.evidence.iter().any(|item| item.reason.as_deref() == Some("NotTriggerScaleUp")));
}

#[test]
fn config_error_rechecks_at_deadline() {
    let finding = check_fixture("08-create-container-config-error-missing-secret-key.yaml");
    assert!(finding.message.contains("couldn't find key API_TOKEN"), "{}", finding.message);
    assert!(finding.message.contains("ends the Job as DeadlineExceeded at 2025-06-10T13:51:20Z"), "{}", finding.message);
    // Started 13:41:20 with a 600 s deadline, classified at the newest Event time 13:47:16.
    assert_eq!(finding.recheck_after_seconds, Some(244));
}

#[test]
fn image_pull_not_found_is_permanent() {
    let finding = check_fixture("02-image-pull-backoff-stuck.yaml");
    assert!(finding.message.contains("not found"), "{}", finding.message);
    assert!(finding.evidence.iter().any(|item| item.reason.as_deref() == Some("Failed") && item.count == Some(640)));
    assert!(finding.advice.as_deref().unwrap_or("").contains("spec.template.spec.containers[report].image"));
}

#[test]
fn invalid_image_flags_template_variable() {
    let finding = check_fixture("03-invalid-image-name-unrendered-variable.yaml");
    assert!(finding.message.contains("unrendered template variable"), "{}", finding.message);
}

#[test]
fn sidecar_names_istio_proxy() {
    let finding = check_fixture("10-istio-sidecar-blocks-completion.yaml");
    assert!(finding.message.contains("\"istio-proxy\""), "{}", finding.message);
    assert!(finding.evidence.iter().any(|item| item.container.as_deref() == Some("digest") && item.exit_code == Some(0)));
}

#[test]
fn stuck_terminating_cites_finalizers() {
    let finding = check_fixture("13-stuck-terminating-job-tracking-finalizer.yaml");
    assert_eq!(finding.state, State::Stuck);
    assert!(finding.message.contains("batch.kubernetes.io/job-tracking"), "{}", finding.message);
    assert!(finding.message.contains("uncountedTerminatedPods"), "{}", finding.message);
    assert!(finding.message.contains("foregroundDeletion"), "{}", finding.message);
}

#[test]
fn suspended_job_is_held_by_queue() {
    let finding = check_fixture("18-suspended-never-admitted.yaml");
    assert_eq!(finding.state, State::Suspended);
    let note = finding.notes.iter().find(|note| note.reason == NoteReason::HeldByQueue);
    let message = note.map(|note| note.message.as_str()).unwrap_or("");
    assert!(message.contains("Resumed x2"), "{message}");
    assert_eq!(finding.recheck_after_seconds, None);
}

#[test]
fn success_after_retry_is_succeeded() {
    let finding = check_fixture("20-succeeded-after-transient-failure.yaml");
    assert_eq!(finding.state, State::Succeeded);
    let note = finding.notes.iter().find(|note| note.reason == NoteReason::RecoveredAfterRetry);
    assert!(note.is_some_and(|note| note.message.contains("connection refused")), "{:?}", finding.notes);
}

#[test]
fn pending_rechecks_at_threshold() {
    let finding = check_fixture("52-pending-container-creating.yaml");
    // Created 40 s before the snapshot, with the default 300 s pending threshold.
    assert_eq!(finding.recheck_after_seconds, Some(260));
}

#[test]
fn transient_pull_rechecks_at_threshold() {
    let finding = check_fixture("56-image-pull-transient-rate-limit.yaml");
    // First pull failure 09:00:05, snapshot 09:02:05, default 600 s image pull threshold.
    assert_eq!(finding.recheck_after_seconds, Some(480));
}

#[test]
fn transient_pull_turns_permanent_later() {
    let (mut header, _) = classify_fixture("56-image-pull-transient-rate-limit.yaml");
    header.thresholds.image_pull_seconds = 60;
    let text = std::fs::read_to_string(fixtures_dir().join("56-image-pull-transient-rate-limit.yaml")).unwrap();
    let groups = group_by_job(&parse_objects(&text).unwrap());
    let finding = classify(&groups[0].observation(), &header.thresholds, header.snapshot.unwrap());
    assert_eq!(finding.reason, Reason::ImagePullBackOff);
}

#[test]
fn failing_oom_counts_budget() {
    let finding = check_fixture("64-failing-oomkilled-budget-left.yaml");
    assert!(finding.message.contains("2 of 2 attempts"), "{}", finding.message);
    assert!(finding.message.contains("fails at failure 4"), "{}", finding.message);
}

#[test]
fn deadline_cause_from_series_event() {
    let finding = check_fixture("65-deadline-exceeded-unschedulable-pods-gone.yaml");
    assert!(finding.notes.iter().any(|note| note.reason == NoteReason::PodsGone));
    assert!(finding.evidence.iter().any(|item| item.reason.as_deref() == Some("FailedScheduling") && item.count == Some(21)));
}

#[test]
fn every_fixture_stays_bounded_with_tiny_thresholds() {
    let tiny = Thresholds {
        pending_seconds: 0,
        image_pull_seconds: 0,
        stalled_seconds: 0,
        long_running_seconds: Some(0),
        terminating_seconds: 0,
    };
    for file in FIXTURES {
        let text = std::fs::read_to_string(fixtures_dir().join(file)).unwrap();
        let groups = group_by_job(&parse_objects(&text).unwrap());
        for group in &groups {
            let observation: Observation<'_> = group.observation();
            for now in [Timestamp::MIN, Timestamp::UNIX_EPOCH, Timestamp::MAX] {
                let finding = classify(&observation, &tiny, now);
                assert_bounded(&finding, file);
            }
        }
    }
}

/// A finding must not change while time passes and no threshold is crossed, or the operator
/// would rewrite the JobHealth on every pass.
#[test]
fn every_fixture_stable_over_time() {
    for file in FIXTURES {
        let text = std::fs::read_to_string(fixtures_dir().join(file)).unwrap();
        let header = parse_header(&text, file);
        let groups = group_by_job(&parse_objects(&text).unwrap());
        let observation = groups[0].observation();
        let now = header.snapshot.or_else(|| newest_timestamp(&observation)).unwrap();
        let first = classify(&observation, &header.thresholds, now);
        let later_by = 30;
        if first.recheck_after_seconds.is_some_and(|seconds| seconds <= later_by) {
            continue;
        }
        let later = classify(&observation, &header.thresholds, now + jiff::SignedDuration::from_secs(later_by));
        assert_eq!(later.message, first.message, "{file}: the message changed within {later_by}s");
        assert_eq!(later.evidence, first.evidence, "{file}: the evidence changed within {later_by}s");
        assert_eq!(later.notes, first.notes, "{file}: the notes changed within {later_by}s");
    }
}

/// Arbitrary Jobs, Pods and Events, built from values that matter to the classifier mixed with
/// extremes, for the no-panic and bounds property.
mod arbitrary {
    use std::collections::BTreeMap;

    use jiff::Timestamp;
    use k8s_openapi::api::batch::v1::{Job, JobCondition, JobSpec, JobStatus, UncountedTerminatedPods};
    use k8s_openapi::api::core::v1::{
        Container, ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting,
        ContainerStatus, Event, EventSeries, ObjectReference, Pod, PodCondition, PodSpec, PodStatus, PodTemplateSpec,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, OwnerReference, Time};
    use proptest::prelude::*;

    /// 2025-06-01T00:00:00Z, so generated times cluster around realistic values.
    const BASE_SECOND: i64 = 1_748_736_000;

    pub fn timestamp() -> impl Strategy<Value = Timestamp> {
        prop_oneof![
            8 => (-200_000i64..200_000).prop_map(|offset| Timestamp::from_second(BASE_SECOND + offset).unwrap()),
            1 => Just(Timestamp::MIN),
            1 => Just(Timestamp::MAX),
        ]
    }

    fn time() -> impl Strategy<Value = Option<Time>> {
        proptest::option::weighted(0.7, timestamp().prop_map(Time))
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => prop::sample::select(vec![
                "OOMKilled", "Error", "Completed", "ImagePullBackOff", "ErrImagePull", "InvalidImageName",
                "CreateContainerConfigError", "CreateContainerError", "ContainerCreating", "PodInitializing",
                "Unschedulable", "Evicted", "DeadlineExceeded", "BackoffLimitExceeded", "FailedIndexes",
                "PodFailurePolicy", "PreemptionByScheduler", "Created pod: job-a-x1", "Deleted pod: gone-1",
                "Back-off restarting failed container main in pod job-a-x1", "Container main failed liveness probe, will be restarted",
                "Liveness probe failed: connection refused", "Failed to pull image \"x\": not found",
                "Failed to pull image \"x\": toomanyrequests", "exceeded quota", "",
            ]).prop_map(str::to_string),
            2 => "[a-zA-Z0-9 :/._{}$-]{0,24}",
            1 => "(?s).{600,700}",
        ]
    }

    fn name() -> impl Strategy<Value = String> {
        prop::sample::select(vec!["job-a", "job-a-x1", "job-a-x2", "main", "istio-proxy", "init", "gone-1", ""])
            .prop_map(str::to_string)
    }

    fn exit_code() -> impl Strategy<Value = i32> {
        prop_oneof![
            3 => prop::sample::select(vec![0, 1, 2, 3, 42, 128, 137, 143, 255]),
            1 => any::<i32>(),
        ]
    }

    fn terminated() -> impl Strategy<Value = ContainerStateTerminated> {
        (exit_code(), proptest::option::of(text()), proptest::option::of(text()), time(), time()).prop_map(
            |(exit_code, reason, message, started_at, finished_at)| ContainerStateTerminated {
                exit_code,
                reason,
                message,
                started_at,
                finished_at,
                ..Default::default()
            },
        )
    }

    fn state() -> impl Strategy<Value = Option<ContainerState>> {
        prop_oneof![
            Just(None),
            time().prop_map(|started_at| Some(ContainerState {
                running: Some(ContainerStateRunning { started_at }),
                ..Default::default()
            })),
            terminated().prop_map(|terminated| Some(ContainerState { terminated: Some(terminated), ..Default::default() })),
            (proptest::option::of(text()), proptest::option::of(text())).prop_map(|(reason, message)| Some(ContainerState {
                waiting: Some(ContainerStateWaiting { reason, message }),
                ..Default::default()
            })),
        ]
    }

    fn container_status() -> impl Strategy<Value = ContainerStatus> {
        (name(), state(), state(), any::<i32>(), text()).prop_map(|(name, state, last_state, restart_count, image)| {
            ContainerStatus { name, state, last_state, restart_count, image, ..Default::default() }
        })
    }

    fn container() -> impl Strategy<Value = Container> {
        (name(), proptest::option::of(prop::sample::select(vec!["Always", "Never"])), proptest::option::of(text())).prop_map(
            |(name, restart_policy, image)| Container {
                name,
                restart_policy: restart_policy.map(str::to_string),
                image,
                ..Default::default()
            },
        )
    }

    fn pod_spec() -> impl Strategy<Value = PodSpec> {
        (
            prop::collection::vec(container(), 0..3),
            prop::collection::vec(container(), 0..2),
            proptest::option::of(prop::sample::select(vec!["Never", "OnFailure", "Always"])),
            proptest::option::of(name()),
        )
            .prop_map(|(containers, init_containers, restart_policy, node_name)| PodSpec {
                containers,
                init_containers: Some(init_containers),
                restart_policy: restart_policy.map(str::to_string),
                node_name,
                ..Default::default()
            })
    }

    fn metadata(own_uid: &'static str) -> impl Strategy<Value = ObjectMeta> {
        (
            name(),
            proptest::option::of(prop::sample::select(vec![own_uid, "other-uid", ""])),
            time(),
            time(),
            proptest::option::of(prop::collection::vec(text(), 0..2)),
            proptest::option::of(text()),
            any::<bool>(),
        )
            .prop_map(move |(name, uid, creation_timestamp, deletion_timestamp, finalizers, index, owned)| {
                let mut annotations = BTreeMap::new();
                if let Some(index) = index {
                    annotations.insert("batch.kubernetes.io/job-completion-index".to_string(), index);
                }
                let owner_references = owned.then(|| {
                    vec![OwnerReference {
                        api_version: "batch/v1".to_string(),
                        kind: "Job".to_string(),
                        name: "job-a".to_string(),
                        uid: "job-uid".to_string(),
                        controller: Some(true),
                        ..Default::default()
                    }]
                });
                ObjectMeta {
                    name: Some(name),
                    uid: uid.map(str::to_string),
                    creation_timestamp,
                    deletion_timestamp,
                    finalizers,
                    annotations: Some(annotations),
                    owner_references,
                    ..Default::default()
                }
            })
    }

    fn pod_condition() -> impl Strategy<Value = PodCondition> {
        (
            prop::sample::select(vec!["PodScheduled", "DisruptionTarget", "Ready"]),
            prop::sample::select(vec!["True", "False", "Unknown"]),
            proptest::option::of(text()),
            proptest::option::of(text()),
            time(),
        )
            .prop_map(|(type_, status, reason, message, last_transition_time)| PodCondition {
                type_: type_.to_string(),
                status: status.to_string(),
                reason,
                message,
                last_transition_time,
                ..Default::default()
            })
    }

    pub fn pod() -> impl Strategy<Value = Pod> {
        (
            metadata("pod-uid"),
            proptest::option::of(pod_spec()),
            proptest::option::of(prop::sample::select(vec!["Pending", "Running", "Succeeded", "Failed", "Unknown"])),
            proptest::option::of(text()),
            prop::collection::vec(pod_condition(), 0..3),
            prop::collection::vec(container_status(), 0..3),
            prop::collection::vec(container_status(), 0..2),
            time(),
        )
            .prop_map(|(metadata, spec, phase, reason, conditions, containers, init_containers, start_time)| Pod {
                metadata,
                spec,
                status: Some(PodStatus {
                    phase: phase.map(str::to_string),
                    reason,
                    conditions: Some(conditions),
                    container_statuses: Some(containers),
                    init_container_statuses: Some(init_containers),
                    start_time,
                    ..Default::default()
                }),
            })
    }

    fn job_condition() -> impl Strategy<Value = JobCondition> {
        (
            prop::sample::select(vec!["Complete", "Failed", "FailureTarget", "Suspended", "SuccessCriteriaMet"]),
            prop::sample::select(vec!["True", "False"]),
            proptest::option::of(text()),
            proptest::option::of(text()),
            time(),
        )
            .prop_map(|(type_, status, reason, message, last_transition_time)| JobCondition {
                type_: type_.to_string(),
                status: status.to_string(),
                reason,
                message,
                last_transition_time,
                ..Default::default()
            })
    }

    fn index_set() -> impl Strategy<Value = Option<String>> {
        proptest::option::of(prop_oneof![
            prop::sample::select(vec!["2", "0,1,3", "1,3-5,7", "0-2147483647", "x,-4,9-2", ""]).prop_map(str::to_string),
            text(),
        ])
    }

    pub fn job() -> impl Strategy<Value = Job> {
        let spec = (
            any::<Option<bool>>(),
            any::<Option<i32>>(),
            any::<Option<i64>>(),
            any::<Option<i32>>(),
            proptest::option::of(prop::sample::select(vec!["kubernetes.io/job-controller", "kueue.x-k8s.io/multikueue", ""])),
            proptest::option::of(pod_spec()),
        )
            .prop_map(|(suspend, backoff_limit, active_deadline_seconds, backoff_limit_per_index, managed_by, template)| JobSpec {
                suspend,
                backoff_limit,
                active_deadline_seconds,
                backoff_limit_per_index,
                managed_by: managed_by.map(str::to_string),
                template: PodTemplateSpec { metadata: None, spec: template },
                ..Default::default()
            });
        let status = (
            prop::collection::vec(job_condition(), 0..3),
            any::<Option<i32>>(),
            any::<Option<i32>>(),
            any::<Option<i32>>(),
            index_set(),
            index_set(),
            time(),
            proptest::option::of(prop::collection::vec(prop::sample::select(vec!["pod-uid", "lost-uid"]).prop_map(str::to_string), 0..3)),
        )
            .prop_map(|(conditions, active, failed, succeeded, failed_indexes, completed_indexes, start_time, uncounted)| JobStatus {
                conditions: Some(conditions),
                active,
                failed,
                succeeded,
                failed_indexes,
                completed_indexes,
                start_time,
                uncounted_terminated_pods: uncounted.map(|succeeded| UncountedTerminatedPods { succeeded: Some(succeeded), failed: None }),
                ..Default::default()
            });
        (metadata("job-uid"), proptest::option::of(spec), proptest::option::of(status))
            .prop_map(|(metadata, spec, status)| Job { metadata, spec, status })
    }

    pub fn event() -> impl Strategy<Value = Event> {
        (
            prop::sample::select(vec!["Job", "Pod", "Node"]),
            name(),
            proptest::option::of(prop::sample::select(vec!["job-uid", "pod-uid", ""])),
            proptest::option::of(prop::sample::select(vec!["spec.containers{main}", "spec.initContainers{init}", "spec.containers{"])),
            (text(), text()),
            any::<Option<i32>>(),
            (time(), time(), proptest::option::of(timestamp())),
            proptest::option::of((any::<Option<i32>>(), proptest::option::of(timestamp()))),
            any::<bool>(),
        )
            .prop_map(|(kind, name, uid, field_path, (reason, message), count, (first, last, event_time), series, warning)| Event {
                involved_object: ObjectReference {
                    kind: Some(kind.to_string()),
                    name: Some(name),
                    uid: uid.map(str::to_string),
                    field_path: field_path.map(str::to_string),
                    ..Default::default()
                },
                reason: Some(reason),
                message: Some(message),
                count,
                first_timestamp: first,
                last_timestamp: last,
                event_time: event_time.map(MicroTime),
                series: series.map(|(count, last_observed_time)| EventSeries {
                    count,
                    last_observed_time: last_observed_time.map(MicroTime),
                }),
                type_: Some(if warning { "Warning" } else { "Normal" }.to_string()),
                ..Default::default()
            })
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 512, ..Default::default() })]

    #[test]
    fn classify_never_panics_and_stays_bounded(
        job in arbitrary::job(),
        pods in proptest::collection::vec(arbitrary::pod(), 0..4),
        events in proptest::collection::vec(arbitrary::event(), 0..6),
        now in arbitrary::timestamp(),
        pending in proptest::prelude::any::<i64>(),
        stalled in -10i64..2_000,
        long_running in proptest::prelude::any::<Option<i64>>(),
    ) {
        let thresholds = Thresholds {
            pending_seconds: pending,
            image_pull_seconds: 600,
            stalled_seconds: stalled,
            long_running_seconds: long_running,
            terminating_seconds: 600,
        };
        let observation = Observation { job: &job, pods: &pods, events: &events };
        let finding = classify(&observation, &thresholds, now);
        assert_bounded(&finding, "arbitrary input");
        let _ = newest_timestamp(&observation);
    }
}
