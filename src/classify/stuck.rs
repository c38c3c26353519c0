//! Active Jobs that cannot progress: pods that cannot start, pods that cannot be created,
//! sidecars that keep a finished pod running, and deletions held by finalizers.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;

use super::Diagnosis;
use super::advice::{container_field, is_permanent_pull_error, one_line, plural};
use super::context::{Context, Recheck};
use super::events::{self, EventView};
use super::evidence::{self, EvidenceList, Rank};
use super::pods::{self, ContainerRef};
use crate::finding::Reason;

/// Containers that service meshes and proxies inject as regular containers and that run until
/// killed. Matched by name when the pod template is not available to compare against.
const KNOWN_SIDECARS: [&str; 5] = ["istio-proxy", "linkerd-proxy", "cloud-sql-proxy", "vault-agent", "consul-dataplane"];

/// Pod annotation in which Istio lists the containers it injected.
const ISTIO_STATUS_ANNOTATION: &str = "sidecar.istio.io/status";

/// A cause that keeps one pod from running.
pub(crate) struct Blocker<'a> {
    /// Unschedulable, InvalidImageName, ImagePullBackOff, ImagePullTransient,
    /// CreateContainerConfigError, VolumeMountFailed, or Pending when no cause is reported.
    pub reason: Reason,
    pub pod: &'a Pod,
    pub container: Option<ContainerRef<'a>>,
    /// The kubelet's or scheduler's report, on one line.
    pub detail: String,
    pub evidence: EvidenceList,
    /// When the blocking condition was first seen.
    pub since: Option<Timestamp>,
}

impl Blocker<'_> {
    /// Orders blockers by how certainly they need a change; lower is reported first.
    fn severity(&self) -> u8 {
        match self.reason {
            Reason::InvalidImageName => 0,
            Reason::ImagePullBackOff => 1,
            Reason::CreateContainerConfigError => 2,
            Reason::Unschedulable => 3,
            Reason::VolumeMountFailed => 4,
            Reason::ImagePullTransient => 5,
            _ => 6,
        }
    }
}

