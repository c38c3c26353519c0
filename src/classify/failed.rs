//! Failed and failing Jobs: which attempts failed, why, and what to change.
//!
//! The Job condition only records that the budget ran out (BackoffLimitExceeded) or a rule matched
//! (PodFailurePolicy). The cause comes from the pods' container states and from Events, and
//! falls back to the condition's reason only when neither shows more.

use jiff::Timestamp;
use k8s_openapi::api::batch::v1::JobCondition;
use k8s_openapi::api::core::v1::{ContainerStateTerminated, Pod};

use super::Diagnosis;
use super::advice::{container_field, looks_transient, one_line, plural};
use super::context::Context;
use super::events::{self, EventView};
use super::evidence::{self, EvidenceList, Rank};
use super::pods::{self, ContainerRef, EXIT_SIGKILL, EXIT_SIGTERM};
use super::{deadline, indexed};
use crate::finding::{Reason, Retryable};

/// One failed run of a pod or of a container restarted in place.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Attempt<'a> {
    pub pod: &'a Pod,
    /// The failing container; None when the pod failed as a whole (evicted before any exit).
    pub container: Option<ContainerRef<'a>>,
    pub terminated: Option<&'a ContainerStateTerminated>,
    /// True when the failure is the container's last state before an in-place restart.
    pub in_place: bool,
    pub reason: Reason,
}

impl<'a> Attempt<'a> {
    pub fn finished_at(&self) -> Option<Timestamp> {
        self.terminated
            .and_then(|terminated| terminated.finished_at.as_ref())
            .map(|time| time.0)
            .or_else(|| pods::creation_time(self.pod))
    }

    pub fn container_name(&self) -> Option<&'a str> {
        self.container.map(|container| container.name())
    }

    pub fn is_init(&self) -> bool {
        self.container.is_some_and(|container| container.init)
    }

    pub fn exit_code(&self) -> Option<i32> {
        self.terminated.map(|terminated| terminated.exit_code)
    }

    /// Returns the last line of the termination message, for the one-line message.
    pub fn message_line(&self) -> Option<&'a str> {
        let message = self.terminated?.message.as_deref()?;
        let line = pods::last_line(message);
        (!line.is_empty()).then_some(line)
    }

    pub fn evidence(&self) -> crate::finding::Evidence {
        match (self.container, self.terminated) {
            (Some(container), Some(terminated)) => evidence::terminated(&container, terminated),
            _ => {
                let (reason, message) = pods::disruption(self.pod).unwrap_or(("Failed", ""));
                evidence::pod_fact(self.pod, reason, message.to_string(), pods::creation_time(self.pod))
            }
        }
    }
}

/// Returns every failed attempt visible in the pods, classified.
///
/// Each pod gives at most one attempt for its current state (the container that most likely
/// failed it) and one per container for a failure before an in-place restart.
pub(crate) fn attempts<'a>(ctx: &Context<'a>) -> Vec<Attempt<'a>> {
    let mut found = Vec::new();
    for pod in ctx.pods.iter().copied() {
        let containers: Vec<ContainerRef<'a>> = pods::containers(pod)
            .into_iter()
            .filter(|container| !container.native_sidecar)
            .collect();

        let current = containers
            .iter()
            .filter_map(|container| {
                let terminated = container.terminated().filter(|terminated| pods::is_failure(terminated))?;
                Some((*container, terminated))
            })
            .min_by_key(|(container, terminated)| {
                (
                    failure_rank(ctx, container, terminated),
                    terminated.finished_at.as_ref().map(|time| time.0),
                )
            });
        match current {
            Some((container, terminated)) => found.push(classify_attempt(ctx, pod, Some(container), Some(terminated), false)),
            // A pod evicted or preempted before any container exited is still a failed attempt.
            None if pods::disruption(pod).is_some() => found.push(classify_attempt(ctx, pod, None, None, false)),
            // NOTE: a Failed pod with no failed container and no disruption (for example a
            // pod-level activeDeadlineSeconds) is not counted as an attempt.
            None => {}
        }

        for container in &containers {
            let current_failed = container.terminated().is_some_and(pods::is_failure);
            if current_failed || container.status.restart_count <= 0 {
                continue;
            }
            if let Some(last) = container.last_terminated().filter(|terminated| pods::is_failure(terminated)) {
                found.push(classify_attempt(ctx, pod, Some(*container), Some(last), true));
            }
        }
    }
    found
}

