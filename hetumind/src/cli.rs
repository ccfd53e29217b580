//! The command line of every `lambda_main!()` binary, run when it is not under Lambda.
//!
//! Exit codes: 0 the execution succeeded (or the command did), 1 it failed, 2 the input was
//! invalid (a bad file, an invalid workflow, an unknown execution), 3 it was left waiting.

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use serde::de::DeserializeOwned;

use crate::Limits;
use crate::config::{Config, DEFAULT_STATE, INDEX_VAR, STATE_VAR};
use crate::engine::{
    Drive, Driven, Engine, EngineError, EngineOptions, NodeEvent, NodeOutcome, Observer, Plan,
};
use crate::index::{ExecutionFilter, ExecutionIndex, ExecutionRecord};
use crate::model::{
    ExecuteWorkflow, ExecutionState, ExecutionStatus, ItemData, NextAction, NodeRunRecord,
    NodeState, Request, Response, ResumeExecution, Workflow,
};
use crate::registry::Registry;
use crate::secrets::Secrets;
use crate::store::StateStore;

const SUCCESS: u8 = 0;
const FAILED: u8 = 1;
const INVALID: u8 = 2;
const WAITING: u8 = 3;

/// Engine options and trigger mappings come from the same variables as under Lambda.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn engine_options() -> Result<EngineOptions, Failure> {
    Config::engine_options(&env).map_err(|error| Failure::invalid(error.to_string()))
}

/// An engine on `store` that runs nodes: with the limits and the secrets the environment
/// sets.
fn running_engine(
    registry: &'static Registry,
    store: Arc<dyn StateStore>,
    options: EngineOptions,
) -> Result<Engine, Failure> {
    let secrets = Secrets::from_env(&env).map_err(|error| Failure::invalid(error.to_string()))?;
    let engine = Engine::new(registry, store)
        .with_options(options)
        .with_secrets(Arc::new(secrets));
    with_configured_index(engine)
}

/// `engine`, with the execution index `HETUMIND_INDEX` names, if any.
fn with_configured_index(engine: Engine) -> Result<Engine, Failure> {
    Ok(match configured_index()? {
        Some(index) => engine.with_index(index),
        None => engine,
    })
}

#[derive(Debug, Parser)]
#[command(
    about = "Runs Hetumind workflows with the nodes linked into this binary.",
    version
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs a workflow to its end, continuing and sleeping through short waits as an
    /// orchestrator would.
    Run {
        /// The workflow definition (JSON).
        workflow: PathBuf,
        /// The input items: a JSON array of `{"json": ...}` items (default: one empty item).
        #[arg(long)]
        input: Option<PathBuf>,
        #[command(flatten)]
        options: RunOptions,
        /// The execution's identifier (default: a new UUID v7).
        #[arg(long)]
        execution_id: Option<String>,
        /// Another workflow definition to store first, for the workflow to name by id (its
        /// `settings.error_workflow`); repeatable. A stored workflow of the same id is
        /// replaced.
        #[arg(long = "with", value_name = "WORKFLOW")]
        with: Vec<PathBuf>,
    },
    /// Continues an execution left running or waiting.
    ///
    /// With `--node`, sends a signal: the named node, waiting for one (or for a time), resumes
    /// now, with the items of `--input` in place of its input when given.
    Resume {
        /// The execution to continue.
        execution_id: String,
        /// A waiting node to resume now: the signal a node waiting for one waits for.
        #[arg(long, value_name = "NAME")]
        node: Option<String>,
        /// The items the node resumes with, replacing its input: a JSON array of
        /// `{"json": ...}` items. Only with `--node`.
        #[arg(long, requires = "node")]
        input: Option<PathBuf>,
        #[command(flatten)]
        options: RunOptions,
    },
    /// Lists the nodes linked into this binary.
    Nodes {
        /// The whole catalog as JSON: schemas, outputs, retry policies.
        #[arg(long)]
        json: bool,
    },
    /// Prints a Mermaid flowchart of a workflow, with the node states of an execution.
    Graph {
        /// The workflow definition (JSON).
        workflow: PathBuf,
        /// Colours the nodes by their state in this execution; the chart is of the workflow
        /// the execution runs, as stored when it started (a note says when it differs from the
        /// file).
        #[arg(long)]
        execution: Option<String>,
        /// The state store URL; default `$HETUMIND_STATE`, else `file://./.hetumind`.
        #[arg(long)]
        state: Option<String>,
    },
    /// Runs one Lambda handler invocation in-process with an event file, and prints the
    /// response (triggers are mapped by `HETUMIND_TRIGGERS`).
    Invoke {
        /// The event (JSON): a Hetumind request, or an API Gateway, EventBridge or SQS event.
        event: PathBuf,
        /// The state store URL; default `$HETUMIND_STATE`, else `file://./.hetumind`.
        #[arg(long)]
        state: Option<String>,
    },
    /// Checks a workflow and reports every problem with its JSON path.
    Validate {
        /// The workflow definition (JSON).
        workflow: PathBuf,
    },
    /// Deletes finished executions last written longer ago than the retention period.
    Cleanup {
        /// The retention period, in hours.
        #[arg(long, value_name = "HOURS", default_value_t = 168)]
        older_than: u64,
        /// The state store URL; default `$HETUMIND_STATE`, else `file://./.hetumind`.
        #[arg(long)]
        state: Option<String>,
    },
    /// Lists executions, or shows one.
    Executions {
        #[command(subcommand)]
        command: ExecutionsCommand,
    },
    /// Maintains the execution index that `HETUMIND_INDEX` names.
    Index {
        #[command(subcommand)]
        command: IndexCommand,
    },
    /// Prints a JSON Schema.
    Schema {
        /// Which schema.
        #[arg(value_enum)]
        what: SchemaKind,
    },
}

