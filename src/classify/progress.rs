//! Jobs that are neither failing nor blocked: succeeded, suspended, running, pending, running
//! for long, or active with nothing moving (stalled).

use jiff::Timestamp;
use k8s_openapi::api::batch::v1::JobCondition;
use k8s_openapi::api::core::v1::Pod;

use super::Diagnosis;
use super::advice::{format_duration, one_line, plural};
use super::context::{Context, Recheck};
use super::evidence::{self, EvidenceList, Rank};
use super::pods;
use super::stuck::{describe_blocker, pod_blocker};
use crate::finding::Reason;

/// Label or annotation keys by which a queue controller marks the Jobs it admits. Kueue uses
/// `kueue.x-k8s.io/queue-name`; other queue controllers use a key ending in `/queue-name`.
const QUEUE_KEY_SUFFIX: &str = "/queue-name";

/// Diagnoses a Job with the Complete or SuccessCriteriaMet condition.
pub(crate) fn succeeded(ctx: &Context<'_>, condition: &JobCondition) -> Diagnosis {
    let completed_at = ctx
        .status
        .and_then(|status| status.completion_time.as_ref())
        .or(condition.last_transition_time.as_ref())
        .map(|time| format!(" at {}", time.0))
        .unwrap_or_default();
    let completions = ctx
        .spec
        .and_then(|spec| spec.completions)
        .map(|completions| format!(" of {completions} completions"))
        .unwrap_or_default();
    let message = format!(
        "Job completed{completed_at}: {} succeeded{completions}",
        plural(i64::from(ctx.succeeded_count()), "pod", "pods")
    );
    let mut diagnosis = Diagnosis::new(Reason::Succeeded, message);
    diagnosis.evidence.push(Rank::Primary, evidence::job_condition(condition));
    diagnosis.evidence.push(Rank::Context, evidence::job_fact(format!(
        "status.succeeded {}, status.failed {}",
        ctx.succeeded_count(),
        ctx.failed_count()
    )));
    diagnosis
}

/// Returns the queue that admits the Job, as (label or annotation key, queue name).
pub(crate) fn queue_of<'a>(ctx: &Context<'a>) -> Option<(&'a str, &'a str)> {
    let metadata = &ctx.job.metadata;
    metadata
        .labels
        .iter()
        .flatten()
        .chain(metadata.annotations.iter().flatten())
        .find(|(key, _)| key.ends_with(QUEUE_KEY_SUFFIX))
        .map(|(key, value)| (key.as_str(), value.as_str()))
}

/// Returns true when the Job is suspended by its spec or by its Suspended condition.
pub(crate) fn is_suspended(ctx: &Context<'_>) -> bool {
    ctx.spec.and_then(|spec| spec.suspend) == Some(true) || ctx.condition("Suspended").is_some()
}

/// Diagnoses a suspended Job. A Job held by a queue is not failing, and un-suspending it by
/// hand fights the queue controller.
pub(crate) fn suspended(ctx: &Context<'_>) -> Diagnosis {
    let condition = ctx.condition("Suspended");
    let since = condition
        .and_then(|condition| condition.last_transition_time.as_ref())
        .map(|time| format!(" since {}", time.0))
        .unwrap_or_default();

    let queue = queue_of(ctx);
    let queue_text = queue
        .map(|(key, name)| format!("; queue {name} ({key}) decides when it runs"))
        .unwrap_or_default();
    let message = format!("Job is suspended (spec.suspend true){since}{queue_text}");

    let advice = match queue {
        Some((_, name)) => format!(
            "check why queue {name} does not admit the Job (its Workload and the queue's quota); setting spec.suspend to false by hand fights the queue controller"
        ),
        None => "set spec.suspend to false to let the Job run".to_string(),
    };

    let mut diagnosis = Diagnosis::new(Reason::Suspended, message).with_advice(advice);
    if let Some(condition) = condition {
        diagnosis.evidence.push(Rank::Primary, evidence::job_condition(condition));
    }
    if let Some((key, name)) = queue {
        diagnosis.evidence.push(Rank::Key, evidence::job_fact(format!("label {key}={name}")));
    }
    for event in ctx
        .job_events()
        .filter(|event| matches!(event.reason, "Suspended" | "Resumed" | "Stopped" | "SuccessfulCreate" | "SuccessfulDelete"))
    {
        diagnosis.evidence.push(Rank::Key, evidence::event(event));
    }
    diagnosis
}