/// Returns what keeps `pod` from running, or None when it is running or finished.
pub(crate) fn pod_blocker<'a>(ctx: &Context<'a>, pod: &'a Pod) -> Option<Blocker<'a>> {
    if pods::is_finished(pod) {
        return None;
    }
    let pod_name = pods::name(pod);
    if let Some(blocker) = unschedulable(ctx, pod) {
        return Some(blocker);
    }

    let containers = pods::containers(pod);
    for container in &containers {
        let Some(waiting) = container.waiting() else {
            continue;
        };
        let waiting_reason = waiting.reason.as_deref().unwrap_or("");
        let waiting_message = one_line(waiting.message.as_deref().unwrap_or(""));
        let mut list = EvidenceList::default();
        list.push(Rank::Primary, evidence::waiting(container));
        let container_events = || {
            ctx.pod_events(pod_name)
                .filter(move |event| event.concerns_container(container.name()))
        };
        match waiting_reason {
            "InvalidImageName" => {
                for event in container_events().filter(|event| event.warning) {
                    list.push(Rank::Key, evidence::event(event));
                }
                return Some(Blocker {
                    reason: Reason::InvalidImageName,
                    pod,
                    container: Some(*container),
                    detail: waiting_message,
                    evidence: list,
                    since: pods::creation_time(pod),
                });
            }
            "ErrImagePull" | "ImagePullBackOff" | "ErrImageNeverPull" | "RegistryUnavailable" | "SignatureValidationFailed" => {
                let failures: Vec<&EventView<'_>> = container_events().filter(|event| events::is_pull_failure(event)).collect();
                for event in &failures {
                    list.push(Rank::Key, evidence::event(event));
                }
                for event in container_events().filter(|event| event.warning && !events::is_pull_failure(event)) {
                    list.push(Rank::Context, evidence::event(event));
                }
                let latest = failures.iter().max_by_key(|event| event.last);
                let detail = latest.map(|event| one_line(event.message)).unwrap_or(waiting_message);
                let since = failures
                    .iter()
                    .filter_map(|event| event.first)
                    .min()
                    .or_else(|| pod.status.as_ref().and_then(|status| status.start_time.as_ref()).map(|time| time.0))
                    .or_else(|| pods::creation_time(pod));
                let permanent = matches!(waiting_reason, "ErrImageNeverPull" | "SignatureValidationFailed")
                    || is_permanent_pull_error(&detail);
                // NOTE: an error that is neither clearly permanent nor transient is treated as
                // transient until image_pull_seconds have passed since the first failure.
                let young = since.is_some_and(|since| ctx.seconds_since(since) < ctx.thresholds.image_pull_seconds);
                let reason = if permanent || !young { Reason::ImagePullBackOff } else { Reason::ImagePullTransient };
                return Some(Blocker { reason, pod, container: Some(*container), detail, evidence: list, since });
            }
            "CreateContainerConfigError" | "CreateContainerError" => {
                // NOTE: CreateContainerError (the runtime failed to create the container, for
                // example a name clash or a bad mount) is reported as CreateContainerConfigError,
                // the closest reason in the closed set, and the message distinguishes them.
                for event in container_events().filter(|event| event.warning) {
                    list.push(Rank::Key, evidence::event(event));
                }
                return Some(Blocker {
                    reason: Reason::CreateContainerConfigError,
                    pod,
                    container: Some(*container),
                    detail: waiting_message,
                    evidence: list,
                    since: pods::creation_time(pod),
                });
            }
            _ => {}
        }
    }

    let mount_events: Vec<&EventView<'_>> = ctx
        .pod_events(pod_name)
        .filter(|event| matches!(event.reason, "FailedMount" | "FailedAttachVolume" | "FailedMapVolume"))
        .collect();
    let creating = containers.iter().all(|container| {
        container
            .waiting()
            .is_some_and(|waiting| matches!(waiting.reason.as_deref(), Some("ContainerCreating" | "PodInitializing")))
    });
    if !mount_events.is_empty() && creating {
        let mut list = EvidenceList::default();
        list.extend(Rank::Primary, mount_events.iter().map(|event| evidence::event(event)));
        list.extend(Rank::Key, containers.iter().map(evidence::waiting));
        let latest = mount_events.iter().max_by_key(|event| event.last)?;
        return Some(Blocker {
            reason: Reason::VolumeMountFailed,
            pod,
            container: None,
            detail: format!("{} x{}: {}", latest.reason, latest.count, one_line(latest.message)),
            evidence: list,
            since: mount_events.iter().filter_map(|event| event.first).min().or_else(|| pods::creation_time(pod)),
        });
    }

    let running = containers.iter().any(|container| container.is_running());
    let pending = matches!(pods::phase(pod), "Pending" | "");
    if pending && !running {
        let mut list = EvidenceList::default();
        list.extend(Rank::Primary, containers.iter().filter(|c| c.waiting().is_some()).map(evidence::waiting));
        let waiting = containers
            .iter()
            .find_map(|container| container.waiting().and_then(|waiting| waiting.reason.as_deref()))
            .unwrap_or("Pending");
        return Some(Blocker {
            reason: Reason::Pending,
            pod,
            container: None,
            detail: waiting.to_string(),
            evidence: list,
            since: pods::creation_time(pod),
        });
    }
    None
}