#[derive(Debug, Subcommand)]
enum ExecutionsCommand {
    /// Lists executions, the most recently started first: from the execution index when
    /// `HETUMIND_INDEX` names one, else by walking the store (slower: it reads every
    /// execution).
    List {
        /// Only executions of this status: running, waiting, success or failed.
        #[arg(long)]
        status: Option<ExecutionStatus>,
        /// Only executions of this workflow.
        #[arg(long, value_name = "ID")]
        workflow: Option<String>,
        /// Only executions started at or after this time (RFC 3339, like 2026-12-05T10:00:00Z).
        #[arg(long, value_name = "TIME")]
        since: Option<DateTime<Utc>>,
        /// Only executions started before this time (RFC 3339).
        #[arg(long, value_name = "TIME")]
        until: Option<DateTime<Utc>>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Prints the executions as a JSON array.
        #[arg(long)]
        json: bool,
        /// The state store URL; default `$HETUMIND_STATE`, else `file://./.hetumind`.
        #[arg(long)]
        state: Option<String>,
    },
    /// Shows one execution: its status, every node's state, the timeline of its node runs
    /// (attempt, start, duration, items in and out, error) and its output keys.
    Show {
        /// The execution.
        execution_id: String,
        /// Prints it as a JSON object.
        #[arg(long)]
        json: bool,
        /// The state store URL; default `$HETUMIND_STATE`, else `file://./.hetumind`.
        #[arg(long)]
        state: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum IndexCommand {
    /// Writes the execution index again from the store: every execution the store holds,
    /// replacing every row.
    Rebuild {
        /// The state store URL; default `$HETUMIND_STATE`, else `file://./.hetumind`.
        #[arg(long)]
        state: Option<String>,
    },
}

#[derive(Debug, Clone, clap::Args)]
struct RunOptions {
    /// The state store URL (`file://DIR`, `mem://`); default `$HETUMIND_STATE`, else
    /// `file://./.hetumind`.
    #[arg(long)]
    state: Option<String>,
    /// Prints the final response object as JSON.
    #[arg(long)]
    json: bool,
    /// The longest wait slept through; a longer one ends the command with exit code 3.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    max_sleep: u64,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SchemaKind {
    /// The workflow format.
    Workflow,
}

/// Why a command could not do its work, and the exit code that says so.
#[derive(Debug)]
struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    fn invalid(message: impl Into<String>) -> Self {
        Self {
            code: INVALID,
            message: message.into(),
        }
    }
}

impl From<EngineError> for Failure {
    fn from(error: EngineError) -> Self {
        let code = match error {
            EngineError::InvalidRequest(_)
            | EngineError::WorkflowInvalid(_)
            | EngineError::ExecutionNotFound(_)
            | EngineError::WorkflowNotFound(_)
            | EngineError::ExecutionExists { .. } => INVALID,
            _ => FAILED,
        };
        Self {
            code,
            message: error.to_string(),
        }
    }
}

/// Runs the command line `args` (program name first).
pub async fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() { INVALID } else { SUCCESS });
        }
    };
    match execute(cli.command).await {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

async fn execute(command: Command) -> Result<u8, Failure> {
    let registry = Registry::global().map_err(|error| Failure::invalid(error.to_string()))?;
    match command {
        Command::Run {
            workflow,
            input,
            options,
            execution_id,
            with,
        } => {
            let engine_options = engine_options()?;
            let limits = &engine_options.limits;
            let workflow: Workflow = read_json(&workflow, limits, FileKind::Workflow)?;
            let stored = with
                .into_iter()
                .map(|path| {
                    let workflow = read_json::<Workflow>(&path, limits, FileKind::Workflow)?;
                    Ok((path, workflow))
                })
                .collect::<Result<Vec<_>, Failure>>()?;
            let input_data = input
                .map(|path| read_json::<Vec<ItemData>>(&path, limits, FileKind::Request))
                .transpose()?;
            let request = Request::ExecuteWorkflow(ExecuteWorkflow {
                workflow_id: None,
                workflow: Some(Box::new(workflow)),
                execution_id,
                input_data: Some(input_data.unwrap_or_else(|| vec![ItemData::empty()])),
                trigger: Some("cli".to_owned()),
                metadata: serde_json::Map::new(),
            });
            drive(registry, request, &options, engine_options, &stored).await
        }
        Command::Resume {
            execution_id,
            node,
            input,
            options,
        } => {
            let engine_options = engine_options()?;
            let input_data = input
                .map(|path| {
                    read_json::<Vec<ItemData>>(&path, &engine_options.limits, FileKind::Request)
                })
                .transpose()?;
            let request = Request::ResumeExecution(ResumeExecution {
                execution_id,
                node_name: node,
                input_data,
                task_token: None,
                metadata: serde_json::Map::new(),
            });
            drive(registry, request, &options, engine_options, &[]).await
        }
        Command::Nodes { json } => {
            if json {
                print_json(&registry.catalog());
            } else {
                for node in registry.iter() {
                    let summary = node.description.lines().next().unwrap_or_default();
                    stdout(&format!("{:<32} {}\n", node.id(), summary));
                }
            }
            Ok(SUCCESS)
        }
        Command::Graph {
            workflow,
            execution,
            state,
        } => {
            let path = workflow;
            let mut workflow: Workflow =
                read_json(&path, &engine_options()?.limits, FileKind::Workflow)?;
            let state = match execution {
                None => None,
                Some(id) => {
                    let engine = Engine::new(registry, open_store(state)?);
                    let unknown = |error: EngineError| Failure::invalid(error.to_string());
                    let stored = engine.execution_workflow(&id).await.map_err(unknown)?;
                    // The states are by node name: drawn on another workflow, they would
                    // colour whatever nodes share a name.
                    if stored != workflow {
                        eprintln!(
                            "note: execution `{id}` runs another workflow than {} (`{}`): drawing the execution's own workflow `{}`",
                            path.display(),
                            workflow.id,
                            stored.id
                        );
                        workflow = stored;
                    }
                    Some(engine.execution_state(&id).await.map_err(unknown)?)
                }
            };
            stdout(&crate::graph::mermaid(&workflow, registry, state.as_ref()));
            Ok(SUCCESS)
        }
        Command::Invoke { event, state } => {
            let engine_options = engine_options()?;
            let event: serde_json::Value =
                read_json(&event, &engine_options.limits, FileKind::Request)?;
            let triggers =
                Config::triggers(&env).map_err(|error| Failure::invalid(error.to_string()))?;
            let engine = running_engine(registry, open_store(state)?, engine_options)?;
            let mut handler = crate::lambda::Handler::new(engine, triggers);
            if let Some(state_machine) =
                Config::state_machine(env).map_err(|error| Failure::invalid(error.to_string()))?
            {
                handler =
                    handler.with_state_machine(crate::lambda::StateMachine::new(state_machine));
            }
            match invocation(handler.handle(event, 0)).await {
                Ok(response) => {
                    print_json(&response);
                    Ok(SUCCESS)
                }
                Err(error) => {
                    print_json(&serde_json::json!({
                        "errorType": error.error_type(),
                        "errorMessage": error.to_string(),
                    }));
                    Ok(match error {
                        crate::lambda::HandlerError::InvalidRequest(_) => INVALID,
                        crate::lambda::HandlerError::Engine(error) => Failure::from(error).code,
                    })
                }
            }
        }
        Command::Validate { workflow: path } => {
            let limits = engine_options()?.limits;
            let workflow: Workflow = read_json(&path, &limits, FileKind::Workflow)?;
            match Plan::checked(&workflow, registry, &limits) {
                Ok(plan) => {
                    stdout(&format!(
                        "{}: valid ({} nodes)\n",
                        path.display(),
                        plan.nodes().len()
                    ));
                    Ok(SUCCESS)
                }
                Err(error) => Err(Failure::invalid(format!("{}: {error}", path.display()))),
            }
        }
        Command::Cleanup { older_than, state } => {
            let engine = with_configured_index(Engine::new(registry, open_store(state)?))?;
            let retention = Duration::from_secs(older_than.saturating_mul(3600));
            let deleted = engine.cleanup(retention).await?;
            eprintln!("deleted {} finished execution(s)", deleted.len());
            for id in deleted {
                stdout(&format!("{id}\n"));
            }
            Ok(SUCCESS)
        }
        Command::Executions { command } => executions(registry, command).await,
        Command::Index {
            command: IndexCommand::Rebuild { state },
        } => {
            let index = configured_index()?.ok_or_else(|| {
                Failure::invalid(format!(
                    "{INDEX_VAR} is not set: there is no index to rebuild"
                ))
            })?;
            let engine = Engine::new(registry, open_store(state)?);
            let records = engine.execution_records().await?;
            index
                .replace_all(&records)
                .await
                .map_err(|error| Failure::invalid(error.to_string()))?;
            eprintln!("indexed {} execution(s)", records.len());
            Ok(SUCCESS)
        }
        Command::Schema {
            what: SchemaKind::Workflow,
        } => {
            print_json(&Workflow::json_schema());
            Ok(SUCCESS)
        }
    }
}

/// The execution index `HETUMIND_INDEX` names, if any.
fn configured_index() -> Result<Option<Arc<dyn ExecutionIndex>>, Failure> {
    Config::index(env).map_err(|error| Failure::invalid(error.to_string()))
}

/// `executions list` and `executions show`.
async fn executions(
    registry: &'static Registry,
    command: ExecutionsCommand,
) -> Result<u8, Failure> {
    match command {
        ExecutionsCommand::List {
            status,
            workflow,
            since,
            until,
            limit,
            json,
            state,
        } => {
            let filter = ExecutionFilter {
                status,
                workflow_id: workflow,
                since,
                until,
                limit: Some(limit),
            };
            let records = match configured_index()? {
                Some(index) => index
                    .list(&filter)
                    .await
                    .map_err(|error| Failure::invalid(error.to_string()))?,
                None => {
                    let engine = Engine::new(registry, open_store(state)?);
                    filter.apply(engine.execution_records().await?)
                }
            };
            if json {
                print_json(&records);
                return Ok(SUCCESS);
            }
            let mut table = format!(
                "{:<38} {:<20} {:<8} {:<14} {:<20} {:>5} {:>6}  {}\n",
                "EXECUTION", "WORKFLOW", "STATUS", "TRIGGER", "STARTED", "NODES", "FAILED", "ERROR"
            );
            for record in &records {
                table.push_str(&format!(
                    "{:<38} {:<20} {:<8} {:<14} {:<20} {:>5} {:>6}  {}\n",
                    record.execution_id,
                    record.workflow_id,
                    record.status,
                    record.trigger,
                    record.started_at.format("%Y-%m-%dT%H:%M:%SZ"),
                    format!("{}/{}", record.nodes.succeeded, record.nodes.total),
                    record.nodes.failed,
                    record.error.as_deref().unwrap_or(""),
                ));
            }
            stdout(&table);
            Ok(SUCCESS)
        }
        ExecutionsCommand::Show {
            execution_id,
            json,
            state,
        } => {
            let engine = Engine::new(registry, open_store(state)?);
            let record = engine.execution_record(&execution_id).await?;
            let view = engine.execution_state(&execution_id).await?;
            let runs = engine.history(&execution_id).await?;
            let output_keys: Vec<&str> = view
                .nodes
                .values()
                .filter_map(|node| match node {
                    NodeState::Success { output_key, .. } => Some(output_key.as_str()),
                    _ => None,
                })
                .collect();
            if json {
                print_json(&serde_json::json!({
                    "execution": record,
                    "nodes": view.nodes,
                    "runs": runs,
                    "output_keys": output_keys,
                }));
                return Ok(SUCCESS);
            }
            stdout(&show(&record, &view, &runs, &output_keys));
            Ok(SUCCESS)
        }
    }
}

/// `executions show` for a terminal.
#[allow(clippy::write_literal)] // the column headings line up with the rows' formats
fn show(
    record: &ExecutionRecord,
    view: &ExecutionState,
    runs: &[NodeRunRecord],
    output_keys: &[&str],
) -> String {
    use std::fmt::Write as _;
    let time = |at: &DateTime<Utc>| at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    let mut out = String::new();
    let _ = writeln!(out, "execution  {}", record.execution_id);
    let _ = writeln!(out, "workflow   {}", record.workflow_id);
    let _ = writeln!(
        out,
        "status     {} (trigger: {})",
        record.status, record.trigger
    );
    let _ = writeln!(out, "started    {}", time(&record.started_at));
    let _ = writeln!(out, "updated    {}", time(&record.updated_at));
    if let Some(error) = &record.error {
        let _ = writeln!(out, "error      {error}");
    }
    let _ = writeln!(out, "\nnodes");
    for (name, node) in &view.nodes {
        let (status, attempt) = match node {
            NodeState::Running { attempt, .. } => ("running", Some(attempt)),
            NodeState::Waiting {
                attempt,
                signal: true,
                ..
            } => ("waiting for a signal", Some(attempt)),
            NodeState::Waiting { attempt, .. } => ("waiting", Some(attempt)),
            NodeState::Success { attempt, .. } => ("success", Some(attempt)),
            NodeState::Skipped {} => ("skipped", None),
            NodeState::Failed { attempt, .. } => ("failed", Some(attempt)),
        };
        let attempt = attempt.map_or_else(String::new, |attempt| format!("attempt {attempt}"));
        let _ = writeln!(out, "  {name:<24} {status:<22} {attempt}");
    }
    let _ = writeln!(
        out,
        "\ntimeline\n  {:<24} {:>7} {:<26} {:>10} {:>6} {:>6}  {:<11} {}",
        "NODE", "ATTEMPT", "STARTED", "DURATION", "IN", "OUT", "OUTCOME", "ERROR"
    );
    for run in runs {
        let name = match run.batch {
            Some(batch) => format!("{} [batch {batch}]", run.node),
            None => run.node.clone(),
        };
        let outcome = serde_json::to_value(run.outcome)
            .ok()
            .and_then(|value| value.as_str().map(str::to_owned))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {name:<24} {:>7} {:<26} {:>8}ms {:>6} {:>6}  {outcome:<11} {}",
            run.attempt,
            time(&run.started_at),
            run.duration_ms,
            run.items_in,
            run.items_out
                .map_or_else(|| "-".to_owned(), |n| n.to_string()),
            run.error.as_deref().unwrap_or(""),
        );
    }
    let _ = writeln!(out, "\noutput keys");
    for key in output_keys {
        let _ = writeln!(out, "  {key}");
    }
    out
}

