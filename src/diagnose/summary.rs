//! `jobhealth report`: a namespace's Jobs over a time window: success rate, failures by reason,
//! duration percentiles and the Jobs that failed most.

use std::collections::BTreeMap;
use std::fmt::Write;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use kube::{Client, ResourceExt};
use serde::Serialize;

use crate::classify::{Observation, Thresholds, classify};
use crate::controller::observe::{is_owned_by, list_job_events};
use crate::diagnose::live::LiveError;
use crate::finding::{Finding, Reason, State};

/// Number of entries in the list of Jobs that failed most.
const TOP_FAILING: usize = 5;

/// The summary of a namespace's Jobs over a window.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub namespace: String,
    /// Start of the window (RFC 3339).
    pub since: String,
    /// Jobs started or finished in the window.
    pub jobs: usize,
    pub succeeded: usize,
    pub failed: usize,
    /// Jobs still active (including Stuck and Failing ones).
    pub active: usize,
    /// Succeeded divided by finished Jobs, absent when none finished.
    pub success_rate: Option<f64>,
    /// Failed Jobs by reason, most frequent first.
    pub failures_by_reason: Vec<ReasonCount>,
    /// Median duration of finished Jobs, in seconds.
    pub median_duration_seconds: Option<i64>,
    /// 95th percentile duration of finished Jobs, in seconds (nearest rank).
    pub p95_duration_seconds: Option<i64>,
    /// The Jobs (grouped by owning CronJob, otherwise by name) with the most failures.
    pub most_failing: Vec<FailingJob>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReasonCount {
    pub reason: Reason,
    pub count: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FailingJob {
    /// The owning CronJob's name, or the Job's name.
    pub name: String,
    pub failures: usize,
    /// The reason of the most recent failure.
    pub last_reason: Reason,
}

/// Parses a window such as `90s`, `30m`, `24h` or `7d`.
pub fn parse_window(text: &str) -> Result<SignedDuration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: i64 = number.parse().map_err(|_| format!("invalid window {text:?}: expected a number and a unit such as 24h"))?;
    let seconds_per_unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("invalid window {text:?}: the unit must be s, m, h or d")),
    };
    value
        .checked_mul(seconds_per_unit)
        .filter(|seconds| *seconds > 0)
        .map(SignedDuration::from_secs)
        .ok_or_else(|| format!("invalid window {text:?}: must be greater than zero and fit in 64 bits"))
}

fn job_start(job: &Job) -> Option<Timestamp> {
    let status = job.status.as_ref();
    status
        .and_then(|status| status.start_time.as_ref())
        .or(job.metadata.creation_timestamp.as_ref())
        .map(|time| time.0)
}

/// Returns when the Job finished: its completion time, or when its Failed condition was set.
fn job_end(job: &Job) -> Option<Timestamp> {
    let status = job.status.as_ref()?;
    if let Some(time) = &status.completion_time {
        return Some(time.0);
    }
    status
        .conditions
        .as_ref()?
        .iter()
        .find(|condition| condition.type_ == "Failed" && condition.status == "True")
        .and_then(|condition| condition.last_transition_time.as_ref())
        .map(|time| time.0)
}

/// Returns the name failures are grouped under: the owning CronJob, else the Job.
fn group_name(job: &Job) -> String {
    job.owner_references()
        .iter()
        .find(|owner| owner.kind == "CronJob")
        .map(|owner| owner.name.clone())
        .unwrap_or_else(|| job.name_any())
}