/// Orders the failed containers of one pod by how likely each is to be the cause. A failed init
/// container comes first because the main containers never ran. An OOM kill comes next, then an
/// exit the program chose, then a kill by signal, which often follows another container's failure.
fn failure_rank(ctx: &Context<'_>, container: &ContainerRef<'_>, terminated: &ContainerStateTerminated) -> u8 {
    let by_signal = matches!(terminated.exit_code, EXIT_SIGKILL | EXIT_SIGTERM);
    let in_template = ctx.template_has_container(container.name()).unwrap_or(true);
    if container.init {
        0
    } else if pods::is_oom(terminated) {
        1
    } else if in_template && !by_signal {
        2
    } else if !by_signal {
        3
    } else if in_template {
        4
    } else {
        5
    }
}

fn classify_attempt<'a>(
    ctx: &Context<'a>,
    pod: &'a Pod,
    container: Option<ContainerRef<'a>>,
    terminated: Option<&'a ContainerStateTerminated>,
    in_place: bool,
) -> Attempt<'a> {
    let reason = match (container, terminated) {
        (Some(container), Some(terminated)) => {
            if pods::is_oom(terminated) {
                Reason::OOMKilled
            } else if pods::disruption(pod).is_some() {
                Reason::Disruption
            } else if liveness_killed(ctx, pod, container.name(), terminated.exit_code) {
                Reason::LivenessProbeKilled
            } else if container.init {
                Reason::InitContainerFailed
            } else if in_place || (ctx.restarts_in_place() && container.status.restart_count > 0) {
                Reason::CrashLoop
            } else {
                Reason::NonZeroExit
            }
        }
        _ => Reason::Disruption,
    };
    Attempt { pod, container, terminated, in_place, reason }
}

/// Returns true when the kubelet reported killing the container for its liveness probe, or
/// reported liveness failures and the container then died by signal.
fn liveness_killed(ctx: &Context<'_>, pod: &Pod, container: &str, exit_code: i32) -> bool {
    let pod_name = pods::name(pod);
    let mut failures = false;
    for event in ctx.pod_events(pod_name).filter(|event| event.concerns_container(container)) {
        if events::is_liveness_kill(event) {
            return true;
        }
        failures |= events::is_liveness_failure(event);
    }
    failures && matches!(exit_code, EXIT_SIGKILL | EXIT_SIGTERM)
}

/// Diagnoses a Job with a Failed or FailureTarget condition.
pub(crate) fn terminal(ctx: &Context<'_>, condition: &JobCondition) -> Diagnosis {
    let condition_reason = condition.reason.as_deref().unwrap_or("");
    let has_failed_indexes = ctx
        .status
        .and_then(|status| status.failed_indexes.as_deref())
        .is_some_and(|indexes| !indexes.trim().is_empty());

    let mut diagnosis = if condition_reason == "DeadlineExceeded" {
        deadline::diagnose(ctx)
    } else if matches!(condition_reason, "FailedIndexes" | "MaxFailedIndexesExceeded") || has_failed_indexes {
        indexed::diagnose(ctx)
    } else {
        let attempts = attempts(ctx);
        from_attempts(ctx, &attempts)
            .or_else(|| from_events(ctx))
            .unwrap_or_else(|| fallback(ctx, condition))
    };
    diagnosis.evidence.push(Rank::Key, evidence::job_condition(condition));
    diagnosis
}

