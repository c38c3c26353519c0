//! Indexed Jobs with failed indexes: which indexes failed, each with its own cause.
//!
//! With `spec.backoffLimitPerIndex` every index has its own budget, so a Job can fail while
//! most indexes completed. The useful result is the failed index set and the cause per index,
//! so only those indexes are re-run.

use super::Diagnosis;
use super::advice::{container_field, one_line};
use super::context::Context;
use super::evidence::{self, EvidenceList, Rank};
use super::failed::{self, Attempt};
use super::pods;
use crate::finding::{FailedIndex, MAX_FAILED_INDEXES, Reason, bounded};

/// Parses an index set such as "1,3-5,7" into at most `max` indexes, in order, and the total
/// number of indexes it names. Malformed parts are skipped.
pub(crate) fn parse_index_set(text: &str, max: usize) -> (Vec<i32>, u64) {
    let mut indexes = Vec::new();
    let mut total: u64 = 0;
    for part in text.split(',').map(str::trim).filter(|part| !part.is_empty()) {
        let (first, last) = match part.split_once('-') {
            Some((first, last)) => (first.trim().parse::<i32>(), last.trim().parse::<i32>()),
            None => (part.parse::<i32>(), part.parse::<i32>()),
        };
        let (Ok(first), Ok(last)) = (first, last) else {
            continue;
        };
        if first < 0 || last < first {
            continue;
        }
        total = total.saturating_add(u64::from((last - first) as u32) + 1);
        let mut index = first;
        while indexes.len() < max {
            indexes.push(index);
            if index == last {
                break;
            }
            index += 1;
        }
    }
    (indexes, total)
}

/// Returns true when the index set `text`, such as "1,3-5", names `index`.
pub(crate) fn index_set_contains(text: &str, index: i32) -> bool {
    text.split(',').map(str::trim).any(|part| match part.split_once('-') {
        Some((first, last)) => match (first.trim().parse::<i32>(), last.trim().parse::<i32>()) {
            (Ok(first), Ok(last)) => (first..=last).contains(&index),
            _ => false,
        },
        None => part.parse::<i32>() == Ok(index),
    })
}

/// Diagnoses an Indexed Job with failed indexes, from `status.failedIndexes`, or when that is
/// empty, from the indexes whose pods failed and that are not in `status.completedIndexes`.
pub(crate) fn diagnose(ctx: &Context<'_>) -> Diagnosis {
    let status_failed = ctx.status.and_then(|status| status.failed_indexes.as_deref()).unwrap_or("");
    let completed_text = ctx.status.and_then(|status| status.completed_indexes.as_deref()).unwrap_or("");
    let attempts = failed::attempts(ctx);

    let (failed_set, failed_total) = if status_failed.trim().is_empty() {
        let mut derived: Vec<i32> = attempts
            .iter()
            .filter_map(|attempt| pods::completion_index(attempt.pod))
            .filter(|index| !index_set_contains(completed_text, *index))
            .collect();
        derived.sort_unstable();
        derived.dedup();
        let total = derived.len() as u64;
        derived.truncate(MAX_FAILED_INDEXES);
        (derived, total)
    } else {
        parse_index_set(status_failed, MAX_FAILED_INDEXES)
    };

    let mut list = EvidenceList::default();
    let mut failed_indexes = Vec::new();
    let mut first_detail: Option<String> = None;
    for index in &failed_set {
        let mut of_index: Vec<&Attempt<'_>> = attempts
            .iter()
            .filter(|attempt| pods::completion_index(attempt.pod) == Some(*index))
            .collect();
        of_index.sort_by_key(|attempt| attempt.finished_at());
        let Some(latest) = of_index.last() else {
            failed_indexes.push(FailedIndex { index: *index, reason: Reason::BackoffLimitExceeded, exit_code: None, message: None });
            continue;
        };
        list.push(Rank::Primary, latest.evidence());
        for attempt in of_index.iter().rev().skip(1) {
            list.push(Rank::Repeat, attempt.evidence());
        }
        let message = latest
            .terminated
            .and_then(|terminated| terminated.message.as_deref())
            .map(str::trim)
            .filter(|message| !message.is_empty())
            .map(bounded);
        if first_detail.is_none() {
            first_detail = Some(index_detail(latest, of_index.len()));
        }
        failed_indexes.push(FailedIndex { index: *index, reason: latest.reason, exit_code: latest.exit_code(), message });
    }

    let cause = common_reason(&failed_indexes);
    let listed = join_indexes(&failed_set, failed_total);
    let completions = ctx.spec.and_then(|spec| spec.completions);
    let out_of = completions.map(|completions| format!(" of {completions}")).unwrap_or_default();
    let completed_part = if completed_text.trim().is_empty() {
        String::new()
    } else {
        format!("; completed: {}", completed_text.trim())
    };
    let noun = if failed_total == 1 { "index" } else { "indexes" };
    let detail = first_detail
        .zip(failed_set.first())
        .map(|(detail, index)| format!("; index {index}: {detail}"))
        .unwrap_or_default();
    let message = format!("{noun} {listed} failed ({failed_total}{out_of}{completed_part}){detail}");

    list.push(Rank::Key, evidence::job_fact(format!(
        "status.failedIndexes \"{}\", status.completedIndexes \"{}\", spec.backoffLimitPerIndex {}",
        status_failed.trim(),
        completed_text.trim(),
        ctx.spec
            .and_then(|spec| spec.backoff_limit_per_index)
            .map(|limit| limit.to_string())
            .unwrap_or_else(|| "unset".to_string())
    )));

    let fix = cause_fix(ctx, &attempts, cause);
    let keep = if completed_text.trim().is_empty() {
        String::new()
    } else {
        format!("; indexes {} completed and need no re-run", completed_text.trim())
    };
    let advice = format!("{fix}, then re-run only {noun} {listed}{keep}");

    let mut diagnosis = Diagnosis::new(Reason::IndexedJobFailedIndexes, message).with_advice(advice);
    diagnosis.cause = cause;
    diagnosis.evidence = list;
    diagnosis.failed_indexes = failed_indexes;
    diagnosis
}