/// Nearest-rank percentile of sorted `values`.
fn percentile(sorted: &[i64], percent: usize) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (percent * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// Summarizes classified Jobs of `namespace` that started or finished after `since`.
pub fn summarize(namespace: &str, classified: &[(Job, Finding)], since: Timestamp) -> Summary {
    let in_window: Vec<&(Job, Finding)> = classified
        .iter()
        .filter(|(job, _)| job_end(job).or_else(|| job_start(job)).is_some_and(|time| time >= since) || job_end(job).is_none())
        .collect();

    let mut succeeded = 0;
    let mut failed = 0;
    let mut active = 0;
    let mut by_reason: BTreeMap<Reason, usize> = BTreeMap::new();
    let mut durations = Vec::new();
    let mut failing: BTreeMap<String, (usize, Timestamp, Reason)> = BTreeMap::new();

    for (job, finding) in &in_window {
        match finding.state {
            State::Succeeded => succeeded += 1,
            State::Failed => {
                failed += 1;
                *by_reason.entry(finding.reason).or_default() += 1;
                let ended = job_end(job).unwrap_or(since);
                let entry = failing.entry(group_name(job)).or_insert((0, ended, finding.reason));
                entry.0 += 1;
                if ended >= entry.1 {
                    entry.1 = ended;
                    entry.2 = finding.reason;
                }
            }
            State::Pending | State::Running | State::Suspended | State::Stuck | State::Failing => active += 1,
        }
        if let (Some(start), Some(end)) = (job_start(job), job_end(job)) {
            durations.push(end.duration_since(start).as_secs().max(0));
        }
    }
    durations.sort_unstable();

    let mut failures_by_reason: Vec<ReasonCount> = by_reason.into_iter().map(|(reason, count)| ReasonCount { reason, count }).collect();
    failures_by_reason.sort_by(|left, right| right.count.cmp(&left.count).then(left.reason.cmp(&right.reason)));

    let mut most_failing: Vec<FailingJob> = failing
        .into_iter()
        .map(|(name, (failures, _, last_reason))| FailingJob { name, failures, last_reason })
        .collect();
    most_failing.sort_by(|left, right| right.failures.cmp(&left.failures).then(left.name.cmp(&right.name)));
    most_failing.truncate(TOP_FAILING);

    let finished = succeeded + failed;
    Summary {
        namespace: namespace.to_string(),
        since: since.to_string(),
        jobs: in_window.len(),
        succeeded,
        failed,
        active,
        success_rate: (finished > 0).then(|| succeeded as f64 / finished as f64),
        failures_by_reason,
        median_duration_seconds: percentile(&durations, 50),
        p95_duration_seconds: percentile(&durations, 95),
        most_failing,
    }
}

/// Reads the Jobs of `namespace` and summarizes those of the last `window`.
pub async fn report_namespace(client: &Client, namespace: &str, window: SignedDuration, thresholds: &Thresholds) -> Result<Summary, LiveError> {
    let read_error = |what: &'static str| {
        let namespace = namespace.to_string();
        move |source| LiveError::Read { namespace, name: "*".to_string(), what, source }
    };
    let jobs: Api<Job> = Api::namespaced(client.clone(), namespace);
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let jobs = jobs.list(&ListParams::default()).await.map_err(read_error("Jobs"))?.items;
    let pods = pods.list(&ListParams::default().labels("batch.kubernetes.io/controller-uid")).await.map_err(read_error("pods"))?.items;

    let now = Timestamp::now();
    let since = (now - window).round(jiff::Unit::Second).unwrap_or(now - window);
    let mut classified = Vec::with_capacity(jobs.len());
    for job in jobs {
        let uid = job.uid().unwrap_or_default();
        let job_pods: Vec<Pod> = pods.iter().filter(|pod| is_owned_by(pod, &uid)).cloned().collect();
        // Events only matter for finding a failure's cause.
        let failed = job_end(&job).is_some() && job.status.as_ref().and_then(|status| status.completion_time.as_ref()).is_none();
        let events = if failed { list_job_events(client, &job, &job_pods).await? } else { Vec::new() };
        let finding = classify(&Observation { job: &job, pods: &job_pods, events: &events }, thresholds, now);
        classified.push((job, finding));
    }
    Ok(summarize(namespace, &classified, since))
}