/// Drives an execution as an orchestrator would (see [`Engine::drive`]): sleeps through waits
/// up to `--max-sleep`, and stops at the end or at a longer wait. The `stored` workflows (read
/// from their paths) are stored first.
async fn drive(
    registry: &'static Registry,
    request: Request,
    options: &RunOptions,
    engine_options: EngineOptions,
    stored: &[(PathBuf, Workflow)],
) -> Result<u8, Failure> {
    let store = open_store(options.state.clone())?;
    let progress = Progress {
        nodes: std::io::stderr().is_terminal(),
    };
    let engine = running_engine(registry, store, engine_options)?.with_observer(Arc::new(progress));
    for (path, workflow) in stored {
        engine.put_workflow(workflow).await.map_err(|error| {
            let mut failure = Failure::from(error);
            failure.message = format!("{}: {}", path.display(), failure.message);
            failure
        })?;
    }
    let drive = Drive::sleeping_up_to(Duration::from_secs(options.max_sleep));
    let driven = invocation(engine.drive(request, &drive)).await?;
    let response = driven.response;
    report(&engine, &response, options.json).await?;
    report_error_workflow(&response, driven.error_run.as_deref());
    complete_task_tokens(&response).await;
    // The process ends next: every write is already durable, and the system frees a large
    // `mem://` store at once where dropping it would free it object by object.
    std::mem::forget(engine);
    Ok(match response.next_action {
        NextAction::Complete => SUCCESS,
        NextAction::Failed { .. } => FAILED,
        NextAction::Wait { .. }
        | NextAction::AwaitSignal { .. }
        | NextAction::Continue { .. }
        | NextAction::FanOut { .. } => WAITING,
    })
}

