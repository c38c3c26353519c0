//! `jobhealth diagnose` and `jobhealth report`: the classifier without the operator, on saved
//! objects or on a live cluster.

pub mod live;
pub mod output;
pub mod summary;

use jiff::Timestamp;
use serde::Serialize;

use crate::classify::{InputError, Observation, Thresholds, classify, group_by_job, newest_timestamp, parse_objects};
use crate::finding::Finding;

/// The finding for one Job, with the Job's namespace and name, as `diagnose` prints it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Diagnosis {
    pub namespace: String,
    pub job: String,
    #[serde(flatten)]
    pub finding: Finding,
}

/// The result of diagnosing a saved input.
#[derive(Clone, Debug)]
pub struct OfflineDiagnosis {
    /// One entry per Job in the input, in input order.
    pub diagnoses: Vec<Diagnosis>,
    /// Remarks about the input, such as skipped objects of other kinds.
    pub remarks: Vec<String>,
    /// The time the Jobs were classified at.
    pub now: Option<Timestamp>,
}

/// Classifies every Job in `text`, a YAML or JSON stream or List such as
/// `kubectl get jobs,pods,events -o yaml` writes. Without `now`, the newest timestamp in the
/// input stands for the current time, so a snapshot classifies the same way on any day.
pub fn diagnose_text(text: &str, now: Option<Timestamp>, thresholds: &Thresholds) -> Result<OfflineDiagnosis, InputError> {
    let objects = parse_objects(text)?;
    let mut remarks: Vec<String> = objects
        .skipped
        .iter()
        .map(|skipped| {
            let name = skipped.name.as_deref().unwrap_or("(unnamed)");
            format!("skipped {} {name} at {}: jobhealth reads only Jobs, Pods and Events", skipped.kind, skipped.location)
        })
        .collect();

    let groups = group_by_job(&objects);
    if groups.is_empty() {
        remarks.push("the input contains no Job".to_string());
    }
    let now = now.or_else(|| groups.iter().filter_map(|group| newest_timestamp(&group.observation())).max());

    let diagnoses = groups
        .iter()
        .map(|group| {
            let observation: Observation<'_> = group.observation();
            // Without any timestamp in the input, elapsed-time rules see no time passing.
            let at = now.unwrap_or(Timestamp::UNIX_EPOCH);
            Diagnosis {
                namespace: group.job.metadata.namespace.clone().unwrap_or_default(),
                job: group.job.metadata.name.clone().unwrap_or_default(),
                finding: classify(&observation, thresholds, at),
            }
        })
        .collect();
    Ok(OfflineDiagnosis { diagnoses, remarks, now })
}