fn unschedulable<'a>(ctx: &Context<'a>, pod: &'a Pod) -> Option<Blocker<'a>> {
    let pod_name = pods::name(pod);
    let condition = pods::condition(pod, "PodScheduled")
        .filter(|condition| condition.status == "False" && condition.reason.as_deref() == Some("Unschedulable"));
    let scheduling_events: Vec<&EventView<'_>> = ctx
        .pod_events(pod_name)
        .filter(|event| event.reason == "FailedScheduling")
        .collect();
    let bound = pods::node(pod).is_some();
    if condition.is_none() && (bound || scheduling_events.is_empty()) {
        return None;
    }

    let mut list = EvidenceList::default();
    if let Some(condition) = condition {
        list.push(Rank::Primary, evidence::pod_condition(pod, condition));
    }
    list.extend(Rank::Key, scheduling_events.iter().map(|event| evidence::event(event)));
    for event in ctx.pod_events(pod_name).filter(|event| matches!(event.reason, "NotTriggerScaleUp" | "TriggeredScaleUp" | "FailedScaleUp")) {
        list.push(Rank::Key, evidence::event(event));
    }

    let latest_event = scheduling_events.iter().max_by_key(|event| event.last);
    let scheduler_message = condition
        .and_then(|condition| condition.message.as_deref())
        .map(one_line)
        .or_else(|| latest_event.map(|event| one_line(event.message)))
        .unwrap_or_default();
    let attempts = scheduling_events
        .iter()
        .map(|event| i64::from(event.count))
        .sum::<i64>();
    let detail = if attempts > 0 {
        format!("{scheduler_message} (FailedScheduling x{attempts})")
    } else {
        scheduler_message
    };
    let since = condition
        .and_then(|condition| condition.last_transition_time.as_ref())
        .map(|time| time.0)
        .or_else(|| scheduling_events.iter().filter_map(|event| event.first).min())
        .or_else(|| pods::creation_time(pod));
    Some(Blocker { reason: Reason::Unschedulable, pod, container: None, detail, evidence: list, since })
}

/// Returns the message and advice for a blocked pod.
pub(crate) fn describe_blocker(blocker: &Blocker<'_>) -> (String, Option<String>) {
    let pod_name = pods::name(blocker.pod);
    let container = blocker.container.map(|container| container.name()).unwrap_or("?");
    let image = blocker
        .container
        .and_then(|container| container.spec())
        .and_then(|spec| spec.image.as_deref())
        .or_else(|| blocker.container.map(|container| container.status.image.as_str()))
        .unwrap_or("");
    // A start time rather than an age, so the message stays the same from one pass to the
    // next and the JobHealth is not rewritten on every reconcile.
    let age = blocker.since.map(|since| format!(" since {since}")).unwrap_or_default();
    let detail = &blocker.detail;
    let message = match blocker.reason {
        Reason::Unschedulable => format!("pod {pod_name} cannot be scheduled{age}: {detail}"),
        Reason::InvalidImageName => format!(
            "container \"{container}\" of pod {pod_name} has an invalid image reference \"{image}\"{}: {detail}",
            template_hint(image)
        ),
        Reason::ImagePullBackOff => format!(
            "pod {pod_name} cannot pull image \"{image}\" for container \"{container}\"{age}: {}",
            shorten_pull_error(detail, PULL_ERROR_CHARS)
        ),
        Reason::ImagePullTransient => format!(
            "pod {pod_name} is retrying the pull of image \"{image}\" for container \"{container}\"{age}: {}",
            shorten_pull_error(detail, PULL_ERROR_CHARS)
        ),
        Reason::CreateContainerConfigError => format!("container \"{container}\" of pod {pod_name} cannot be created{age}: {detail}"),
        Reason::VolumeMountFailed => format!("pod {pod_name} has been waiting to mount its volumes{age}: {detail}"),
        _ => format!("pod {pod_name} has been Pending{age} ({detail}) with no reported cause"),
    };
    let container_ref = blocker.container.map(|container| (container.name(), container.init));
    (message, blocker_advice(blocker.reason, container_ref, image))
}

/// Maximum length of a pull error in a message. The kubelet's pull errors repeat the image
/// reference several times, and the cause ("not found", "toomanyrequests") is at the end.
const PULL_ERROR_CHARS: usize = 200;