/// Returns text such as `container "transcode" of pod P exited with code 3: ERROR ...`.
fn index_detail(attempt: &Attempt<'_>, attempts: usize) -> String {
    let outcome = match attempt.reason {
        Reason::OOMKilled => "was OOMKilled".to_string(),
        Reason::Disruption => "was disrupted".to_string(),
        Reason::LivenessProbeKilled => "was killed by its liveness probe".to_string(),
        _ => format!("exited with code {}", attempt.exit_code().unwrap_or(0)),
    };
    let line = attempt.message_line().map(|line| format!(": {}", one_line(line))).unwrap_or_default();
    let tries = if attempts > 1 { format!(" (all {attempts} attempts failed)") } else { String::new() };
    format!(
        "container \"{}\" of pod {} {outcome}{line}{tries}",
        attempt.container_name().unwrap_or("?"),
        pods::name(attempt.pod)
    )
}

/// Returns the most common cause among failed indexes whose cause is known.
fn common_reason(failed: &[FailedIndex]) -> Option<Reason> {
    let known: Vec<Reason> = failed
        .iter()
        .map(|index| index.reason)
        .filter(|reason| *reason != Reason::BackoffLimitExceeded)
        .collect();
    known
        .iter()
        .copied()
        .max_by_key(|reason| known.iter().filter(|other| *other == reason).count())
}

fn join_indexes(indexes: &[i32], total: u64) -> String {
    let mut text = indexes.iter().map(i32::to_string).collect::<Vec<_>>().join(",");
    if total > indexes.len() as u64 {
        text.push_str(&format!(" and {} more", total - indexes.len() as u64));
    }
    text
}

/// Returns what to fix for the common cause, naming the field where there is one.
fn cause_fix(ctx: &Context<'_>, attempts: &[Attempt<'_>], cause: Option<Reason>) -> String {
    let example = attempts.iter().find(|attempt| Some(attempt.reason) == cause);
    let container = example.and_then(Attempt::container_name).unwrap_or("?");
    let field = container_field(container, example.is_some_and(Attempt::is_init));
    match cause {
        Some(Reason::OOMKilled) => {
            let limit = ctx
                .template_container(container)
                .and_then(pods::memory_limit)
                .map(|limit| format!(" above {limit}"))
                .unwrap_or_default();
            format!("raise {field}.resources.limits.memory{limit}")
        }
        Some(Reason::LivenessProbeKilled) => format!("raise {field}.livenessProbe.initialDelaySeconds or add a startupProbe"),
        Some(Reason::Disruption) => "nothing needs fixing for disrupted indexes".to_string(),
        _ => format!("fix the input or code behind the failure of container \"{container}\" for these indexes (see its logs)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_set_parses_ranges_and_singles() {
        assert_eq!(parse_index_set("1,3-5,7", 20), (vec![1, 3, 4, 5, 7], 5));
        assert_eq!(parse_index_set("2", 20), (vec![2], 1));
        assert_eq!(parse_index_set("", 20), (vec![], 0));
    }

    #[test]
    fn index_set_caps_huge_ranges() {
        let (indexes, total) = parse_index_set("0-2147483647", 3);
        assert_eq!(indexes, vec![0, 1, 2]);
        assert_eq!(total, 2_147_483_648);
    }

    #[test]
    fn index_set_membership_reads_ranges() {
        assert!(index_set_contains("0,1,3", 3));
        assert!(index_set_contains("0-1000000000", 999));
        assert!(!index_set_contains("0,1,3", 2));
    }

    #[test]
    fn index_set_skips_malformed_parts() {
        assert_eq!(parse_index_set("x,4-2,-1,6", 20), (vec![6], 1));
    }
}