/// Diagnoses an active Job with nothing failing or blocked: Running, LongRunning, Pending, or
/// Stalled once nothing has moved for longer than the thresholds.
pub(crate) fn active(ctx: &Context<'_>, recheck: &mut Recheck) -> Diagnosis {
    let live: Vec<&Pod> = ctx.live_pods().collect();
    let running: Vec<&Pod> = live.iter().copied().filter(|pod| is_running(pod)).collect();
    let mut diagnosis = if !running.is_empty() {
        running_diagnosis(ctx, &running, recheck)
    } else if !live.is_empty() {
        pending_diagnosis(ctx, &live, recheck)
    } else if let Some(diagnosis) = reported_elsewhere(ctx) {
        diagnosis
    } else {
        idle_diagnosis(ctx, recheck)
    };

    let failed = ctx.failed_count();
    if failed > 0 {
        diagnosis.message.push_str(&format!(
            "; {} earlier but left no pod to inspect",
            plural(i64::from(failed), "attempt failed", "attempts failed")
        ));
        diagnosis.evidence.push(Rank::Context, evidence::job_fact(format!(
            "status.failed {failed}, spec.backoffLimit {}",
            ctx.backoff_limit()
        )));
    }
    diagnosis
}

/// Diagnoses a Job that another controller manages (`spec.managedBy`) from the status that
/// controller writes, because its pods may run outside this cluster.
fn reported_elsewhere(ctx: &Context<'_>) -> Option<Diagnosis> {
    let manager = ctx.managed_elsewhere()?;
    let active = ctx.status.and_then(|status| status.active).filter(|active| *active > 0)?;
    let ran = ctx
        .start_time()
        .map(|start| format!(" since {start}"))
        .unwrap_or_default();
    let message = format!(
        "{manager} reports {} (status.active {active}) and the Job has run{ran}; no pod runs in this cluster",
        plural(i64::from(active), "active pod", "active pods")
    );
    let mut diagnosis = Diagnosis::new(Reason::Running, message);
    diagnosis.evidence.push(Rank::Primary, evidence::job_fact(format!(
        "spec.managedBy {manager}, status.active {active}, status.ready {}",
        ctx.status.and_then(|status| status.ready).unwrap_or(0)
    )));
    Some(diagnosis)
}

fn is_running(pod: &Pod) -> bool {
    pods::phase(pod) == "Running"
        && pods::containers(pod)
            .iter()
            .any(|container| container.is_running() && (!container.init || container.native_sidecar))
}

fn running_diagnosis(ctx: &Context<'_>, running: &[&Pod], recheck: &mut Recheck) -> Diagnosis {
    let mut list = EvidenceList::default();
    for pod in running {
        for container in pods::containers(pod).iter().filter(|container| container.is_running()) {
            list.push(Rank::Primary, evidence::running(container));
        }
    }
    let start = ctx
        .start_time()
        .or_else(|| running.iter().filter_map(|pod| pods::creation_time(pod)).min());
    let ran = start.map(|start| ctx.seconds_since(start));
    let names = running.iter().map(|pod| pods::name(pod)).collect::<Vec<_>>().join(", ");
    let pods_text = plural(running.len() as i64, "pod", "pods");

    if let (Some(limit), Some(ran)) = (ctx.thresholds.long_running_seconds, ran) {
        if ran >= limit {
            let started = start.map(|start| start.to_string()).unwrap_or_default();
            let message = format!(
                "Job has run since {started}, past the long-running threshold of {}; {pods_text} running ({names})",
                format_duration(limit)
            );
            let advice = "check the running containers' logs for progress; spec.activeDeadlineSeconds stops a Job after a fixed time".to_string();
            let mut diagnosis = Diagnosis::new(Reason::LongRunning, message).with_advice(advice);
            diagnosis.evidence = list;
            return diagnosis;
        }
        recheck.after(limit - ran);
    }

    let ran_text = start.map(|start| format!(" since {start}")).unwrap_or_default();
    let message = format!("{pods_text} running ({names}); the Job has run{ran_text}");
    let mut diagnosis = Diagnosis::new(Reason::Running, message);
    diagnosis.evidence = list;
    diagnosis
}