/// Returns the end of a pull error: the "Failed to pull image" prefix is dropped because the
/// message names the image already, and a long rest keeps its last `max` characters.
fn shorten_pull_error(text: &str, max: usize) -> String {
    let rest = match text.strip_prefix("Failed to pull image \"").and_then(|rest| rest.split_once("\": ")) {
        Some((_, rest)) => rest,
        None => text,
    };
    let count = rest.chars().count();
    if count <= max {
        return rest.to_string();
    }
    let tail: String = rest.chars().skip(count - max).collect();
    format!("…{tail}")
}

fn template_hint(image: &str) -> &'static str {
    if image.contains("${") || image.contains("{{") {
        "; it contains an unrendered template variable"
    } else {
        ""
    }
}

/// Returns the advice for a pod blocked by `reason`, naming the field to change. `container`
/// is the container concerned with true for an init container, when known.
pub(crate) fn blocker_advice(reason: Reason, container: Option<(&str, bool)>, image: &str) -> Option<String> {
    let field = match container {
        Some((name, init)) => container_field(name, init),
        None => "spec.template.spec.containers[*]".to_string(),
    };
    let advice = match reason {
        Reason::Unschedulable => "lower spec.template.spec.containers[*].resources.requests, or relax spec.template.spec.affinity, nodeSelector or tolerations so a node fits, or add nodes that match".to_string(),
        Reason::InvalidImageName => format!("set {field}.image to a valid image reference{}", template_hint(image)),
        Reason::ImagePullBackOff => {
            let current = if image.is_empty() { String::new() } else { format!(" (\"{image}\")") };
            format!("fix {field}.image{current}: the image or tag does not exist or access is denied; check the tag and spec.template.spec.imagePullSecrets")
        }
        Reason::ImagePullTransient => format!(
            "nothing to change yet: the kubelet retries the pull; if it keeps failing, check the registry's rate limits and reachability, or point {field}.image at a mirror"
        ),
        Reason::CreateContainerConfigError => format!(
            "create the Secret, ConfigMap or key named in the message, or fix {field}.env / envFrom; the kubelet retries, so the same pod starts once it exists"
        ),
        Reason::VolumeMountFailed => "create the missing Secret, ConfigMap or PersistentVolumeClaim named in the message, or fix spec.template.spec.volumes; for attach errors check the storage driver".to_string(),
        _ => return None,
    };
    Some(advice)
}

/// Diagnoses the most severe blocked pod among the live pods. Unschedulable, image and
/// configuration errors count at once. A failing volume mount counts after `pending_seconds`.
/// A pull error that may pass counts, as ImagePullTransient, only when `transient` is true.
pub(crate) fn blocked(ctx: &Context<'_>, recheck: &mut Recheck, transient: bool) -> Option<Diagnosis> {
    let mut chosen: Option<Blocker<'_>> = None;
    for pod in ctx.live_pods() {
        let Some(blocker) = pod_blocker(ctx, pod) else {
            continue;
        };
        let counts = match blocker.reason {
            Reason::ImagePullTransient => {
                if let Some(since) = blocker.since {
                    recheck.after(ctx.seconds_until(since, ctx.thresholds.image_pull_seconds));
                }
                transient
            }
            Reason::VolumeMountFailed => {
                let created = pods::creation_time(pod).or(blocker.since);
                let age = created.map(|created| ctx.seconds_since(created)).unwrap_or(0);
                if age < ctx.thresholds.pending_seconds {
                    recheck.after(ctx.thresholds.pending_seconds - age);
                    false
                } else {
                    true
                }
            }
            Reason::Pending => false,
            _ => true,
        };
        let better = chosen.as_ref().is_none_or(|current| blocker.severity() < current.severity());
        if counts && better {
            chosen = Some(blocker);
        }
    }
    let blocker = chosen?;
    let (message, advice) = describe_blocker(&blocker);
    let mut diagnosis = Diagnosis::new(blocker.reason, message);
    diagnosis.advice = advice;
    diagnosis.evidence = blocker.evidence;
    Some(diagnosis)
}

