//! Reading saved Kubernetes objects, such as the output of
//! `kubectl get jobs,pods,events -o yaml`, and grouping them per Job.
//!
//! The input is a YAML (or JSON) stream of documents. Each document is a Job, a Pod, an Event
//! (core/v1 or events.k8s.io/v1), or a list (`kind: List`, `JobList`, ...) whose `items` are.
//! Other kinds are skipped and reported in [`Objects::skipped`].

use std::fmt;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Event, Pod};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::Observation;
use super::events::pod_name_in_job_message;

/// The Jobs, Pods and Events read from one input.
#[derive(Clone, Debug, Default)]
pub struct Objects {
    /// The Jobs, in input order.
    pub jobs: Vec<Job>,
    /// The Pods, in input order.
    pub pods: Vec<Pod>,
    /// The Events, in input order, events.k8s.io/v1 ones rewritten to the core/v1 shape.
    pub events: Vec<Event>,
    /// Objects of other kinds, which the classifier does not read.
    pub skipped: Vec<SkippedObject>,
}

/// An object that was skipped because the classifier does not read its kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedObject {
    /// The object's position in the input.
    pub location: Location,
    /// The object's `kind`.
    pub kind: String,
    /// The object's `metadata.name`, when it has one.
    pub name: Option<String>,
}

/// The position of an object in the input: its document, counted from 1, and its index in the
/// document's `items` when the document is a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Location {
    /// The YAML document, counted from 1, empty documents included.
    pub document: usize,
    /// The index in the document's `items`, counted from 0, when the document is a list.
    pub item: Option<usize>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.item {
            Some(item) => write!(f, "document {}, items[{item}]", self.document),
            None => write!(f, "document {}", self.document),
        }
    }
}

/// Error reading an input.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The text is not valid YAML or JSON.
    #[error("document {document}: invalid YAML: {source}")]
    Yaml {
        /// The document, counted from 1.
        document: usize,
        /// The parser's error.
        source: serde_norway::Error,
    },
    /// An object has no `kind`, so it cannot be read.
    #[error("{location}: missing field `kind`; each object needs apiVersion and kind")]
    MissingKind {
        /// The object's position in the input.
        location: Location,
    },
    /// A list's `items` is not a sequence.
    #[error("{location}: field `items` of {kind} is not a list")]
    InvalidItems {
        /// The list's position in the input.
        location: Location,
        /// The list's `kind`.
        kind: String,
    },
    /// A field of a Job, Pod or Event has the wrong shape.
    #[error("{location} ({kind} {name}): invalid field `{field}`: {message}")]
    InvalidField {
        /// The object's position in the input.
        location: Location,
        /// The object's `kind`.
        kind: String,
        /// The object's `metadata.name`, or `<unnamed>`.
        name: String,
        /// The path of the field, such as `status.containerStatuses[0].restartCount`.
        field: String,
        /// The decoder's message, such as "invalid type: string, expected i32".
        message: String,
    },
}

/// One Job with its pods and the Events about either.
#[derive(Clone, Debug)]
pub struct JobObjects {
    /// The Job.
    pub job: Job,
    /// The Job's pods.
    pub pods: Vec<Pod>,
    /// The Events about the Job or its pods.
    pub events: Vec<Event>,
}

impl JobObjects {
    /// Returns the observation the classifier reads.
    pub fn observation(&self) -> Observation<'_> {
        Observation { job: &self.job, pods: &self.pods, events: &self.events }
    }
}

