//! Facts read from one pod: container states, conditions, disruption and completion index.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{
    Container, ContainerStateTerminated, ContainerStateWaiting, ContainerStatus, Pod, PodCondition,
};

/// Annotation, and label, carrying an Indexed Job pod's completion index.
pub(crate) const COMPLETION_INDEX_KEY: &str = "batch.kubernetes.io/job-completion-index";

/// Exit code of a process killed by SIGKILL: the OOM killer, the kubelet or the runtime.
pub(crate) const EXIT_SIGKILL: i32 = 137;
/// Exit code of a process that ended on SIGTERM.
pub(crate) const EXIT_SIGTERM: i32 = 143;

/// Pod `status.reason` values the kubelet sets when it rejects or ends a pod for node reasons.
const NODE_FAILURE_REASONS: [&str; 7] = [
    "Evicted",
    "Preempting",
    "Shutdown",
    "NodeShutdown",
    "Terminated",
    "NodeLost",
    "UnexpectedAdmissionError",
];

pub(crate) fn name(pod: &Pod) -> &str {
    pod.metadata.name.as_deref().unwrap_or("<unnamed>")
}

pub(crate) fn phase(pod: &Pod) -> &str {
    pod.status.as_ref().and_then(|status| status.phase.as_deref()).unwrap_or("")
}

pub(crate) fn node(pod: &Pod) -> Option<&str> {
    pod.spec.as_ref().and_then(|spec| spec.node_name.as_deref()).filter(|node| !node.is_empty())
}

/// Returns true when the pod reached phase Succeeded or Failed.
pub(crate) fn is_finished(pod: &Pod) -> bool {
    matches!(phase(pod), "Succeeded" | "Failed")
}

pub(crate) fn creation_time(pod: &Pod) -> Option<Timestamp> {
    pod.metadata.creation_timestamp.as_ref().map(|time| time.0)
}

/// Returns the pod's condition of `type_`, whatever its status.
pub(crate) fn condition<'a>(pod: &'a Pod, type_: &str) -> Option<&'a PodCondition> {
    pod.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|condition| condition.type_ == type_)
}

/// One container status with where it sits in the pod.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ContainerRef<'a> {
    pub pod: &'a Pod,
    pub status: &'a ContainerStatus,
    pub init: bool,
    /// An init container with restartPolicy Always, which runs beside the main containers.
    pub native_sidecar: bool,
}

impl<'a> ContainerRef<'a> {
    pub fn name(&self) -> &'a str {
        &self.status.name
    }

    pub fn terminated(&self) -> Option<&'a ContainerStateTerminated> {
        self.status.state.as_ref()?.terminated.as_ref()
    }

    pub fn last_terminated(&self) -> Option<&'a ContainerStateTerminated> {
        self.status.last_state.as_ref()?.terminated.as_ref()
    }

    pub fn waiting(&self) -> Option<&'a ContainerStateWaiting> {
        self.status.state.as_ref()?.waiting.as_ref()
    }

    pub fn is_running(&self) -> bool {
        self.status.state.as_ref().is_some_and(|state| state.running.is_some())
    }

    /// Returns the container's spec in the pod.
    pub fn spec(&self) -> Option<&'a Container> {
        container_spec(self.pod, self.name())
    }
}

/// Returns the container named `name` in the pod's spec, regular or init.
pub(crate) fn container_spec<'a>(pod: &'a Pod, name: &str) -> Option<&'a Container> {
    let spec = pod.spec.as_ref()?;
    spec.containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .find(|container| container.name == name)
}

/// Returns the pod's container statuses: init containers first, then regular ones.
pub(crate) fn containers(pod: &Pod) -> Vec<ContainerRef<'_>> {
    let Some(status) = pod.status.as_ref() else {
        return Vec::new();
    };
    let init = status.init_container_statuses.iter().flatten().map(|container| ContainerRef {
        pod,
        status: container,
        init: true,
        native_sidecar: is_native_sidecar(pod, &container.name),
    });
    let regular = status.container_statuses.iter().flatten().map(|container| ContainerRef {
        pod,
        status: container,
        init: false,
        native_sidecar: false,
    });
    init.chain(regular).collect()
}