/// Diagnoses an active Job whose pods are failing toward the backoff budget; None when no
/// failed attempt is visible.
pub(crate) fn failing(ctx: &Context<'_>) -> Option<Diagnosis> {
    let has_failed_indexes = ctx
        .status
        .and_then(|status| status.failed_indexes.as_deref())
        .is_some_and(|indexes| !indexes.trim().is_empty());
    if has_failed_indexes {
        return Some(indexed::diagnose(ctx));
    }
    // NOTE: every visible failed attempt counts, including disruptions that a
    // spec.podFailurePolicy Ignore rule keeps from spending the budget.
    let attempts = attempts(ctx);
    let mut diagnosis = from_attempts(ctx, &attempts)?;
    diagnosis.message.push_str(&budget_text(ctx, &attempts));
    Some(diagnosis)
}

/// Returns how much of the backoff budget an active Job has used, as a message suffix.
fn budget_text(ctx: &Context<'_>, attempts: &[Attempt<'_>]) -> String {
    if ctx.spec.and_then(|spec| spec.backoff_limit_per_index).is_some() {
        return "; the Job is still active".to_string();
    }
    let limit = ctx.backoff_limit();
    let failures = if ctx.restarts_in_place() {
        let restarts: i64 = ctx.pods.iter().map(|pod| pods::restart_count(pod)).sum();
        i64::from(ctx.failed_count()) + restarts
    } else {
        let visible = attempts.iter().filter(|attempt| !attempt.in_place).count() as i64;
        i64::from(ctx.failed_count()).max(visible)
    };
    format!(
        "; the Job is still active with {} so far and fails at failure {} (spec.backoffLimit {limit})",
        plural(failures, "failure", "failures"),
        i64::from(limit).saturating_add(1)
    )
}

/// Diagnoses from the failed attempts: the most common cause wins, ties going to the most
/// recent attempt. Returns None when no attempt failed.
pub(crate) fn from_attempts(ctx: &Context<'_>, attempts: &[Attempt<'_>]) -> Option<Diagnosis> {
    let reasons: Vec<Reason> = attempts.iter().map(|attempt| attempt.reason).collect();
    let chosen = reasons.iter().copied().max_by_key(|reason| {
        let count = reasons.iter().filter(|other| *other == reason).count();
        let latest = attempts
            .iter()
            .filter(|attempt| attempt.reason == *reason)
            .filter_map(Attempt::finished_at)
            .max();
        (count, latest)
    })?;
    let same: Vec<&Attempt<'_>> = attempts.iter().filter(|attempt| attempt.reason == chosen).collect();
    let primary = *same.iter().max_by_key(|attempt| attempt.finished_at())?;

    let mut list = EvidenceList::default();
    list.push(Rank::Primary, primary.evidence());
    for attempt in same.iter().filter(|attempt| !std::ptr::eq(**attempt, primary)) {
        list.push(Rank::Repeat, attempt.evidence());
    }
    for attempt in attempts.iter().filter(|attempt| attempt.reason != chosen) {
        list.push(Rank::Context, attempt.evidence());
    }

    let tally = tally_text(ctx, attempts, same.len());
    let mut diagnosis = match chosen {
        Reason::OOMKilled => oom(ctx, primary, &tally, &mut list),
        Reason::LivenessProbeKilled => liveness(ctx, primary, &same, &tally, &mut list),
        Reason::Disruption => disruption(ctx, primary, &same, &mut list),
        Reason::InitContainerFailed => init_failed(primary, &tally),
        Reason::CrashLoop => crash_loop(ctx, primary, &mut list),
        _ => non_zero_exit(ctx, primary, &same, &tally),
    };
    diagnosis.evidence = merge(list, diagnosis.evidence);
    diagnosis.evidence.push(Rank::Context, evidence::job_fact(format!(
        "status.failed {}, spec.backoffLimit {}, spec.template.spec.restartPolicy {}",
        ctx.failed_count(),
        ctx.backoff_limit(),
        ctx.restart_policy().unwrap_or("unset")
    )));
    Some(diagnosis)
}

fn merge(mut first: EvidenceList, second: EvidenceList) -> EvidenceList {
    for (rank, item) in second.into_ranked() {
        first.push(rank, item);
    }
    first
}