fn pending_diagnosis(ctx: &Context<'_>, live: &[&Pod], recheck: &mut Recheck) -> Diagnosis {
    let oldest = live
        .iter()
        .copied()
        .min_by_key(|pod| pods::creation_time(pod).unwrap_or(Timestamp::MAX))
        .unwrap_or(live[0]);
    let age = pods::creation_time(oldest).map(|created| ctx.seconds_since(created)).unwrap_or(0);
    let threshold = ctx.thresholds.pending_seconds;
    let blocker = pod_blocker(ctx, oldest);

    if age < threshold {
        recheck.after(threshold - age);
        let waiting = blocker.as_ref().map(|blocker| format!(" ({})", blocker.detail)).unwrap_or_default();
        let since = pods::creation_time(oldest).map(|created| format!(" since {created}")).unwrap_or_default();
        let message = format!(
            "pod {} is starting{waiting}{since}, within the {} pending threshold",
            pods::name(oldest),
            format_duration(threshold)
        );
        let mut diagnosis = Diagnosis::new(Reason::Pending, message);
        if let Some(blocker) = blocker {
            diagnosis.evidence = blocker.evidence;
        }
        return diagnosis;
    }

    let (message, _) = match blocker.as_ref() {
        Some(blocker) => describe_blocker(blocker),
        None => (
            format!(
                "pod {} has been in phase {} with no running container since {}",
                pods::name(oldest),
                if pods::phase(oldest).is_empty() { "unknown" } else { pods::phase(oldest) },
                pods::creation_time(oldest).map(|created| created.to_string()).unwrap_or_else(|| "its creation".to_string())
            ),
            None,
        ),
    };
    let message = format!("{message}; the pending threshold is {}", format_duration(threshold));
    let advice = format!(
        "run kubectl describe pod {} and check the node's kubelet: nothing in the pod or its Events explains the wait",
        pods::name(oldest)
    );
    let mut diagnosis = Diagnosis::new(Reason::Stalled, message).with_advice(advice);
    if let Some(blocker) = blocker {
        diagnosis.evidence = blocker.evidence;
    }
    diagnosis.evidence.push(
        Rank::Key,
        evidence::pod_fact(oldest, "Pending", format!("pod phase {}", pods::phase(oldest)), pods::creation_time(oldest)),
    );
    diagnosis
}

/// Diagnoses an active Job with no live pod: Pending while the Job controller may still act,
/// Stalled once nothing has changed for `stalled_seconds`.
fn idle_diagnosis(ctx: &Context<'_>, recheck: &mut Recheck) -> Diagnosis {
    let job_times = ctx
        .status
        .into_iter()
        .flat_map(|status| status.conditions.iter().flatten())
        .filter_map(|condition| condition.last_transition_time.as_ref().map(|time| time.0))
        .chain(ctx.start_time())
        .chain(ctx.job.metadata.creation_timestamp.as_ref().map(|time| time.0));
    let last_activity = ctx
        .pods
        .iter()
        .filter_map(|pod| pods::latest_activity(pod))
        .chain(ctx.events.iter().filter_map(|event| event.last))
        .chain(job_times)
        .max();
    let Some(last_activity) = last_activity else {
        return Diagnosis::new(Reason::Pending, "Job has no pods yet".to_string());
    };

    let idle = ctx.seconds_since(last_activity);
    let threshold = ctx.thresholds.stalled_seconds;
    let latest_event = ctx.events.iter().max_by_key(|event| event.last);
    if idle < threshold {
        recheck.after(threshold - idle);
        let message = format!(
            "Job has no running pod yet; last activity at {last_activity}, within the {} stalled threshold",
            format_duration(threshold)
        );
        return Diagnosis::new(Reason::Pending, message);
    }

    let last = latest_event
        .map(|event| format!("; the last Event was {} ({}) at {}", event.reason, one_line(event.message), last_activity))
        .unwrap_or_else(|| format!("; last activity at {last_activity}"));
    let message = format!(
        "Job is active but no pod is running and nothing has changed for longer than the stalled threshold ({}){last}",
        format_duration(threshold)
    );
    let advice = format!(
        "run kubectl describe job {} and check the kube-controller-manager logs: the Job controller has not created or counted pods",
        ctx.job_name()
    );
    let mut diagnosis = Diagnosis::new(Reason::Stalled, message).with_advice(advice);
    if let Some(event) = latest_event {
        diagnosis.evidence.push(Rank::Key, evidence::event(event));
    }
    diagnosis.evidence.push(Rank::Context, evidence::job_fact(format!(
        "status.active {}, status.succeeded {}, status.failed {}",
        ctx.status.and_then(|status| status.active).unwrap_or(0),
        ctx.succeeded_count(),
        ctx.failed_count()
    )));
    diagnosis
}