/// Parses a YAML or JSON stream of Kubernetes objects into Jobs, Pods and Events.
///
/// Empty documents are skipped. Objects of other kinds are listed in [`Objects::skipped`].
pub fn parse_objects(text: &str) -> Result<Objects, InputError> {
    let mut objects = Objects::default();
    for (index, document) in serde_norway::Deserializer::from_str(text).enumerate() {
        let number = index + 1;
        let value = Value::deserialize(document).map_err(|source| InputError::Yaml { document: number, source })?;
        if value.is_null() {
            continue;
        }
        let location = Location { document: number, item: None };
        let kind = kind_of(&value, location)?;
        if kind.ends_with("List") {
            let Some(items) = value.get("items") else {
                continue;
            };
            let Value::Array(items) = items else {
                return Err(InputError::InvalidItems { location, kind });
            };
            for (item_index, item) in items.iter().enumerate() {
                if item.is_null() {
                    continue;
                }
                let location = Location { document: number, item: Some(item_index) };
                let item_kind = kind_of(item, location)?;
                add_object(&mut objects, item.clone(), &item_kind, location)?;
            }
        } else {
            add_object(&mut objects, value, &kind, location)?;
        }
    }
    Ok(objects)
}

fn kind_of(value: &Value, location: Location) -> Result<String, InputError> {
    value
        .get("kind")
        .and_then(Value::as_str)
        .filter(|kind| !kind.is_empty())
        .map(str::to_string)
        .ok_or(InputError::MissingKind { location })
}

fn add_object(objects: &mut Objects, value: Value, kind: &str, location: Location) -> Result<(), InputError> {
    let api_version = value.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    match kind {
        "Job" => objects.jobs.push(decode(value, kind, location)?),
        "Pod" => objects.pods.push(decode(value, kind, location)?),
        "Event" if api_version.starts_with("events.k8s.io/") => {
            objects.events.push(decode(events_api_to_core(value), kind, location)?);
        }
        "Event" => objects.events.push(decode(value, kind, location)?),
        _ => objects.skipped.push(SkippedObject {
            location,
            kind: kind.to_string(),
            name: value.pointer("/metadata/name").and_then(Value::as_str).map(str::to_string),
        }),
    }
    Ok(())
}

/// Decodes an object, naming the failing field when it does not fit the type.
fn decode<T: DeserializeOwned>(value: Value, kind: &str, location: Location) -> Result<T, InputError> {
    match serde_json::from_value::<T>(value.clone()) {
        Ok(object) => Ok(object),
        Err(error) => Err(InputError::InvalidField {
            location,
            kind: kind.to_string(),
            name: value
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("<unnamed>")
                .to_string(),
            field: failing_field::<T>(&value),
            message: error.to_string(),
        }),
    }
}

#[derive(Clone, Debug)]
enum PathPart {
    Key(String),
    Index(usize),
}

/// Returns the path of the field that makes `root` fail to decode as `T`.
///
/// serde_json's errors from a `Value` carry no path, so this descends the document. At each
/// level it removes one child at a time. The child whose removal makes decoding succeed, or turns
/// the error into "missing field" for that child, contains the fault. Used only on the error
/// path, so the repeated decoding costs nothing in normal use.
fn failing_field<T: DeserializeOwned>(root: &Value) -> String {
    let mut path: Vec<PathPart> = Vec::new();
    while let Some(node) = lookup(root, &path) {
        let children: Vec<PathPart> = match node {
            Value::Object(map) => map.keys().cloned().map(PathPart::Key).collect(),
            Value::Array(items) => (0..items.len()).map(PathPart::Index).collect(),
            _ => break,
        };
        let culprit = children.into_iter().find(|child| {
            let mut trial = root.clone();
            if let Some(parent) = lookup_mut(&mut trial, &path) {
                match (parent, child) {
                    (Value::Object(map), PathPart::Key(key)) => {
                        map.remove(key);
                    }
                    (Value::Array(items), PathPart::Index(index)) => {
                        items.remove(*index);
                    }
                    _ => return false,
                }
            }
            match serde_json::from_value::<T>(trial) {
                Ok(_) => true,
                Err(error) => match child {
                    PathPart::Key(key) => error.to_string().starts_with(&format!("missing field `{key}`")),
                    PathPart::Index(_) => false,
                },
            }
        });
        match culprit {
            Some(child) => path.push(child),
            None => break,
        }
    }
    format_path(&path)
}

