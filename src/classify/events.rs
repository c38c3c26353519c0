//! Reading Kubernetes Events in both of their shapes and deciding which ones concern a Job.
//!
//! A core/v1 Event written by an old-style recorder carries `count`, `firstTimestamp` and
//! `lastTimestamp`. One written through events.k8s.io carries `eventTime` and, once it repeats,
//! `series.count` and `series.lastObservedTime`, with the old fields left empty.

use jiff::Timestamp;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Event, Pod};

/// The object an Event is about, once matched to the Job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target<'a> {
    /// The Job itself.
    Job,
    /// A pod of the Job, by name. The pod may no longer exist.
    Pod(&'a str),
}

/// One Event, normalized across both shapes.
#[derive(Clone, Debug)]
pub(crate) struct EventView<'a> {
    pub reason: &'a str,
    pub message: &'a str,
    pub warning: bool,
    /// How many times the Event was seen, at least 1.
    pub count: i32,
    /// When the Event was first seen.
    pub first: Option<Timestamp>,
    /// When the Event was last seen.
    pub last: Option<Timestamp>,
    pub target: Target<'a>,
    /// The container named by `involvedObject.fieldPath`, such as `spec.containers{ingest}`.
    pub container: Option<&'a str>,
    /// True when `fieldPath` names an init container.
    pub init_container: bool,
    /// The node that reported the Event, when a kubelet did.
    pub host: Option<&'a str>,
}

impl EventView<'_> {
    /// Returns the pod name when the Event is about a pod.
    pub fn pod(&self) -> Option<&str> {
        match self.target {
            Target::Pod(name) => Some(name),
            Target::Job => None,
        }
    }

    /// Returns true when the Event is about the pod `name`.
    pub fn is_about_pod(&self, name: &str) -> bool {
        self.pod() == Some(name)
    }

    /// Returns true when the Event concerns `container`, or names no container at all.
    pub fn concerns_container(&self, container: &str) -> bool {
        self.container.is_none_or(|named| named == container)
    }
}

/// Returns how many times the Event was seen: `series.count`, else `count`, else 1.
pub(crate) fn event_count(event: &Event) -> i32 {
    let series_count = event.series.as_ref().and_then(|series| series.count);
    series_count.or(event.count).unwrap_or(1).max(1)
}

/// Returns when the Event was first seen: `firstTimestamp`, else `eventTime`, else the creation time.
pub(crate) fn event_first_time(event: &Event) -> Option<Timestamp> {
    event
        .first_timestamp
        .as_ref()
        .map(|time| time.0)
        .or_else(|| event.event_time.as_ref().map(|time| time.0))
        .or_else(|| event.metadata.creation_timestamp.as_ref().map(|time| time.0))
}

/// Returns when the Event was last seen: the latest of `series.lastObservedTime`,
/// `lastTimestamp`, `eventTime` and `firstTimestamp`, else the creation time.
pub(crate) fn event_last_time(event: &Event) -> Option<Timestamp> {
    let candidates = [
        event.series.as_ref().and_then(|series| series.last_observed_time.as_ref()).map(|time| time.0),
        event.last_timestamp.as_ref().map(|time| time.0),
        event.event_time.as_ref().map(|time| time.0),
        event.first_timestamp.as_ref().map(|time| time.0),
    ];
    candidates
        .into_iter()
        .flatten()
        .max()
        .or_else(|| event.metadata.creation_timestamp.as_ref().map(|time| time.0))
}

/// Returns the container named by a field path such as `spec.containers{ingest}`, with true when
/// it is an init container.
pub(crate) fn container_from_field_path(field_path: &str) -> Option<(&str, bool)> {
    let (init, rest) = if let Some(rest) = field_path.strip_prefix("spec.initContainers{") {
        (true, rest)
    } else if let Some(rest) = field_path.strip_prefix("spec.containers{") {
        (false, rest)
    } else {
        return None;
    };
    let name = rest.strip_suffix('}')?;
    if name.is_empty() { None } else { Some((name, init)) }
}

/// Returns the pod name in a job-controller message such as "Created pod: NAME" or
/// "Deleted pod: NAME".
pub(crate) fn pod_name_in_job_message(message: &str) -> Option<&str> {
    let rest = message
        .strip_prefix("Created pod: ")
        .or_else(|| message.strip_prefix("Deleted pod: "))?;
    let name = rest.split_whitespace().next()?;
    if name.is_empty() { None } else { Some(name) }
}