/// Returns text such as "; 4 of 4 attempts ended this way".
fn tally_text(ctx: &Context<'_>, attempts: &[Attempt<'_>], same: usize) -> String {
    let pod_attempts = attempts.iter().filter(|attempt| !attempt.in_place).count();
    let succeeded_pods = ctx.pods.iter().filter(|pod| pods::phase(pod) == "Succeeded").count();
    let visible = (pod_attempts + succeeded_pods).max(same) as i64;
    let counted = i64::from(ctx.failed_count()) + i64::from(ctx.succeeded_count());
    let total = visible.max(counted);
    let mut text = format!("; {same} of {total} attempts ended this way");
    if total > visible {
        text.push_str(&format!(" ({} left no pod to inspect)", total - visible));
    }
    text
}

fn container_label(attempt: &Attempt<'_>) -> String {
    let kind = if attempt.is_init() { "init container" } else { "container" };
    format!(
        "{kind} \"{}\" of pod {}",
        attempt.container_name().unwrap_or("?"),
        pods::name(attempt.pod)
    )
}

fn oom(ctx: &Context<'_>, primary: &Attempt<'_>, tally: &str, list: &mut EvidenceList) -> Diagnosis {
    let name = primary.container_name().unwrap_or("?");
    let field = container_field(name, primary.is_init());
    let limit = pods::container_spec(primary.pod, name)
        .or_else(|| ctx.template_container(name))
        .and_then(pods::memory_limit);
    let exit = primary.exit_code().unwrap_or(EXIT_SIGKILL);
    let (message, advice) = match limit {
        Some(limit) => {
            list.push(Rank::Context, evidence::job_fact(format!("{field}.resources.limits.memory is {limit}")));
            (
                format!("{} was OOMKilled (exit {exit}) at its {limit} memory limit{tally}", container_label(primary)),
                format!("raise {field}.resources.limits.memory above {limit}, or make the job use less memory"),
            )
        }
        None => (
            format!("{} was OOMKilled (exit {exit}) with no memory limit of its own{tally}", container_label(primary)),
            format!(
                "set {field}.resources.requests.memory and limits.memory to what the job needs, so it is placed on a node with enough memory"
            ),
        ),
    };
    Diagnosis::new(Reason::OOMKilled, message).with_advice(advice)
}