/// Runs `work` as this process's invocation: in its span, flushed when it ends (with the `otel`
/// feature; see the guide, docs/observability.md).
async fn invocation<F: Future>(work: F) -> F::Output {
    let span = crate::telemetry::invocation_span(None, true);
    let output = tracing::Instrument::instrument(work, span).await;
    crate::telemetry::flush(None).await;
    output
}

/// The store `--state` names, else `$HETUMIND_STATE`, else the local default.
fn open_store(state: Option<String>) -> Result<Arc<dyn StateStore>, Failure> {
    let url = state
        .or_else(|| std::env::var(STATE_VAR).ok())
        .unwrap_or_else(|| DEFAULT_STATE.to_owned());
    crate::config::open_store(&url).map_err(|error| Failure::invalid(error.to_string()))
}

async fn report(engine: &Engine, response: &Response, json: bool) -> Result<(), Failure> {
    if json {
        print_json(response);
        return Ok(());
    }
    match &response.next_action {
        NextAction::Complete => {
            // An output too big for the response is read from the store.
            let stored;
            let items = match &response.output_data {
                Some(items) => items.as_slice(),
                None => {
                    stored = engine.final_output(&response.execution_id).await?;
                    stored.as_slice()
                }
            };
            eprintln!(
                "execution {}: success, {} item(s)",
                response.execution_id,
                items.len()
            );
            let values: Vec<&serde_json::Value> = items.iter().map(|item| &item.json).collect();
            print_json(&values);
        }
        NextAction::Failed { error } => {
            eprintln!("execution {}: failed: {error}", response.execution_id);
        }
        NextAction::Wait { resume_at } => eprintln!(
            "execution {}: waiting until {resume_at}; continue it with `resume {}`",
            response.execution_id, response.execution_id
        ),
        NextAction::AwaitSignal {
            nodes, resume_at, ..
        } => {
            let id = &response.execution_id;
            let until = resume_at.map_or(String::new(), |at| {
                format!(
                    " (until {})",
                    crate::model::ceil_to_second(at).format("%Y-%m-%dT%H:%M:%SZ")
                )
            });
            for node in nodes {
                eprintln!(
                    "execution {id}: node `{node}` waits for a signal{until}; send it with `resume {id} --node {} --input FILE`",
                    shell_word(node)
                );
            }
        }
        NextAction::Continue { .. } | NextAction::FanOut { .. } => {}
    }
    Ok(())
}