/// Returns the Events that concern `job` or one of its pods, normalized.
///
/// An Event about the Job must match its uid, or its name when the Event has no uid. An Event
/// about a pod must name a pod in `pods` (by uid or name), or a pod named in a job-controller
/// "Created pod:" or "Deleted pod:" Event. Failing those, a pod name that starts with the Job's
/// name and a dash matches, because the Job controller names its pods that way. Events in another namespace are ignored.
pub(crate) fn relevant_events<'a>(job: &Job, pods: &[&Pod], events: &'a [Event]) -> Vec<EventView<'a>> {
    let job_name = job.metadata.name.as_deref().unwrap_or("");
    let job_uid = job.metadata.uid.as_deref();
    let job_namespace = job.metadata.namespace.as_deref();

    let is_job_event = |event: &Event| -> bool {
        let object = &event.involved_object;
        if object.kind.as_deref() != Some("Job") || !same_namespace(job_namespace, object.namespace.as_deref()) {
            return false;
        }
        match (job_uid, object.uid.as_deref()) {
            (Some(expected), Some(actual)) if !actual.is_empty() => expected == actual,
            _ => !job_name.is_empty() && object.name.as_deref() == Some(job_name),
        }
    };

    // Pod names the Job controller reported creating or deleting, including pods now gone.
    let mut pod_names: Vec<&str> = pods.iter().filter_map(|pod| pod.metadata.name.as_deref()).collect();
    for event in events.iter().filter(|event| is_job_event(event)) {
        if let Some(name) = event.message.as_deref().and_then(pod_name_in_job_message) {
            pod_names.push(name);
        }
    }
    let pod_uids: Vec<&str> = pods.iter().filter_map(|pod| pod.metadata.uid.as_deref()).collect();
    let job_prefix = format!("{job_name}-");

    let pod_target = |event: &'a Event| -> Option<&'a str> {
        let object = &event.involved_object;
        if object.kind.as_deref() != Some("Pod") || !same_namespace(job_namespace, object.namespace.as_deref()) {
            return None;
        }
        let name = object.name.as_deref().filter(|name| !name.is_empty())?;
        let by_uid = object.uid.as_deref().is_some_and(|uid| pod_uids.contains(&uid));
        let by_name = pod_names.contains(&name);
        let by_prefix = !job_name.is_empty() && name.starts_with(&job_prefix);
        (by_uid || by_name || by_prefix).then_some(name)
    };

    let mut views = Vec::new();
    for event in events {
        let target = if is_job_event(event) {
            Target::Job
        } else if let Some(name) = pod_target(event) {
            Target::Pod(name)
        } else {
            continue;
        };
        views.push(view(event, target));
    }
    views
}

fn same_namespace(job_namespace: Option<&str>, event_namespace: Option<&str>) -> bool {
    match (job_namespace, event_namespace) {
        (Some(expected), Some(actual)) if !expected.is_empty() && !actual.is_empty() => expected == actual,
        _ => true,
    }
}

fn view<'a>(event: &'a Event, target: Target<'a>) -> EventView<'a> {
    let field = event
        .involved_object
        .field_path
        .as_deref()
        .and_then(container_from_field_path);
    let host = event
        .source
        .as_ref()
        .and_then(|source| source.host.as_deref())
        .or(match event.reporting_component.as_deref() {
            Some("kubelet") => event.reporting_instance.as_deref(),
            _ => None,
        })
        .filter(|host| !host.is_empty());
    EventView {
        reason: event.reason.as_deref().unwrap_or(""),
        message: event.message.as_deref().unwrap_or(""),
        warning: event.type_.as_deref() == Some("Warning"),
        count: event_count(event),
        first: event_first_time(event),
        last: event_last_time(event),
        target,
        container: field.map(|(name, _)| name),
        init_container: field.is_some_and(|(_, init)| init),
        host,
    }
}

/// Returns true when a kubelet Event reports a failed image pull, as opposed to the generic
/// "Error: ErrImagePull" and "Error: ImagePullBackOff" echoes.
pub(crate) fn is_pull_failure(event: &EventView<'_>) -> bool {
    event.reason == "Failed" && event.message.starts_with("Failed to pull image")
}

/// Returns true for the kubelet's "Back-off restarting failed container" Event.
pub(crate) fn is_restart_backoff(event: &EventView<'_>) -> bool {
    event.reason == "BackOff" && event.message.starts_with("Back-off restarting failed container")
}

/// Returns true for a kubelet Event saying it killed a container for a failed liveness probe.
pub(crate) fn is_liveness_kill(event: &EventView<'_>) -> bool {
    event.reason == "Killing" && event.message.contains("failed liveness probe")
}

/// Returns true for a kubelet Event reporting a failed liveness probe.
pub(crate) fn is_liveness_failure(event: &EventView<'_>) -> bool {
    event.reason == "Unhealthy" && event.message.starts_with("Liveness probe failed")
}

/// Returns true for Events that report a pod being evicted or preempted.
pub(crate) fn is_disruption(event: &EventView<'_>) -> bool {
    matches!(event.reason, "Evicted" | "Preempted" | "TaintManagerEviction" | "Preempting")
        || (event.reason == "Killing" && event.message.contains("preempt"))
}