fn lookup<'a>(root: &'a Value, path: &[PathPart]) -> Option<&'a Value> {
    path.iter().try_fold(root, |node, part| match part {
        PathPart::Key(key) => node.get(key),
        PathPart::Index(index) => node.get(index),
    })
}

fn lookup_mut<'a>(root: &'a mut Value, path: &[PathPart]) -> Option<&'a mut Value> {
    path.iter().try_fold(root, |node, part| match part {
        PathPart::Key(key) => node.get_mut(key),
        PathPart::Index(index) => node.get_mut(index),
    })
}

fn format_path(path: &[PathPart]) -> String {
    if path.is_empty() {
        return "(the whole object)".to_string();
    }
    let mut text = String::new();
    for part in path {
        match part {
            PathPart::Key(key) => {
                if !text.is_empty() {
                    text.push('.');
                }
                text.push_str(key);
            }
            PathPart::Index(index) => text.push_str(&format!("[{index}]")),
        }
    }
    text
}

/// Rewrites an events.k8s.io/v1 Event into the core/v1 shape the classifier reads: `regarding`
/// becomes `involvedObject`, `note` becomes `message`, and the `deprecated*` fields become
/// `count`, `firstTimestamp` and `lastTimestamp`.
fn events_api_to_core(value: Value) -> Value {
    let Value::Object(mut map) = value else {
        return value;
    };
    let renames = [
        ("regarding", "involvedObject"),
        ("note", "message"),
        ("deprecatedCount", "count"),
        ("deprecatedFirstTimestamp", "firstTimestamp"),
        ("deprecatedLastTimestamp", "lastTimestamp"),
        ("deprecatedSource", "source"),
        ("reportingController", "reportingComponent"),
    ];
    for (from, to) in renames {
        if let Some(field) = map.remove(from) {
            map.insert(to.to_string(), field);
        }
    }
    map.insert("apiVersion".to_string(), Value::String("v1".to_string()));
    map.entry("involvedObject").or_insert_with(|| Value::Object(Map::new()));
    Value::Object(map)
}

/// Groups Jobs with their pods and Events, one entry per Job in input order.
///
/// A pod belongs to the Job that controls it (ownerReference uid), else the Job named by its
/// `batch.kubernetes.io/controller-uid` or `controller-uid` label, else by its
/// `batch.kubernetes.io/job-name` or `job-name` label in the same namespace. An Event belongs to
/// the Job it is about, or to the Job of the pod it is about. A pod that no longer exists is
/// recognized from the Job controller's "Created pod:" and "Deleted pod:" Events. Failing that,
/// a pod name that starts with a Job's name and a dash matches, and the longest such name wins.
pub fn group_by_job(objects: &Objects) -> Vec<JobObjects> {
    let mut groups: Vec<JobObjects> = objects
        .jobs
        .iter()
        .map(|job| JobObjects { job: job.clone(), pods: Vec::new(), events: Vec::new() })
        .collect();

    for pod in &objects.pods {
        if let Some(index) = job_of_pod(&objects.jobs, pod) {
            groups[index].pods.push(pod.clone());
        }
    }

    // Pod names each Job's controller reported creating or deleting.
    let mut reported: Vec<Vec<String>> = vec![Vec::new(); objects.jobs.len()];
    for event in &objects.events {
        if let Some(index) = job_of_job_event(&objects.jobs, event)
            && let Some(name) = event.message.as_deref().and_then(pod_name_in_job_message)
        {
            reported[index].push(name.to_string());
        }
    }

    for event in &objects.events {
        let index = job_of_job_event(&objects.jobs, event).or_else(|| job_of_pod_event(&objects.jobs, &groups, &reported, event));
        if let Some(index) = index {
            groups[index].events.push(event.clone());
        }
    }
    groups
}

fn namespaces_match(first: Option<&str>, second: Option<&str>) -> bool {
    match (first, second) {
        (Some(first), Some(second)) if !first.is_empty() && !second.is_empty() => first == second,
        _ => true,
    }
}

