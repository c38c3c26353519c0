//! Building evidence items and keeping the most informative ones within the bound.

use jiff::Timestamp;
use k8s_openapi::api::batch::v1::JobCondition;
use k8s_openapi::api::core::v1::{ContainerStateTerminated, Pod, PodCondition};

use super::events::EventView;
use super::pods::{self, ContainerRef};
use crate::finding::{Evidence, EvidenceSource, MAX_EVIDENCE, bounded};

/// Importance of an evidence item. Lower ranks are kept first when items must be dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Rank {
    /// The fact the finding names, such as the failing container status.
    Primary,
    /// Facts that confirm it: the key Events and the Job condition.
    Key,
    /// Repetitions of the primary fact, such as the other failed attempts.
    Repeat,
    /// Context, such as a spec field or a counter.
    Context,
}

/// Evidence items collected in any order, returned by rank within [`MAX_EVIDENCE`].
#[derive(Default)]
pub(crate) struct EvidenceList {
    items: Vec<(Rank, Evidence)>,
}

impl EvidenceList {
    pub fn push(&mut self, rank: Rank, item: Evidence) {
        if !self.items.iter().any(|(_, existing)| *existing == item) {
            self.items.push((rank, item));
        }
    }

    pub fn extend(&mut self, rank: Rank, items: impl IntoIterator<Item = Evidence>) {
        for item in items {
            self.push(rank, item);
        }
    }

    /// Returns the items with their ranks, in insertion order.
    pub fn into_ranked(self) -> Vec<(Rank, Evidence)> {
        self.items
    }

    /// Returns the items by rank, keeping insertion order within a rank, at most [`MAX_EVIDENCE`].
    pub fn finish(mut self) -> Vec<Evidence> {
        self.items.sort_by_key(|(rank, _)| *rank);
        self.items.into_iter().take(MAX_EVIDENCE).map(|(_, item)| item).collect()
    }
}

fn time_text(time: Option<Timestamp>) -> Option<String> {
    time.map(|time| time.to_string())
}

fn optional_text(text: Option<&str>) -> Option<String> {
    text.map(str::trim).filter(|text| !text.is_empty()).map(bounded)
}

/// Returns evidence for a container termination.
pub(crate) fn terminated(container: &ContainerRef<'_>, state: &ContainerStateTerminated) -> Evidence {
    Evidence {
        source: Some(EvidenceSource::Container),
        pod: Some(pods::name(container.pod).to_string()),
        container: Some(container.name().to_string()),
        init_container: container.init,
        node: pods::node(container.pod).map(str::to_string),
        exit_code: Some(state.exit_code),
        reason: optional_text(state.reason.as_deref()),
        message: optional_text(state.message.as_deref()),
        time: time_text(state.finished_at.as_ref().map(|time| time.0)),
        ..Evidence::default()
    }
}

/// Returns evidence for a container that is waiting, with the kubelet's reason and message.
pub(crate) fn waiting(container: &ContainerRef<'_>) -> Evidence {
    let state = container.waiting();
    Evidence {
        source: Some(EvidenceSource::Container),
        pod: Some(pods::name(container.pod).to_string()),
        container: Some(container.name().to_string()),
        init_container: container.init,
        node: pods::node(container.pod).map(str::to_string),
        reason: optional_text(state.and_then(|state| state.reason.as_deref())),
        message: optional_text(state.and_then(|state| state.message.as_deref())),
        ..Evidence::default()
    }
}

/// Returns evidence for a container that is running.
pub(crate) fn running(container: &ContainerRef<'_>) -> Evidence {
    let started = container
        .status
        .state
        .as_ref()
        .and_then(|state| state.running.as_ref())
        .and_then(|running| running.started_at.as_ref())
        .map(|time| time.0);
    Evidence {
        source: Some(EvidenceSource::Container),
        pod: Some(pods::name(container.pod).to_string()),
        container: Some(container.name().to_string()),
        init_container: container.init,
        node: pods::node(container.pod).map(str::to_string),
        reason: Some("Running".to_string()),
        message: Some(format!("restartCount {}", container.status.restart_count)),
        time: time_text(started),
        ..Evidence::default()
    }
}

/// Returns evidence for an Event, with its count and the time it was last seen.
pub(crate) fn event(event: &EventView<'_>) -> Evidence {
    Evidence {
        source: Some(EvidenceSource::Event),
        pod: event.pod().map(str::to_string),
        container: event.container.map(str::to_string),
        init_container: event.init_container,
        node: event.host.map(str::to_string),
        reason: optional_text(Some(event.reason)),
        message: optional_text(Some(event.message)),
        count: Some(event.count),
        time: time_text(event.last),
        ..Evidence::default()
    }
}

/// Returns evidence for a Job condition.
pub(crate) fn job_condition(condition: &JobCondition) -> Evidence {
    Evidence {
        source: Some(EvidenceSource::Job),
        reason: Some(bounded(&format!(
            "{}: {}",
            condition.type_,
            condition.reason.as_deref().unwrap_or("")
        ))),
        message: optional_text(condition.message.as_deref()),
        time: time_text(condition.last_transition_time.as_ref().map(|time| time.0)),
        ..Evidence::default()
    }
}

/// Returns evidence for a pod condition such as PodScheduled or DisruptionTarget.
pub(crate) fn pod_condition(pod: &Pod, condition: &PodCondition) -> Evidence {
    Evidence {
        source: Some(EvidenceSource::Pod),
        pod: Some(pods::name(pod).to_string()),
        node: pods::node(pod).map(str::to_string),
        reason: Some(bounded(&format!(
            "{}={}: {}",
            condition.type_,
            condition.status,
            condition.reason.as_deref().unwrap_or("")
        ))),
        message: optional_text(condition.message.as_deref()),
        time: time_text(condition.last_transition_time.as_ref().map(|time| time.0)),
        ..Evidence::default()
    }
}

/// Returns evidence for a fact about a pod, such as its phase or deletion.
pub(crate) fn pod_fact(pod: &Pod, reason: &str, message: String, time: Option<Timestamp>) -> Evidence {
    Evidence {
        source: Some(EvidenceSource::Pod),
        pod: Some(pods::name(pod).to_string()),
        node: pods::node(pod).map(str::to_string),
        reason: Some(bounded(reason)),
        message: Some(bounded(&message)),
        time: time_text(time),
        ..Evidence::default()
    }
}

/// Returns evidence for a fact read from the Job's spec or status, such as a limit or counter.
pub(crate) fn job_fact(message: String) -> Evidence {
    Evidence {
        source: Some(EvidenceSource::Job),
        message: Some(bounded(&message)),
        ..Evidence::default()
    }
}
