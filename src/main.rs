//! The `jobhealth` command: runs the operator, prints the CRDs, and diagnoses Jobs.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use jobhealth::controller::{self, Scope};
use jobhealth::crd_yaml;
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
    }
}

fn init_logging(format: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,kube=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}