/// Diagnoses a Job whose controller cannot create pods: no live pod and a FailedCreate Event
/// newer than the last successful create.
pub(crate) fn pod_creation_failed(ctx: &Context<'_>) -> Option<Diagnosis> {
    if ctx.live_pods().next().is_some() {
        return None;
    }
    let failures: Vec<&EventView<'_>> = ctx.job_events().filter(|event| event.reason == "FailedCreate").collect();
    let latest = failures.iter().max_by_key(|event| event.last)?;
    let last_created = ctx
        .job_events()
        .filter(|event| event.reason == "SuccessfulCreate")
        .filter_map(|event| event.last)
        .max();
    if last_created.is_some() && last_created > latest.last {
        return None;
    }

    let count: i64 = failures.iter().map(|event| i64::from(event.count)).sum();
    let detail = one_line(latest.message);
    let message = format!("the Job controller cannot create pods (FailedCreate x{count}): {detail}");
    let lower = detail.to_lowercase();
    let advice = if lower.contains("exceeded quota") {
        "lower spec.template.spec.containers[*].resources requests and limits, or raise the namespace ResourceQuota named in the message"
    } else if lower.contains("serviceaccount") {
        "create the ServiceAccount named in the message, or fix spec.template.spec.serviceAccountName"
    } else if lower.contains("webhook") || lower.contains("denied") || lower.contains("forbidden") {
        "change spec.template so the admission policy named in the message accepts the pod, or have the policy changed"
    } else {
        "fix spec.template as the FailedCreate message says"
    };
    let mut diagnosis = Diagnosis::new(Reason::PodCreationFailed, message).with_advice(advice.to_string());
    diagnosis.evidence.extend(Rank::Primary, failures.iter().map(|event| evidence::event(event)));
    Some(diagnosis)
}

/// Diagnoses a running pod whose work containers all exited 0 while a sidecar that is not a
/// native sidecar keeps running. Reported once the work has been done for `pending_seconds`,
/// so a sidecar that stops by itself soon after is not reported.
pub(crate) fn sidecar(ctx: &Context<'_>, recheck: &mut Recheck) -> Option<Diagnosis> {
    for pod in ctx.live_pods() {
        let regular: Vec<ContainerRef<'_>> = pods::containers(pod).into_iter().filter(|container| !container.init).collect();
        let injected = injected_sidecars(pod);
        // NOTE: a sidecar declared in the Job's own template is recognized only by a known
        // name (KNOWN_SIDECARS); any other template container counts as work.
        let (sidecars, work): (Vec<ContainerRef<'_>>, Vec<ContainerRef<'_>>) = regular.iter().partition(|container| {
            let name = container.name();
            injected.iter().any(|injected| injected == name)
                || ctx.template_has_container(name) == Some(false)
                || KNOWN_SIDECARS.contains(&name)
        });
        if work.is_empty() || !sidecars.iter().any(|container| container.is_running()) {
            continue;
        }
        let all_done = work
            .iter()
            .all(|container| container.terminated().is_some_and(|terminated| terminated.exit_code == 0));
        if !all_done {
            continue;
        }
        let finished = work
            .iter()
            .filter_map(|container| container.terminated()?.finished_at.as_ref().map(|time| time.0))
            .max();
        let done_for = finished.map(|finished| ctx.seconds_since(finished)).unwrap_or(i64::MAX);
        if done_for < ctx.thresholds.pending_seconds {
            recheck.after(ctx.thresholds.pending_seconds - done_for);
            continue;
        }

        let mut list = EvidenceList::default();
        for container in &work {
            if let Some(terminated) = container.terminated() {
                list.push(Rank::Primary, evidence::terminated(container, terminated));
            }
        }
        let running: Vec<&ContainerRef<'_>> = sidecars.iter().filter(|container| container.is_running()).collect();
        list.extend(Rank::Primary, running.iter().map(|container| evidence::running(container)));
        if let Some(annotation) = pod.metadata.annotations.as_ref().and_then(|map| map.get(ISTIO_STATUS_ANNOTATION)) {
            list.push(Rank::Context, evidence::pod_fact(pod, ISTIO_STATUS_ANNOTATION, annotation.clone(), None));
        }

        let work_names = quoted_names(work.iter().map(|container| container.name()));
        let sidecar_names = quoted_names(running.iter().map(|container| container.name()));
        let since = finished.map(|finished| format!(" at {finished}")).unwrap_or_default();
        let work_label = if work.len() == 1 { "container" } else { "containers" };
        let (sidecar_label, verb) = if running.len() == 1 { ("container", "is") } else { ("containers", "are") };
        let message = format!(
            "{work_label} {work_names} of pod {} finished with exit 0{since}, but {sidecar_label} {sidecar_names} (not a native sidecar) {verb} still running, so the pod never completes",
            pods::name(pod),
        );
        let first_sidecar = running.first().map(|container| container.name()).unwrap_or("?");
        let istio = if first_sidecar == "istio-proxy" {
            " (for Istio: the pod annotation sidecar.istio.io/nativeSidecar: \"true\", or POST /quitquitquit to the proxy when the work ends)"
        } else {
            ""
        };
        let advice = format!(
            "run {first_sidecar} as a native sidecar, an entry in spec.template.spec.initContainers with restartPolicy: Always, or have the work container stop it when done{istio}"
        );
        let mut diagnosis = Diagnosis::new(Reason::SidecarBlocksCompletion, message).with_advice(advice);
        diagnosis.evidence = list;
        return Some(diagnosis);
    }
    None
}