/// Returns true when `name` is an init container with restartPolicy Always (a native sidecar).
pub(crate) fn is_native_sidecar(pod: &Pod, name: &str) -> bool {
    pod.spec
        .as_ref()
        .and_then(|spec| spec.init_containers.as_ref())
        .into_iter()
        .flatten()
        .any(|container| container.name == name && container.restart_policy.as_deref() == Some("Always"))
}

/// Returns true when a termination counts as a failure: a non-zero exit, or an OOM kill.
pub(crate) fn is_failure(terminated: &ContainerStateTerminated) -> bool {
    terminated.exit_code != 0 || is_oom(terminated)
}

/// Returns true only when the kernel's memory cgroup killed the container. Exit code 137 alone
/// means SIGKILL from anyone (the kubelet after a grace period, a liveness probe, the runtime).
pub(crate) fn is_oom(terminated: &ContainerStateTerminated) -> bool {
    terminated.reason.as_deref() == Some("OOMKilled")
}

/// Returns the name of the signal behind a shell-style exit code, for messages.
pub(crate) fn signal_name(exit_code: i32) -> Option<&'static str> {
    match exit_code {
        EXIT_SIGKILL => Some("SIGKILL"),
        EXIT_SIGTERM => Some("SIGTERM"),
        130 => Some("SIGINT"),
        134 => Some("SIGABRT"),
        139 => Some("SIGSEGV"),
        _ => None,
    }
}

/// Returns the disruption that ended or is ending the pod, as (reason, message): a
/// DisruptionTarget condition, or a node-related `status.reason` such as Evicted.
pub(crate) fn disruption(pod: &Pod) -> Option<(&str, &str)> {
    if let Some(condition) = condition(pod, "DisruptionTarget").filter(|condition| condition.status == "True") {
        return Some((
            condition.reason.as_deref().unwrap_or("DisruptionTarget"),
            condition.message.as_deref().unwrap_or(""),
        ));
    }
    let status = pod.status.as_ref()?;
    let reason = status.reason.as_deref()?;
    let node_failure = NODE_FAILURE_REASONS.contains(&reason) || reason.starts_with("OutOf");
    node_failure.then(|| (reason, status.message.as_deref().unwrap_or("")))
}

/// Returns the pod's completion index from its annotation, else its label.
pub(crate) fn completion_index(pod: &Pod) -> Option<i32> {
    let annotation = pod.metadata.annotations.as_ref().and_then(|map| map.get(COMPLETION_INDEX_KEY));
    let label = pod.metadata.labels.as_ref().and_then(|map| map.get(COMPLETION_INDEX_KEY));
    annotation.or(label)?.trim().parse().ok()
}

/// Returns the memory limit of `container` in the pod, as written (for example "2Gi").
pub(crate) fn memory_limit(container: &Container) -> Option<&str> {
    let limits = container.resources.as_ref()?.limits.as_ref()?;
    limits.get("memory").map(|quantity| quantity.0.as_str())
}

/// Returns how many times the pod's containers were restarted in place, summed over
/// containers. Native sidecars are left out: they restart by design.
pub(crate) fn restart_count(pod: &Pod) -> i64 {
    containers(pod)
        .iter()
        .filter(|container| !container.native_sidecar)
        .map(|container| i64::from(container.status.restart_count.max(0)))
        .sum()
}

/// Returns the latest time the pod recorded: container starts and finishes, condition
/// transitions, its start time and creation.
pub(crate) fn latest_activity(pod: &Pod) -> Option<Timestamp> {
    let mut times: Vec<Timestamp> = Vec::new();
    times.extend(creation_time(pod));
    if let Some(status) = pod.status.as_ref() {
        times.extend(status.start_time.as_ref().map(|time| time.0));
        for condition in status.conditions.iter().flatten() {
            times.extend(condition.last_transition_time.as_ref().map(|time| time.0));
        }
    }
    for container in containers(pod) {
        for state in [container.status.state.as_ref(), container.status.last_state.as_ref()].into_iter().flatten() {
            if let Some(running) = state.running.as_ref() {
                times.extend(running.started_at.as_ref().map(|time| time.0));
            }
            if let Some(terminated) = state.terminated.as_ref() {
                times.extend(terminated.started_at.as_ref().map(|time| time.0));
                times.extend(terminated.finished_at.as_ref().map(|time| time.0));
            }
        }
    }
    times.into_iter().max()
}

