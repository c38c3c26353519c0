//! Classification: turns a Job, its Pods and Events, the policy's thresholds and the current time
//! into a [`Finding`]. Pure: no API client and no clock, so it is tested with tables of
//! real-shaped objects.

use jiff::Timestamp;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Event, Pod};

use crate::finding::Finding;

/// Time thresholds for calling a Job stuck, in seconds. See `ThresholdsSpec` for their meaning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Thresholds {
    pub pending_seconds: i64,
    pub image_pull_seconds: i64,
    pub stalled_seconds: i64,
    pub long_running_seconds: Option<i64>,
    pub terminating_seconds: i64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            pending_seconds: 300,
            image_pull_seconds: 600,
            stalled_seconds: 900,
            long_running_seconds: None,
            terminating_seconds: 600,
        }
    }
}

/// Everything the classifier reads about one Job.
#[derive(Clone, Copy, Debug)]
pub struct Observation<'a> {
    /// The Job.
    pub job: &'a Job,
    /// The Job's pods that still exist, in any order.
    pub pods: &'a [Pod],
    /// Events about the Job and its pods (including pods that no longer exist), in any order.
    pub events: &'a [Event],
}

/// Classifies one Job at time `now`.
pub fn classify(observation: &Observation<'_>, thresholds: &Thresholds, now: Timestamp) -> Finding {
    todo!("classifier")
}