/// Completes the task tokens of state machine runs that were paused until a signal this
/// command delivered, through the state machine `HETUMIND_STATE_MACHINE_ARN` names; without
/// it, says that they wait.
async fn complete_task_tokens(response: &Response) {
    if response.task_tokens.is_empty() {
        return;
    }
    let id = &response.execution_id;
    let Some(arn) = std::env::var(crate::config::STATE_MACHINE_VAR)
        .ok()
        .filter(|arn| !arn.is_empty())
    else {
        eprintln!(
            "execution {id}: a Step Functions run paused until this signal stays paused: set {} to have it go on",
            crate::config::STATE_MACHINE_VAR
        );
        return;
    };
    let state_machine = crate::lambda::StateMachine::new(arn);
    for problem in state_machine.complete_all(response).await {
        eprintln!("execution {id}: {problem}");
    }
}

/// `word` as one word of a POSIX shell command: as it is when it is plain, else quoted.
fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:@".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Says on standard error what became of the error workflow a failed execution started.
fn report_error_workflow(response: &Response, run: Option<&Driven>) {
    let Some(started) = &response.error_workflow else {
        return;
    };
    let workflow = &started.workflow_id;
    match (run, &started.error) {
        (_, Some(error)) => eprintln!("error workflow `{workflow}` did not start: {error}"),
        (Some(run), None) => {
            let run = &run.response;
            let id = &run.execution_id;
            match &run.next_action {
                NextAction::Complete => {
                    eprintln!("error workflow `{workflow}`: execution {id}: success");
                }
                NextAction::Failed { error } => {
                    eprintln!("error workflow `{workflow}`: execution {id}: failed: {error}");
                }
                NextAction::Wait { .. }
                | NextAction::AwaitSignal { .. }
                | NextAction::Continue { .. }
                | NextAction::FanOut { .. } => {
                    eprintln!(
                        "error workflow `{workflow}`: execution {id}: unfinished; continue it with `resume {id}`"
                    );
                }
            }
        }
        // Logged by the drive.
        (None, None) => {}
    }
}