fn liveness(ctx: &Context<'_>, primary: &Attempt<'_>, same: &[&Attempt<'_>], tally: &str, list: &mut EvidenceList) -> Diagnosis {
    let name = primary.container_name().unwrap_or("?");
    let mut probe_failure: Option<&EventView<'_>> = None;
    for attempt in same {
        let pod_name = pods::name(attempt.pod);
        for event in ctx.pod_events(pod_name).filter(|event| event.concerns_container(name)) {
            if events::is_liveness_failure(event) || events::is_liveness_kill(event) {
                list.push(Rank::Key, evidence::event(event));
            }
            if events::is_liveness_failure(event) && attempt.pod.metadata.uid == primary.pod.metadata.uid {
                probe_failure = Some(event);
            }
        }
    }
    let exit = primary.exit_code().map(|code| format!(", exit {code}")).unwrap_or_default();
    let probe_text = probe_failure
        .map(|event| format!(" (Unhealthy x{}: {})", event.count, one_line(event.message)))
        .unwrap_or_default();
    let message = format!(
        "{} was killed by the kubelet after its liveness probe failed{probe_text}{exit}, not for memory{tally}",
        container_label(primary)
    );

    let field = container_field(name, primary.is_init());
    let probe = pods::container_spec(primary.pod, name)
        .or_else(|| ctx.template_container(name))
        .and_then(|container| container.liveness_probe.as_ref());
    let delay = probe
        .and_then(|probe| probe.initial_delay_seconds)
        .map(|delay| format!(" (now {delay})"))
        .unwrap_or_default();
    if let Some(probe) = probe {
        list.push(Rank::Context, evidence::job_fact(format!(
            "{field}.livenessProbe initialDelaySeconds {}, periodSeconds {}, failureThreshold {}",
            probe.initial_delay_seconds.unwrap_or(0),
            probe.period_seconds.unwrap_or(10),
            probe.failure_threshold.unwrap_or(3)
        )));
    }
    let advice = format!(
        "raise {field}.livenessProbe.initialDelaySeconds{delay} or add a startupProbe so the container can finish starting, or fix what makes the probe fail; raising memory will not help"
    );
    Diagnosis::new(Reason::LivenessProbeKilled, message).with_advice(advice)
}

fn disruption(ctx: &Context<'_>, primary: &Attempt<'_>, same: &[&Attempt<'_>], list: &mut EvidenceList) -> Diagnosis {
    for attempt in same {
        if let Some(condition) = pods::condition(attempt.pod, "DisruptionTarget") {
            list.push(Rank::Key, evidence::pod_condition(attempt.pod, condition));
        }
        for event in ctx.pod_events(pods::name(attempt.pod)).filter(|event| events::is_disruption(event)) {
            list.push(Rank::Key, evidence::event(event));
        }
    }
    let (kind, detail) = pods::disruption(primary.pod).unwrap_or(("Disrupted", ""));
    let detail = if detail.is_empty() { String::new() } else { format!(": {}", one_line(detail)) };
    let message = format!(
        "pod {} was ended by a disruption ({kind}{detail}){}",
        pods::name(primary.pod),
        if same.len() > 1 { format!("; {} pods were disrupted", same.len()) } else { String::new() }
    );
    let advice = "re-run the Job; to keep evictions and preemptions from spending the backoff budget, add a spec.podFailurePolicy rule with action Ignore for the DisruptionTarget pod condition".to_string();
    Diagnosis::new(Reason::Disruption, message).with_advice(advice)
}

fn init_failed(primary: &Attempt<'_>, tally: &str) -> Diagnosis {
    let name = primary.container_name().unwrap_or("?");
    let exit = primary.exit_code().unwrap_or(0);
    let detail = primary.message_line().map(|line| format!(": {}", one_line(line))).unwrap_or_default();
    let message = format!(
        "{} exited with code {exit}{detail}, so the main containers never ran{tally}",
        container_label(primary)
    );
    let advice = format!(
        "see the logs of init container \"{name}\" and fix what it needs, or its command in {}",
        container_field(name, true)
    );
    let diagnosis = Diagnosis::new(Reason::InitContainerFailed, message).with_advice(advice);
    if primary.message_line().is_some_and(looks_transient) {
        diagnosis.with_retryable(Retryable::Yes)
    } else {
        diagnosis
    }
}

fn crash_loop(ctx: &Context<'_>, primary: &Attempt<'_>, list: &mut EvidenceList) -> Diagnosis {
    let name = primary.container_name().unwrap_or("?");
    let pod_name = pods::name(primary.pod);
    for event in ctx.pod_events(pod_name).filter(|event| events::is_restart_backoff(event) && event.concerns_container(name)) {
        list.push(Rank::Key, evidence::event(event));
    }
    let restarts = primary.container.map(|container| container.status.restart_count).unwrap_or(0);
    let exit = primary.exit_code().unwrap_or(0);
    let detail = primary.message_line().map(|line| format!(": {}", one_line(line))).unwrap_or_default();
    let message = format!(
        "{} failed and was restarted in place {} (last exit {exit}{detail}); with restartPolicy OnFailure each restart counts against spec.backoffLimit {}",
        container_label(primary),
        plural(i64::from(restarts), "time", "times"),
        ctx.backoff_limit()
    );
    Diagnosis::new(Reason::CrashLoop, message).with_advice(crash_loop_advice(ctx, name))
}

fn crash_loop_advice(ctx: &Context<'_>, container: &str) -> String {
    format!(
        "read the logs of container \"{container}\" (kubectl logs --previous while it restarts) and fix the failure in {}; spec.backoffLimit ({}) counts container restarts, and spec.template.spec.restartPolicy Never keeps each failed pod for inspection",
        container_field(container, false),
        ctx.backoff_limit()
    )
}

fn non_zero_exit(ctx: &Context<'_>, primary: &Attempt<'_>, same: &[&Attempt<'_>], tally: &str) -> Diagnosis {
    let name = primary.container_name().unwrap_or("?");
    let exit = primary.exit_code().unwrap_or(0);
    let signal = match pods::signal_name(exit) {
        Some("SIGKILL") => " (SIGKILL, not an OOM kill)".to_string(),
        Some(signal) => format!(" ({signal})"),
        None => String::new(),
    };
    let detail = primary.message_line().map(|line| format!(": {}", one_line(line))).unwrap_or_default();
    let message = format!("{} exited with code {exit}{signal}{detail}{tally}", container_label(primary));
    let transient = same.iter().all(|attempt| attempt.message_line().is_some_and(looks_transient));
    if transient {
        let advice = format!(
            "re-run the Job once the dependency in the error is reachable; spec.backoffLimit ({}) sets how many retries one run makes",
            ctx.backoff_limit()
        );
        return Diagnosis::new(Reason::NonZeroExit, message)
            .with_advice(advice)
            .with_retryable(Retryable::Yes);
    }
    let advice = format!(
        "see the logs of container \"{name}\" and fix the input, configuration or code behind exit code {exit}; the command runs from {}",
        container_field(name, primary.is_init())
    );
    Diagnosis::new(Reason::NonZeroExit, message).with_advice(advice)
}

/// Diagnoses from Events when the pods are gone: liveness kills, disruptions, or in-place
/// restarts. Returns None when the Events show nothing about the failure.
pub(crate) fn from_events(ctx: &Context<'_>) -> Option<Diagnosis> {
    let pods_gone = ctx.pods.is_empty();
    let mut list = EvidenceList::default();

    let kills: Vec<&EventView<'_>> = ctx.events.iter().filter(|event| events::is_liveness_kill(event)).collect();
    if let Some(kill) = kills.iter().max_by_key(|event| event.last) {
        list.extend(Rank::Primary, kills.iter().map(|event| evidence::event(event)));
        for event in ctx.events.iter().filter(|event| events::is_liveness_failure(event)) {
            list.push(Rank::Key, evidence::event(event));
        }
        let container = kill.container.unwrap_or("?");
        let message = format!(
            "container \"{container}\" of pod {} was killed by the kubelet after its liveness probe failed ({}); the pod is gone, so its exit code is lost",
            kill.pod().unwrap_or("?"),
            one_line(kill.message)
        );
        let advice = format!(
            "raise {}.livenessProbe.initialDelaySeconds or add a startupProbe so the container can finish starting, or fix what makes the probe fail",
            container_field(container, kill.init_container)
        );
        let mut diagnosis = Diagnosis::new(Reason::LivenessProbeKilled, message).with_advice(advice);
        diagnosis.evidence = list;
        diagnosis.pods_gone = pods_gone;
        return Some(diagnosis);
    }

    let disruptions: Vec<&EventView<'_>> = ctx.events.iter().filter(|event| events::is_disruption(event)).collect();
    if let Some(latest) = disruptions.iter().max_by_key(|event| event.last) {
        list.extend(Rank::Primary, disruptions.iter().map(|event| evidence::event(event)));
        let message = format!(
            "pod {} was ended by a disruption ({}: {})",
            latest.pod().unwrap_or("?"),
            latest.reason,
            one_line(latest.message)
        );
        let advice = "re-run the Job; to keep evictions and preemptions from spending the backoff budget, add a spec.podFailurePolicy rule with action Ignore for the DisruptionTarget pod condition".to_string();
        let mut diagnosis = Diagnosis::new(Reason::Disruption, message).with_advice(advice);
        diagnosis.evidence = list;
        diagnosis.pods_gone = pods_gone;
        return Some(diagnosis);
    }

    if ctx.restarts_in_place() {
        return crash_loop_from_events(ctx, pods_gone);
    }
    None
}

/// Diagnoses an OnFailure Job whose restarted pod is gone, from kubelet Started and BackOff
/// Events: the budget was spent on in-place restarts that left no Pod object behind.
fn crash_loop_from_events(ctx: &Context<'_>, pods_gone: bool) -> Option<Diagnosis> {
    let backoffs: Vec<&EventView<'_>> = ctx.events.iter().filter(|event| events::is_restart_backoff(event)).collect();
    let starts: Vec<&EventView<'_>> = ctx
        .events
        .iter()
        .filter(|event| event.reason == "Started" && event.pod().is_some())
        .collect();
    let started = events::total_count(starts.iter().copied(), |_| true);
    let backed_off = events::total_count(backoffs.iter().copied(), |_| true);
    if backoffs.is_empty() && started <= 1 {
        return None;
    }

    let anchor = backoffs.iter().chain(starts.iter()).max_by_key(|event| event.last)?;
    let pod = anchor.pod().unwrap_or("?");
    let container = anchor
        .container
        .or_else(|| container_in_backoff_message(anchor.message))
        .unwrap_or("?");

    let mut list = EvidenceList::default();
    list.extend(Rank::Primary, backoffs.iter().map(|event| evidence::event(event)));
    list.extend(Rank::Key, starts.iter().map(|event| evidence::event(event)));
    for event in ctx.job_events().filter(|event| event.reason == "SuccessfulDelete") {
        list.push(Rank::Context, evidence::event(event));
    }

    let lost_note = if pods_gone { "; the pod is gone, so its exit codes and logs are lost" } else { "" };
    let message = format!(
        "container \"{container}\" of pod {pod} kept failing and was restarted in place (started {}, back-off x{backed_off}) until spec.backoffLimit {} was spent{lost_note}",
        plural(started, "time", "times"),
        ctx.backoff_limit()
    );
    let mut diagnosis = Diagnosis::new(Reason::CrashLoop, message).with_advice(crash_loop_advice(ctx, container));
    diagnosis.evidence = list;
    diagnosis.pods_gone = pods_gone;
    Some(diagnosis)
}

/// Returns NAME from "Back-off restarting failed container NAME in pod ...".
fn container_in_backoff_message(message: &str) -> Option<&str> {
    message
        .strip_prefix("Back-off restarting failed container ")?
        .split_whitespace()
        .next()
}

/// Diagnoses from the Job condition alone, when no pod or Event shows more.
fn fallback(ctx: &Context<'_>, condition: &JobCondition) -> Diagnosis {
    let condition_reason = condition.reason.as_deref().unwrap_or("");
    let condition_message = one_line(condition.message.as_deref().unwrap_or(""));
    let pods_gone = ctx.pods.is_empty();
    let mut diagnosis = if condition_reason == "PodFailurePolicy" {
        let message = format!("Job failed by a spec.podFailurePolicy rule: {condition_message}");
        let advice = "a FailJob rule in spec.podFailurePolicy.rules matched, which marks the failure as not worth retrying: fix the cause behind the exit code or condition named in the message".to_string();
        Diagnosis::new(Reason::PodFailurePolicy, message).with_advice(advice)
    } else {
        let missing_cause = if pods_gone { "no pod or Event is left to show why" } else { "no failed container is visible" };
        let message = format!(
            "Job failed ({}) after {} with spec.backoffLimit {}; {missing_cause}",
            if condition_reason.is_empty() { "no reason given" } else { condition_reason },
            plural(i64::from(ctx.failed_count()), "failed attempt", "failed attempts"),
            ctx.backoff_limit()
        );
        let advice = "read the failed containers' logs from your log store to find the cause, then fix it; leaving spec.ttlSecondsAfterFinished unset and spec.template.spec.restartPolicy Never keeps failed pods for inspection".to_string();
        Diagnosis::new(Reason::BackoffLimitExceeded, message).with_advice(advice)
    };
    for event in ctx.job_events().filter(|event| event.warning) {
        diagnosis.evidence.push(Rank::Key, evidence::event(event));
    }
    if let Some(start) = ctx.start_time() {
        diagnosis.evidence.push(Rank::Context, evidence::job_fact(format!(
            "started {start}, status.failed {}, spec.backoffLimit {}",
            ctx.failed_count(),
            ctx.backoff_limit(),
        )));
    }
    diagnosis.pods_gone = pods_gone;
    diagnosis
}