fn label<'a>(pod: &'a Pod, keys: &[&str]) -> Option<&'a str> {
    let labels = pod.metadata.labels.as_ref()?;
    keys.iter().find_map(|key| labels.get(*key)).map(String::as_str)
}

fn job_of_pod(jobs: &[Job], pod: &Pod) -> Option<usize> {
    let uid_of = |job: &Job| job.metadata.uid.clone().filter(|uid| !uid.is_empty());
    let owner = pod
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|owner| owner.kind == "Job" && owner.controller == Some(true));
    if let Some(owner) = owner {
        return jobs.iter().position(|job| uid_of(job).as_deref() == Some(owner.uid.as_str()));
    }
    if let Some(uid) = label(pod, &["batch.kubernetes.io/controller-uid", "controller-uid"]) {
        return jobs.iter().position(|job| uid_of(job).as_deref() == Some(uid));
    }
    let name = label(pod, &["batch.kubernetes.io/job-name", "job-name"])?;
    jobs.iter().position(|job| {
        job.metadata.name.as_deref() == Some(name)
            && namespaces_match(job.metadata.namespace.as_deref(), pod.metadata.namespace.as_deref())
    })
}

fn job_of_job_event(jobs: &[Job], event: &Event) -> Option<usize> {
    let object = &event.involved_object;
    if object.kind.as_deref() != Some("Job") {
        return None;
    }
    jobs.iter().position(|job| {
        let same_namespace = namespaces_match(job.metadata.namespace.as_deref(), object.namespace.as_deref());
        let same_object = match (job.metadata.uid.as_deref(), object.uid.as_deref()) {
            (Some(job_uid), Some(uid)) if !job_uid.is_empty() && !uid.is_empty() => job_uid == uid,
            _ => object.name.is_some() && job.metadata.name == object.name,
        };
        same_namespace && same_object
    })
}