/// Sums the counts of the Events matching `predicate`.
pub(crate) fn total_count<'a>(events: impl IntoIterator<Item = &'a EventView<'a>>, predicate: impl Fn(&EventView<'_>) -> bool) -> i64 {
    events
        .into_iter()
        .filter(|event| predicate(event))
        .map(|event| i64::from(event.count))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_event(yaml: &str) -> Event {
        serde_norway::from_str(yaml).expect("valid Event YAML")
    }

    fn job(name: &str, uid: &str) -> Job {
        let mut job = Job::default();
        job.metadata.name = Some(name.to_string());
        job.metadata.uid = Some(uid.to_string());
        job.metadata.namespace = Some("team-a".to_string());
        job
    }

    #[test]
    fn old_form_uses_count_and_timestamps() {
        let event = parse_event(
            r#"
involvedObject: {kind: Pod, name: p-1}
reason: BackOff
count: 5
firstTimestamp: "2025-06-25T07:00:09Z"
lastTimestamp: "2025-06-25T07:01:10Z"
eventTime: null
metadata: {name: e}
"#,
        );
        assert_eq!(event_count(&event), 5);
        assert_eq!(event_first_time(&event), Some("2025-06-25T07:00:09Z".parse().unwrap()));
        assert_eq!(event_last_time(&event), Some("2025-06-25T07:01:10Z".parse().unwrap()));
    }

    #[test]
    fn series_form_uses_series_count_and_last_observed() {
        let event = parse_event(
            r#"
involvedObject: {kind: Pod, name: p-1}
reason: FailedScheduling
eventTime: "2025-05-06T00:00:00.187322Z"
firstTimestamp: null
lastTimestamp: null
series: {count: 1530, lastObservedTime: "2025-05-07T02:05:12.904411Z"}
metadata: {name: e}
"#,
        );
        assert_eq!(event_count(&event), 1530);
        assert_eq!(event_first_time(&event), Some("2025-05-06T00:00:00.187322Z".parse().unwrap()));
        assert_eq!(event_last_time(&event), Some("2025-05-07T02:05:12.904411Z".parse().unwrap()));
    }

    #[test]
    fn single_event_time_counts_once() {
        let event = parse_event(
            r#"
involvedObject: {kind: Pod, name: p-1}
reason: Scheduled
eventTime: "2025-03-11T02:20:29.412055Z"
metadata: {name: e}
"#,
        );
        assert_eq!(event_count(&event), 1);
        assert_eq!(event_last_time(&event), Some("2025-03-11T02:20:29.412055Z".parse().unwrap()));
    }

    #[test]
    fn field_path_names_container() {
        assert_eq!(container_from_field_path("spec.containers{ingest}"), Some(("ingest", false)));
        assert_eq!(container_from_field_path("spec.initContainers{setup}"), Some(("setup", true)));
        assert_eq!(container_from_field_path("spec.containers{}"), None);
        assert_eq!(container_from_field_path("metadata.name"), None);
    }

    #[test]
    fn job_message_names_pod() {
        assert_eq!(pod_name_in_job_message("Created pod: job-abc"), Some("job-abc"));
        assert_eq!(pod_name_in_job_message("Deleted pod: job-abc"), Some("job-abc"));
        assert_eq!(pod_name_in_job_message("Job completed"), None);
    }

    #[test]
    fn relevant_events_keep_job_and_its_pods_only() {
        let job = job("migrate", "uid-1");
        let events = vec![
            parse_event("involvedObject: {kind: Job, name: migrate, uid: uid-1, namespace: team-a}\nreason: SuccessfulCreate\nmessage: 'Created pod: other-name'\nmetadata: {name: a}"),
            parse_event("involvedObject: {kind: Job, name: migrate, uid: uid-2, namespace: team-a}\nreason: SuccessfulCreate\nmetadata: {name: b}"),
            parse_event("involvedObject: {kind: Pod, name: other-name, namespace: team-a}\nreason: Started\nmetadata: {name: c}"),
            parse_event("involvedObject: {kind: Pod, name: migrate-x1, namespace: team-a}\nreason: Started\nmetadata: {name: d}"),
            parse_event("involvedObject: {kind: Pod, name: unrelated, namespace: team-a}\nreason: Started\nmetadata: {name: e}"),
            parse_event("involvedObject: {kind: Pod, name: migrate-x2, namespace: team-b}\nreason: Started\nmetadata: {name: f}"),
        ];
        let views = relevant_events(&job, &[], &events);
        let targets: Vec<Target<'_>> = views.iter().map(|view| view.target).collect();
        assert_eq!(targets, vec![Target::Job, Target::Pod("other-name"), Target::Pod("migrate-x1")]);
    }
}
