//! Output formats of `diagnose`: a table for people, JSON and YAML for scripts.

use std::fmt::Write;

use crate::diagnose::Diagnosis;
use crate::finding::{EvidenceSource, Retryable};

/// Output format chosen with `-o`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Yaml,
}

/// Renders diagnoses in `format`. JSON and YAML are a list with one object per Job.
pub fn render(diagnoses: &[Diagnosis], format: Format) -> String {
    match format {
        Format::Json => {
            let mut text = serde_json::to_string_pretty(diagnoses).expect("diagnoses always serialize");
            text.push('\n');
            text
        }
        Format::Yaml => crate::yaml::to_yaml(diagnoses).expect("diagnoses always serialize"),
        Format::Table => render_table(diagnoses),
    }
}

fn retryable_name(retryable: Retryable) -> &'static str {
    match retryable {
        Retryable::Yes => "Yes",
        Retryable::WithChange => "WithChange",
        Retryable::No => "No",
    }
}

/// Renders one summary line per Job, then the evidence, notes and advice of each Job.
fn render_table(diagnoses: &[Diagnosis]) -> String {
    let headers = ["NAMESPACE", "JOB", "STATE", "REASON", "RETRYABLE"];
    let rows: Vec<[String; 5]> = diagnoses
        .iter()
        .map(|diagnosis| {
            [
                diagnosis.namespace.clone(),
                diagnosis.job.clone(),
                diagnosis.finding.state.as_str().to_string(),
                diagnosis.finding.reason.as_str().to_string(),
                retryable_name(diagnosis.finding.retryable).to_string(),
            ]
        })
        .collect();
    let mut widths = headers.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }

    let mut text = String::new();
    let mut line = |cells: &[String]| {
        let padded: Vec<String> = cells.iter().zip(widths).map(|(cell, width)| format!("{cell:<width$}")).collect();
        let _ = writeln!(text, "{}", padded.join("   ").trim_end());
    };
    line(&headers.map(String::from));
    for row in &rows {
        line(row);
    }

    for diagnosis in diagnoses {
        let finding = &diagnosis.finding;
        let _ = writeln!(text, "\n{}/{}: {} {}", diagnosis.namespace, diagnosis.job, finding.state, finding.reason);
        let _ = writeln!(text, "  message: {}", finding.message);
        if let Some(cause) = finding.cause {
            let _ = writeln!(text, "  cause:   {cause}");
        }
        for index in &finding.failed_indexes {
            let exit = index.exit_code.map(|code| format!(" exit {code}")).unwrap_or_default();
            let _ = writeln!(text, "  index {}: {}{exit}", index.index, index.reason);
        }
        for item in &finding.evidence {
            let _ = writeln!(text, "  evidence: {}", describe_evidence(item));
            for log_line in &item.log_tail {
                let _ = writeln!(text, "    | {log_line}");
            }
        }
        for note in &finding.notes {
            let _ = writeln!(text, "  note: {:?}: {}", note.reason, note.message);
        }
        if let Some(advice) = &finding.advice {
            let _ = writeln!(text, "  advice: {advice}");
        }
    }
    text
}

fn describe_evidence(item: &crate::finding::Evidence) -> String {
    let mut parts = Vec::new();
    let source = match item.source {
        Some(EvidenceSource::Job) => "job",
        Some(EvidenceSource::Pod) => "pod",
        Some(EvidenceSource::Container) => "container",
        Some(EvidenceSource::Event) => "event",
        None => "fact",
    };
    parts.push(format!("[{source}]"));

    if let Some(pod) = &item.pod {
        parts.push(format!("pod={pod}"));
    }
    if let Some(container) = &item.container {
        let kind = if item.init_container { "initContainer" } else { "container" };
        parts.push(format!("{kind}={container}"));
    }
    if let Some(node) = &item.node {
        parts.push(format!("node={node}"));
    }

    if let Some(code) = item.exit_code {
        parts.push(format!("exitCode={code}"));
    }
    if let Some(reason) = &item.reason {
        parts.push(format!("reason={reason}"));
    }
    if let Some(count) = item.count {
        parts.push(format!("count={count}"));
    }
    if let Some(time) = &item.time {
        parts.push(format!("at={time}"));
    }
    if let Some(message) = &item.message {
        parts.push(format!("message={message:?}"));
    }
    parts.join(" ")
}