/// Returns the last non-empty line of a termination message, which is usually the error.
pub(crate) fn last_line(message: &str) -> &str {
    message
        .lines()
        .map(str::trim)
        .rfind(|line| !line.is_empty())
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(yaml: &str) -> Pod {
        serde_norway::from_str(yaml).expect("valid Pod YAML")
    }

    fn terminated(exit_code: i32, reason: &str) -> ContainerStateTerminated {
        ContainerStateTerminated {
            exit_code,
            reason: Some(reason.to_string()),
            ..Default::default()
        }
    }

    #[test]
    fn exit_137_without_oom_reason_is_not_oom() {
        assert!(!is_oom(&terminated(137, "Error")));
        assert!(is_failure(&terminated(137, "Error")));
    }

    #[test]
    fn oom_reason_is_oom_whatever_the_code() {
        assert!(is_oom(&terminated(137, "OOMKilled")));
        assert!(is_failure(&terminated(0, "OOMKilled")));
    }

    #[test]
    fn exit_zero_completed_is_not_failure() {
        assert!(!is_failure(&terminated(0, "Completed")));
    }

    #[test]
    fn restart_count_sums_containers_but_not_native_sidecars() {
        let pod = pod(r#"
metadata: {name: p}
spec:
  restartPolicy: OnFailure
  initContainers:
  - {name: proxy, restartPolicy: Always}
  containers:
  - {name: main}
  - {name: helper}
status:
  initContainerStatuses:
  - {name: proxy, image: i, imageID: "", ready: true, restartCount: 7}
  containerStatuses:
  - {name: main, image: i, imageID: "", ready: false, restartCount: 3}
  - {name: helper, image: i, imageID: "", ready: false, restartCount: 1}
"#);
        assert_eq!(restart_count(&pod), 4);
    }

    #[test]
    fn restart_count_ignores_negative_counts() {
        let pod = pod(r#"
metadata: {name: p}
status:
  containerStatuses:
  - {name: main, image: i, imageID: "", ready: false, restartCount: -4}
"#);
        assert_eq!(restart_count(&pod), 0);
    }

    #[test]
    fn completion_index_reads_annotation_then_label() {
        let annotated = pod("metadata: {name: p, annotations: {batch.kubernetes.io/job-completion-index: '2'}}");
        let labelled = pod("metadata: {name: p, labels: {batch.kubernetes.io/job-completion-index: '5'}}");
        let garbled = pod("metadata: {name: p, labels: {batch.kubernetes.io/job-completion-index: 'x'}}");
        assert_eq!(completion_index(&annotated), Some(2));
        assert_eq!(completion_index(&labelled), Some(5));
        assert_eq!(completion_index(&garbled), None);
    }

    #[test]
    fn disruption_reads_condition_and_eviction() {
        let evicted = pod("metadata: {name: p}\nstatus: {phase: Failed, reason: Evicted, message: 'The node was low on resource: memory.'}");
        let preempted = pod(r#"
metadata: {name: p}
status:
  conditions:
  - {type: DisruptionTarget, status: "True", reason: PreemptionByScheduler, message: "preempted by team-b/big"}
"#);
        assert_eq!(disruption(&evicted).map(|(reason, _)| reason), Some("Evicted"));
        assert_eq!(disruption(&preempted).map(|(reason, _)| reason), Some("PreemptionByScheduler"));
        assert_eq!(disruption(&pod("metadata: {name: p}")), None);
    }

    #[test]
    fn last_line_skips_trailing_blank_lines() {
        assert_eq!(last_line("INFO start\nERROR input object not found\n\n"), "ERROR input object not found");
        assert_eq!(last_line(""), "");
    }
}