/// Renders a summary for people.
pub fn render_summary(summary: &Summary) -> String {
    let mut text = String::new();
    let _ = writeln!(text, "Jobs in namespace {} since {}", summary.namespace, summary.since);
    let _ = writeln!(text, "  total: {}  succeeded: {}  failed: {}  active: {}", summary.jobs, summary.succeeded, summary.failed, summary.active);
    match summary.success_rate {
        Some(rate) => {
            let _ = writeln!(text, "  success rate: {:.1}%", rate * 100.0);
        }
        None => {
            let _ = writeln!(text, "  success rate: n/a (no finished Jobs)");
        }
    }
    let seconds = |value: Option<i64>| value.map(|seconds| format!("{seconds}s")).unwrap_or_else(|| "n/a".to_string());
    let _ = writeln!(
        text,
        "  duration: median {}, p95 {}",
        seconds(summary.median_duration_seconds),
        seconds(summary.p95_duration_seconds)
    );
    if !summary.failures_by_reason.is_empty() {
        let _ = writeln!(text, "Failures by reason:");
        for entry in &summary.failures_by_reason {
            let _ = writeln!(text, "  {:<28} {}", entry.reason.as_str(), entry.count);
        }
    }
    if !summary.most_failing.is_empty() {
        let _ = writeln!(text, "Jobs that failed most:");
        for entry in &summary.most_failing {
            let _ = writeln!(text, "  {:<40} {} (last: {})", entry.name, entry.failures, entry.last_reason);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn finished(name: &str, start: &str, end: &str, success: bool, cronjob: Option<&str>) -> Job {
        let mut value = json!({
            "metadata": {"name": name, "namespace": "team-a"},
            "status": {"startTime": start}
        });
        if success {
            value["status"]["completionTime"] = json!(end);
        } else {
            value["status"]["conditions"] = json!([{"type": "Failed", "status": "True", "lastTransitionTime": end}]);
        }
        if let Some(owner) = cronjob {
            value["metadata"]["ownerReferences"] = json!([{"apiVersion": "batch/v1", "kind": "CronJob", "name": owner, "uid": "u"}]);
        }
        serde_json::from_value(value).unwrap()
    }

    fn finding(state: State, reason: Reason) -> Finding {
        Finding::new(state, reason, String::new())
    }

    #[test]
    fn window_units() {
        assert_eq!(parse_window("90s").unwrap().as_secs(), 90);
        assert_eq!(parse_window("24h").unwrap().as_secs(), 86_400);
        assert_eq!(parse_window("7d").unwrap().as_secs(), 604_800);
        assert!(parse_window("24").is_err());
        assert!(parse_window("0h").is_err());
        assert!(parse_window("h").is_err());
    }

    #[test]
    fn percentile_nearest_rank() {
        let values: Vec<i64> = (1..=20).collect();
        assert_eq!(percentile(&values, 50), Some(10));
        assert_eq!(percentile(&values, 95), Some(19));
        assert_eq!(percentile(&[], 50), None);
        assert_eq!(percentile(&[7], 95), Some(7));
    }

    #[test]
    fn summary_counts_rates_and_groups() {
        let since = at("2025-03-10T00:00:00Z");
        let classified = vec![
            (finished("a-1", "2025-03-10T01:00:00Z", "2025-03-10T01:01:40Z", true, Some("nightly")), finding(State::Succeeded, Reason::Succeeded)),
            (finished("a-2", "2025-03-10T02:00:00Z", "2025-03-10T02:05:00Z", false, Some("nightly")), finding(State::Failed, Reason::OOMKilled)),
            (finished("a-3", "2025-03-10T03:00:00Z", "2025-03-10T03:05:00Z", false, Some("nightly")), finding(State::Failed, Reason::NonZeroExit)),
            (finished("b-1", "2025-03-10T04:00:00Z", "2025-03-10T04:00:10Z", false, None), finding(State::Failed, Reason::OOMKilled)),
            // Finished before the window: left out.
            (finished("old", "2025-03-01T00:00:00Z", "2025-03-01T00:10:00Z", false, None), finding(State::Failed, Reason::OOMKilled)),
        ];
        let summary = summarize("team-a", &classified, since);
        assert_eq!(summary.jobs, 4);
        assert_eq!(summary.succeeded, 1);
        assert_eq!(summary.failed, 3);
        assert_eq!(summary.success_rate, Some(0.25));
        assert_eq!(summary.failures_by_reason[0], ReasonCount { reason: Reason::OOMKilled, count: 2 });
        assert_eq!(summary.median_duration_seconds, Some(100));
        assert_eq!(summary.p95_duration_seconds, Some(300));
        assert_eq!(summary.most_failing[0], FailingJob { name: "nightly".into(), failures: 2, last_reason: Reason::NonZeroExit });
    }
}