fn job_of_pod_event(jobs: &[Job], groups: &[JobObjects], reported: &[Vec<String>], event: &Event) -> Option<usize> {
    let object = &event.involved_object;
    if object.kind.as_deref() != Some("Pod") {
        return None;
    }
    let name = object.name.as_deref().filter(|name| !name.is_empty())?;
    let uid = object.uid.as_deref().filter(|uid| !uid.is_empty());
    let in_namespace = |index: usize| namespaces_match(jobs[index].metadata.namespace.as_deref(), object.namespace.as_deref());

    let by_pod = groups.iter().position(|group| {
        group.pods.iter().any(|pod| match (uid, pod.metadata.uid.as_deref()) {
            (Some(uid), Some(pod_uid)) => uid == pod_uid,
            _ => pod.metadata.name.as_deref() == Some(name),
        })
    });
    let by_report = || (0..jobs.len()).find(|index| in_namespace(*index) && reported[*index].iter().any(|reported| reported == name));
    let by_prefix = || {
        (0..jobs.len())
            .filter(|index| in_namespace(*index))
            .filter_map(|index| {
                let job_name = jobs[index].metadata.name.as_deref().filter(|job_name| !job_name.is_empty())?;
                name.starts_with(&format!("{job_name}-")).then_some((index, job_name.len()))
            })
            .max_by_key(|(_, length)| *length)
            .map(|(index, _)| index)
    };
    by_pod.or_else(by_report).or_else(by_prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_dispatches_kinds_and_skips_empty_documents() {
        let text = "---\n# only a comment\n---\napiVersion: batch/v1\nkind: Job\nmetadata: {name: a, uid: u1}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: a-x}\n";
        let objects = parse_objects(text).expect("valid stream");
        assert_eq!(objects.jobs.len(), 1);
        assert_eq!(objects.pods.len(), 1);
        assert_eq!(objects.skipped.len(), 1);
        assert_eq!(objects.skipped[0].kind, "ConfigMap");
        assert_eq!(objects.skipped[0].location, Location { document: 3, item: None });
    }

    #[test]
    fn list_items_are_read() {
        let text = r#"
apiVersion: v1
kind: List
items:
- {apiVersion: batch/v1, kind: Job, metadata: {name: a, uid: u1}}
- {apiVersion: v1, kind: Event, metadata: {name: e}, involvedObject: {kind: Job, name: a, uid: u1}, reason: Completed}
"#;
        let objects = parse_objects(text).expect("valid list");
        assert_eq!(objects.jobs.len(), 1);
        assert_eq!(objects.events.len(), 1);
    }

    #[test]
    fn events_api_form_is_converted() {
        let text = r#"
apiVersion: events.k8s.io/v1
kind: Event
metadata: {name: e}
regarding: {kind: Pod, name: a-x}
note: "0/3 nodes are available"
reason: FailedScheduling
eventTime: "2025-05-06T00:00:00.187322Z"
series: {count: 4, lastObservedTime: "2025-05-06T00:10:00.000000Z"}
"#;
        let objects = parse_objects(text).expect("valid event");
        let event = &objects.events[0];
        assert_eq!(event.involved_object.name.as_deref(), Some("a-x"));
        assert_eq!(event.message.as_deref(), Some("0/3 nodes are available"));
    }

    #[test]
    fn invalid_field_is_named_with_its_document() {
        let text = "kind: Job\nmetadata: {name: a}\n---\nkind: Pod\nmetadata: {name: p}\nstatus:\n  containerStatuses:\n  - {name: c, image: i, imageID: '', ready: false, restartCount: lots}\n";
        let error = parse_objects(text).expect_err("restartCount is not a number");
        match &error {
            InputError::InvalidField { location, field, .. } => {
                assert_eq!(location.document, 2);
                assert_eq!(field, "status.containerStatuses[0].restartCount");
            }
            other => panic!("unexpected error: {other}"),
        }
        assert!(error.to_string().contains("document 2 (Pod p)"), "{error}");
    }

    #[test]
    fn missing_kind_is_an_error() {
        let error = parse_objects("metadata: {name: a}\n").expect_err("no kind");
        assert!(matches!(error, InputError::MissingKind { location: Location { document: 1, item: None } }));
    }

    #[test]
    fn grouping_matches_pods_and_events_to_jobs() {
        let text = r#"
kind: Job
metadata: {name: load, namespace: ns, uid: u1}
---
kind: Job
metadata: {name: load-extra, namespace: ns, uid: u2}
---
kind: Pod
metadata:
  name: load-abc
  namespace: ns
  ownerReferences: [{apiVersion: batch/v1, kind: Job, name: load, uid: u1, controller: true}]
---
kind: Pod
metadata: {name: load-extra-xyz, namespace: ns, labels: {batch.kubernetes.io/controller-uid: u2}}
---
kind: Event
metadata: {name: e1}
involvedObject: {kind: Job, name: load, namespace: ns, uid: u1}
message: "Created pod: renamed-pod"
---
kind: Event
metadata: {name: e2}
involvedObject: {kind: Pod, name: renamed-pod, namespace: ns}
---
kind: Event
metadata: {name: e3}
involvedObject: {kind: Pod, name: load-extra-gone, namespace: ns}
---
kind: Event
metadata: {name: e4}
involvedObject: {kind: Pod, name: stranger, namespace: ns}
"#;
        let objects = parse_objects(text).expect("valid stream");
        let groups = group_by_job(&objects);
        assert_eq!(groups.len(), 2);
        let names = |group: &JobObjects| -> Vec<String> {
            group.events.iter().filter_map(|event| event.metadata.name.clone()).collect()
        };
        assert_eq!(groups[0].pods.len(), 1);
        assert_eq!(names(&groups[0]), vec!["e1", "e2"]);
        assert_eq!(groups[1].pods.len(), 1);
        assert_eq!(names(&groups[1]), vec!["e3"]);
    }
}