/// Writes `text` to standard output. A reader that went away (`| head`) ends the program
/// quietly, as command-line tools do, instead of a panic.
fn stdout(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(error) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(SUCCESS.into());
        }
        eprintln!("error: cannot write to standard output: {error}");
    }
}

fn print_json(value: &impl serde::Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => stdout(&format!("{text}\n")),
        Err(error) => eprintln!("error: cannot print JSON: {error}"),
    }
}

/// What a JSON file the command line reads is, and so the limit on its size.
#[derive(Clone, Copy)]
enum FileKind {
    Workflow,
    Request,
}

/// Reads a JSON file of no more bytes than its kind's limit in `limits` allows; the error
/// names the file, the JSON path of the problem and its line.
fn read_json<T: DeserializeOwned>(
    path: &Path,
    limits: &Limits,
    kind: FileKind,
) -> Result<T, Failure> {
    let (limit, name) = match kind {
        FileKind::Workflow => (limits.workflow_bytes, "workflow_bytes"),
        FileKind::Request => (limits.request_bytes, "request_bytes"),
    };
    let file = std::fs::File::open(path)
        .map_err(|error| Failure::invalid(format!("cannot read {}: {error}", path.display())))?;
    let bytes = Limits::read_bounded(file, limit, name)
        .map_err(|problem| Failure::invalid(format!("{} {problem}", path.display())))?;
    crate::json_path::from_slice(&bytes)
        .map_err(|problem| Failure::invalid(format!("{}: {problem}", path.display())))
}

/// Progress on standard error: every wait slept through, and node by node on a terminal.
#[derive(Debug)]
struct Progress {
    nodes: bool,
}

impl Observer for Progress {
    fn waiting(&self, _execution_id: &str, until: chrono::DateTime<chrono::Utc>) {
        let delay = (until - chrono::Utc::now()).to_std().unwrap_or_default();
        eprintln!("waiting until {until} ({} s)", delay.as_secs());
    }

    fn node_finished(&self, event: &NodeEvent<'_>) {
        if !self.nodes {
            return;
        }
        let mark = match event.outcome {
            NodeOutcome::Succeeded => "✓",
            NodeOutcome::Failed => "✗",
            NodeOutcome::Waiting => "⏸",
            NodeOutcome::Interrupted => "…",
            NodeOutcome::Skipped => "-",
        };
        let attempt = if event.attempt > 1 {
            format!(" (attempt {})", event.attempt)
        } else {
            String::new()
        };
        eprintln!(
            "  {mark} {} [{}] {} ms{attempt}",
            event.node,
            event.kind,
            event.duration.as_millis()
        );
    }
}
