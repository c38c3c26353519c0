//! Remarks beside the reason: a retry that recovered, an OOM kill on a succeeded Job, another
//! controller managing the Job, a queue holding it, disrupted pods, and pods that are gone.

use super::Diagnosis;
use super::advice::one_line;
use super::context::Context;
use super::events;
use super::failed;
use super::pods;
use super::progress::queue_of;
use crate::finding::{Note, NoteReason, Reason, State};

/// Returns the notes for a Job classified as `state` with `diagnosis`.
pub(crate) fn collect(ctx: &Context<'_>, state: State, diagnosis: &Diagnosis) -> Vec<Note> {
    let mut notes = Vec::new();
    if state == State::Succeeded {
        notes.extend(recovered_after_retry(ctx));
        notes.extend(oom_kill_observed(ctx));
    }
    if state == State::Suspended {
        notes.extend(held_by_queue(ctx));
    }
    notes.extend(managed_elsewhere(ctx));
    if diagnosis.reason != Reason::Disruption && diagnosis.cause != Some(Reason::Disruption) {
        notes.extend(pods_disrupted(ctx));
    }
    if diagnosis.pods_gone {
        notes.push(Note {
            reason: NoteReason::PodsGone,
            message: "no Pod object of the Job is left, so this finding rests on the Job's status and Events".to_string(),
        });
    }
    notes
}

fn recovered_after_retry(ctx: &Context<'_>) -> Option<Note> {
    let attempts = failed::attempts(ctx);
    let failures = i64::from(ctx.failed_count()).max(attempts.len() as i64);
    if failures == 0 {
        return None;
    }
    let first = attempts.iter().min_by_key(|attempt| attempt.finished_at());
    let detail = first
        .map(|attempt| {
            let exit = attempt.exit_code().map(|code| format!(" exit {code}")).unwrap_or_default();
            let line = attempt.message_line().map(|line| format!(": {}", one_line(line))).unwrap_or_default();
            format!(
                "; pod {} failed first ({}{exit}{line})",
                pods::name(attempt.pod),
                attempt.reason
            )
        })
        .unwrap_or_default();
    let attempts_text = if failures == 1 { "1 failed attempt".to_string() } else { format!("{failures} failed attempts") };
    Some(Note {
        reason: NoteReason::RecoveredAfterRetry,
        message: format!("the Job succeeded after {attempts_text}{detail}"),
    })
}

fn oom_kill_observed(ctx: &Context<'_>) -> Option<Note> {
    for pod in ctx.pods.iter().copied() {
        for container in pods::containers(pod) {
            let states = [container.terminated(), container.last_terminated()];
            if let Some(state) = states.into_iter().flatten().find(|state| pods::is_oom(state)) {
                return Some(Note {
                    reason: NoteReason::OOMKillObserved,
                    message: format!(
                        "container \"{}\" of pod {} was OOMKilled (exit {}) although the Job succeeded; it runs close to its memory limit",
                        container.name(),
                        pods::name(pod),
                        state.exit_code
                    ),
                });
            }
        }
    }
    None
}

fn managed_elsewhere(ctx: &Context<'_>) -> Option<Note> {
    let manager = ctx.managed_elsewhere()?;
    Some(Note {
        reason: NoteReason::ManagedElsewhere,
        message: format!("spec.managedBy is {manager}, so that controller, not the built-in Job controller, updates this Job's status"),
    })
}

fn held_by_queue(ctx: &Context<'_>) -> Option<Note> {
    let count = |reason: &str| -> i64 {
        events::total_count(ctx.job_events(), |event| event.reason == reason)
    };
    let suspended = count("Suspended");
    let resumed = count("Resumed");
    let stopped = count("Stopped");
    let flapping = resumed > 0 && suspended > 1;
    let queue = queue_of(ctx);
    if queue.is_none() && !flapping {
        return None;
    }
    let mut message = match queue {
        Some((key, name)) => format!("label {key}={name}: a queue controller keeps the Job suspended until it admits it"),
        None => "the Job is suspended again each time it is resumed".to_string(),
    };
    if flapping {
        message.push_str(&format!("; it was resumed and suspended again (Suspended x{suspended}, Resumed x{resumed}"));
        if stopped > 0 {
            let stop_message = ctx
                .job_events()
                .find(|event| event.reason == "Stopped")
                .map(|event| format!(", Stopped x{stopped}: {}", one_line(event.message)))
                .unwrap_or_default();
            message.push_str(&stop_message);
        }
        message.push(')');
    }
    Some(Note { reason: NoteReason::HeldByQueue, message })
}

fn pods_disrupted(ctx: &Context<'_>) -> Option<Note> {
    let disrupted: Vec<&str> = ctx
        .pods
        .iter()
        .filter(|pod| pods::disruption(pod).is_some())
        .map(|pod| pods::name(pod))
        .collect();
    let disruption_events = ctx.events.iter().filter(|event| events::is_disruption(event)).count();
    if disrupted.is_empty() && disruption_events == 0 {
        return None;
    }
    let message = if disrupted.is_empty() {
        format!("{disruption_events} Events report pods evicted or preempted while the Job ran")
    } else {
        format!("pods evicted, preempted or ended by their node while the Job ran: {}", disrupted.join(", "))
    };
    Some(Note { reason: NoteReason::PodsDisrupted, message })
}