/// Returns the names of the containers Istio injected, from the pod's status annotation.
fn injected_sidecars(pod: &Pod) -> Vec<String> {
    let Some(annotation) = pod.metadata.annotations.as_ref().and_then(|map| map.get(ISTIO_STATUS_ANNOTATION)) else {
        return Vec::new();
    };
    let Ok(value) = serde_json::from_str::<serde_json::Value>(annotation) else {
        return Vec::new();
    };
    value
        .get("containers")
        .and_then(|containers| containers.as_array())
        .into_iter()
        .flatten()
        .filter_map(|name| name.as_str().map(str::to_string))
        .collect()
}

fn quoted_names<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names.map(|name| format!("\"{name}\"")).collect::<Vec<_>>().join(", ")
}

/// Diagnoses deletion or pod accounting held up for longer than `terminating_seconds`: pods or
/// the Job marked for deletion, or finished pods the Job controller has not counted.
pub(crate) fn terminating(ctx: &Context<'_>, recheck: &mut Recheck) -> Option<Diagnosis> {
    let threshold = ctx.thresholds.terminating_seconds;
    let mut parts: Vec<String> = Vec::new();
    let mut list = EvidenceList::default();
    let mut tracking_finalizer = false;
    let mut other_finalizers: Vec<String> = Vec::new();
    let mut nodes: Vec<String> = Vec::new();

    for pod in ctx.pods.iter().copied() {
        let Some(deleted) = pod.metadata.deletion_timestamp.as_ref().map(|time| time.0) else {
            continue;
        };
        let age = ctx.seconds_since(deleted);
        if age < threshold {
            recheck.after(threshold - age);
            continue;
        }
        let finalizers = pod.metadata.finalizers.clone().unwrap_or_default();
        tracking_finalizer |= finalizers.iter().any(|finalizer| finalizer == "batch.kubernetes.io/job-tracking");
        other_finalizers.extend(finalizers.iter().filter(|finalizer| *finalizer != "batch.kubernetes.io/job-tracking").cloned());
        nodes.extend(pods::node(pod).map(str::to_string));
        let finalizer_text = if finalizers.is_empty() {
            String::new()
        } else {
            format!(" with finalizers [{}]", finalizers.join(", "))
        };
        let phase = pods::phase(pod);
        let text = format!(
            "pod {} has been terminating since {deleted}{finalizer_text} (phase {})",
            pods::name(pod),
            if phase.is_empty() { "unknown" } else { phase }
        );
        list.push(Rank::Primary, evidence::pod_fact(pod, "Terminating", text.clone(), Some(deleted)));
        for (key, value) in pod.metadata.annotations.iter().flatten() {
            let lower = key.to_lowercase();
            if ["polic", "webhook", "mutat", "kyverno", "gatekeeper"].iter().any(|marker| lower.contains(marker)) {
                list.push(Rank::Context, evidence::pod_fact(pod, key, value.clone(), None));
            }
        }
        parts.push(text);
    }

    if let Some(uncounted) = uncounted_age(ctx) {
        let (count, age) = uncounted;
        if age < threshold {
            recheck.after(threshold - age);
        } else {
            tracking_finalizer = true;
            let finished = ctx
                .now
                .checked_sub(jiff::SignedDuration::from_secs(age))
                .map(|time| format!("at {time}"))
                .unwrap_or_else(|_| "long ago".to_string());
            let text = format!(
                "status.uncountedTerminatedPods lists {} that finished {finished} and the Job has not counted",
                plural(count as i64, "pod", "pods"),
            );
            list.push(Rank::Primary, evidence::job_fact(text.clone()));
            parts.push(text);
        }
    }

    let job_finalizers = ctx.job.metadata.finalizers.clone().unwrap_or_default();
    if let Some(deleted) = ctx.job.metadata.deletion_timestamp.as_ref().map(|time| time.0)
        && !job_finalizers.is_empty()
    {
        let age = ctx.seconds_since(deleted);
        if age < threshold {
            recheck.after(threshold - age);
        } else {
            let text = format!("the Job has been deleting since {deleted} with finalizers [{}]", job_finalizers.join(", "));
            list.push(Rank::Key, evidence::job_fact(text.clone()));
            parts.push(text);
        }
    }

    if parts.is_empty() {
        return None;
    }
    let advice = if tracking_finalizer {
        "find what rejects the Job controller's pod updates that remove the batch.kubernetes.io/job-tracking finalizer: an admission webhook or policy that changes pods on UPDATE is a common cause, and kube-controller-manager logs show the rejected patch; re-creating the Job hits the same block".to_string()
    } else if let Some(finalizer) = other_finalizers.first() {
        format!("find the controller that owns the finalizer {finalizer} and why it does not remove it; re-creating the Job does not help")
    } else if let Some(node) = nodes.first() {
        format!("check node {node}: a pod stays terminating while its kubelet is unreachable; once the node is gone or recovers, the pod is removed")
    } else {
        "find what holds the deletion: the finalizers listed and the controllers that own them".to_string()
    };
    let mut diagnosis = Diagnosis::new(Reason::StuckTerminating, parts.join("; ")).with_advice(advice);
    diagnosis.evidence = list;
    Some(diagnosis)
}

/// Returns how many finished pods `status.uncountedTerminatedPods` lists and for how many
/// seconds the oldest of them has been finished. A listed pod that no longer exists counts from
/// the latest activity seen on the Job.
fn uncounted_age(ctx: &Context<'_>) -> Option<(usize, i64)> {
    let uncounted = ctx.status?.uncounted_terminated_pods.as_ref()?;
    let uids: Vec<&String> = uncounted
        .succeeded
        .iter()
        .flatten()
        .chain(uncounted.failed.iter().flatten())
        .collect();
    if uids.is_empty() {
        return None;
    }
    let fallback = ctx
        .pods
        .iter()
        .filter_map(|pod| pods::latest_activity(pod))
        .chain(ctx.events.iter().filter_map(|event| event.last))
        .chain(ctx.start_time())
        .max();
    let finished = uids
        .iter()
        .filter_map(|uid| {
            let pod = ctx.pods.iter().find(|pod| pod.metadata.uid.as_deref() == Some(uid.as_str()));
            pod.and_then(|pod| pods::latest_activity(pod)).or(fallback)
        })
        .min()?;
    Some((uids.len(), ctx.seconds_since(finished)))
}
