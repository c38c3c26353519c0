//! The `jobhealth` command: runs the operator, prints the CRDs, and diagnoses Jobs.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use jobhealth::controller::{self, Scope};
use jobhealth::classify::Thresholds;
use jobhealth::crd::JobHealthPolicy;
use jobhealth::crd_yaml;
use jobhealth::select::validate_policy;
use jobhealth::diagnose::output::{Format, render};
use jobhealth::diagnose::{diagnose_text, live, summary};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(name = "jobhealth", version, about = "Explains failing Kubernetes Jobs and records why they failed")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the operator against the current kubeconfig, or the in-cluster config inside a pod.
    Run {
        /// Watch only this namespace. Repeat for several; without it the whole cluster is watched.
        #[arg(long = "namespace", short = 'n')]
        namespaces: Vec<String>,
        /// Log format: text for people, json for log collectors.
        #[arg(long, default_value = "text", value_parser = ["text", "json"])]
        log_format: String,
    },
    /// Print the CustomResourceDefinitions as a YAML stream.
    Crd,
    /// Classify Jobs from saved objects (-f) or one live Job (job/NAME), with evidence and advice.
    Diagnose {
        /// The live Job to diagnose, as job/NAME. Omit it when reading a file with -f.
        target: Option<String>,
        /// Read a YAML or JSON stream or List, such as `kubectl get jobs,pods,events -o yaml`
        /// writes; `-` reads standard input. No cluster is needed.
        #[arg(short = 'f', long = "filename", conflicts_with = "target")]
        file: Option<String>,
        /// Namespace of the live Job. Defaults to the kubeconfig context's namespace.
        #[arg(short = 'n', long)]
        namespace: Option<String>,
        /// A JobHealthPolicy YAML file whose thresholds to use. Defaults to the policy defaults.
        #[arg(long)]
        policy: Option<String>,
        /// The time to classify at (RFC 3339), for -f. Defaults to the newest timestamp in the input.
        #[arg(long)]
        now: Option<jiff::Timestamp>,
        /// Add the last N log lines of each failed container to the evidence (live Jobs only; at most 50).
        #[arg(long, default_value_t = 0)]
        logs: usize,
        /// Output format.
        #[arg(short = 'o', long, value_enum, default_value = "table")]
        output: Format,
    },
    /// Summarize a namespace's Jobs over a window: success rate, failures by reason, durations.
    Report {
        /// Namespace to summarize. Defaults to the kubeconfig context's namespace.
        #[arg(short = 'n', long)]
        namespace: Option<String>,
        /// How far back to look, as a number and a unit: 90s, 30m, 24h, 7d.
        #[arg(long, default_value = "24h")]
        window: String,
        /// Output format.
        #[arg(short = 'o', long, value_enum, default_value = "table")]
        output: Format,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run { namespaces, log_format } => {
            init_logging(&log_format);
            let client = match kube::Client::try_default().await {
                Ok(client) => client,
                Err(error) => {
                    tracing::error!(error = %error, "cannot load a kubeconfig or in-cluster config; set KUBECONFIG or run inside a pod");
                    return ExitCode::FAILURE;
                }
            };
            let scopes = if namespaces.is_empty() {
                vec![Scope::Cluster]
            } else {
                namespaces.into_iter().map(Scope::Namespace).collect()
            };
            controller::run(client, scopes).await;
            ExitCode::SUCCESS
        }
        Command::Crd => {
            print!("{}", crd_yaml());
            ExitCode::SUCCESS
        }
        Command::Diagnose { target, file, namespace, policy, now, logs, output } => {
            init_logging("text");
            let thresholds = match read_thresholds(policy.as_deref()) {
                Ok(thresholds) => thresholds,
                Err(message) => return finish(Err(message)),
            };
            let result = match (target, file) {
                (None, Some(file)) => diagnose_file(&file, now, &thresholds, output),
                (Some(target), None) => diagnose_live(&target, namespace, logs, &thresholds, output).await,
                (None, None) => Err("nothing to diagnose: give job/NAME or -f FILE".to_string()),
                (Some(_), Some(_)) => Err("give either job/NAME or -f FILE, not both".to_string()),
            };
            finish(result)
        }
        Command::Report { namespace, window, output } => {
            init_logging("text");
            finish(report(namespace, &window, output).await)
        }
    }
}

fn finish(result: Result<String, String>) -> ExitCode {
    match result {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Reads the thresholds of a JobHealthPolicy file, or returns the defaults without one.
fn read_thresholds(path: Option<&str>) -> Result<Thresholds, String> {
    let Some(path) = path else {
        return Ok(Thresholds::default());
    };
    let text = std::fs::read_to_string(path).map_err(|error| format!("reading policy {path} failed: {error}"))?;
    let policy: JobHealthPolicy = serde_norway::from_str(&text).map_err(|error| format!("{path}: invalid JobHealthPolicy: {error}"))?;
    validate_policy(&policy).map_err(|error| format!("{path}: {error}"))?;
    Ok(policy.thresholds())
}

fn diagnose_file(file: &str, now: Option<jiff::Timestamp>, thresholds: &Thresholds, output: Format) -> Result<String, String> {
    let text = if file == "-" {
        std::io::read_to_string(std::io::stdin()).map_err(|error| format!("reading standard input failed: {error}"))?
    } else {
        std::fs::read_to_string(file).map_err(|error| format!("reading {file} failed: {error}"))?
    };
    let result = diagnose_text(&text, now, thresholds).map_err(|error| format!("{file}: {error}"))?;
    for remark in &result.remarks {
        eprintln!("note: {remark}");
    }
    Ok(render(&result.diagnoses, output))
}

async fn connect() -> Result<(kube::Client, String), String> {
    let config = kube::Config::infer()
        .await
        .map_err(|error| format!("cannot load a kubeconfig or in-cluster config: {error}; set KUBECONFIG"))?;
    let default_namespace = config.default_namespace.clone();
    let client = kube::Client::try_from(config).map_err(|error| format!("cannot build a Kubernetes client: {error}"))?;
    Ok((client, default_namespace))
}

async fn diagnose_live(target: &str, namespace: Option<String>, logs: usize, thresholds: &Thresholds, output: Format) -> Result<String, String> {
    let name = live::parse_target(target).map_err(|error| error.to_string())?;
    let (client, default_namespace) = connect().await?;
    let namespace = namespace.unwrap_or(default_namespace);
    let diagnosis = live::diagnose_job(&client, &namespace, &name, thresholds, logs)
        .await
        .map_err(|error| error.to_string())?;
    Ok(render(&[diagnosis], output))
}

async fn report(namespace: Option<String>, window: &str, output: Format) -> Result<String, String> {
    let window = summary::parse_window(window)?;
    let (client, default_namespace) = connect().await?;
    let namespace = namespace.unwrap_or(default_namespace);
    let summary = summary::report_namespace(&client, &namespace, window, &Thresholds::default())
        .await
        .map_err(|error| error.to_string())?;
    match output {
        Format::Table => Ok(summary::render_summary(&summary)),
        Format::Json => Ok(format!("{}\n", serde_json::to_string_pretty(&summary).expect("a summary always serializes"))),
        Format::Yaml => Ok(jobhealth::yaml::to_yaml(&summary).expect("a summary always serializes")),
    }
}

fn init_logging(format: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,kube=warn"));
    // Colours only on a terminal, so log files stay plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}
