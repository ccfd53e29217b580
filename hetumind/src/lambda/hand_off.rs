//! Handing an execution that a trigger started to the state machine that drives it: when it
//! does not finish within the trigger's invocation, the function starts the Step Functions
//! state machine named by `HETUMIND_STATE_MACHINE_ARN`, with the execution id as input, and a
//! Step Functions execution name made of it, so that a second start for the same execution (a
//! redelivered message or event) starts nothing twice.
//!
//! It also completes the task tokens of state machine runs paused until a signal (a
//! `.waitForTaskToken` task): the invocation that moves such an execution on sends
//! `SendTaskSuccess` with its answer, and the state machine goes on from there.

use serde_json::json;

/// The state machine executions are handed to (`HETUMIND_STATE_MACHINE_ARN`), with its client
/// built on first use.
#[derive(Debug, Clone)]
pub struct StateMachine {
    arn: String,
    #[cfg(feature = "step-functions")]
    client: tokio::sync::OnceCell<aws_sdk_sfn::Client>,
}

/// What handing an execution over came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandedOff {
    /// A Step Functions execution of the state machine drives it now.
    Started,
    /// A Step Functions execution for it had been started before (it may have ended since).
    AlreadyStarted,
}

impl StateMachine {
    /// The state machine `arn`, as [`Config::state_machine`](crate::config::Config::state_machine)
    /// checked it.
    #[must_use]
    pub fn new(arn: impl Into<String>) -> Self {
        Self {
            arn: arn.into(),
            #[cfg(feature = "step-functions")]
            client: tokio::sync::OnceCell::new(),
        }
    }

    /// The same, with `client` as configured instead of one built from the environment.
    #[cfg(feature = "step-functions")]
    #[must_use]
    pub fn with_client(mut self, client: aws_sdk_sfn::Client) -> Self {
        self.client = tokio::sync::OnceCell::new_with(Some(client));
        self
    }

    /// Its ARN.
    #[must_use]
    pub fn arn(&self) -> &str {
        &self.arn
    }

    /// Starts a state machine execution that drives execution `execution_id` (input
    /// `{"execution_id": ...}`, name [`execution_name`]).
    ///
    /// # Errors
    ///
    /// When Step Functions refuses or cannot be reached; the message says why.
    pub async fn start(&self, execution_id: &str) -> Result<HandedOff, String> {
        let input = json!({ "execution_id": execution_id }).to_string();
        self.start_named(&execution_name(execution_id), input).await
    }

    #[cfg(feature = "step-functions")]
    async fn client(&self) -> &aws_sdk_sfn::Client {
        self.client
            .get_or_init(|| async { aws_sdk_sfn::Client::new(&crate::aws::load().await) })
            .await
    }

    /// Completes the paused state machine run that `task_token` belongs to with `output` (an
    /// invocation's answer, as JSON text): Step Functions' `SendTaskSuccess`. A token whose task
    /// already ended (it timed out and the state machine went on) is not an error.
    ///
    /// # Errors
    ///
    /// When Step Functions refuses or cannot be reached; the message says why.
    #[cfg(feature = "step-functions")]
    pub async fn complete(&self, task_token: &str, output: String) -> Result<(), String> {
        use aws_sdk_sfn::error::ProvideErrorMetadata;
        let sent = self
            .client()
            .await
            .send_task_success()
            .task_token(task_token)
            .output(output)
            .send()
            .await;
        match sent {
            Ok(_) => Ok(()),
            Err(error) if matches!(error.code(), Some("TaskTimedOut" | "TaskDoesNotExist")) => {
                tracing::info!(
                    "a paused state machine run had already gone on: {}",
                    aws_sdk_sfn::error::DisplayErrorContext(&error)
                );
                Ok(())
            }
            Err(error) => Err(format!(
                "cannot complete a task token of state machine `{}`: {}",
                self.arn,
                aws_sdk_sfn::error::DisplayErrorContext(&error)
            )),
        }
    }

    /// Completes every task token `response` hands back (see
    /// [`Response::task_tokens`](crate::model::Response::task_tokens)) with `response` as the
    /// output: the problems, one per token that could not be completed.
    pub async fn complete_all(&self, response: &crate::model::Response) -> Vec<String> {
        let output = match serde_json::to_string(response) {
            Ok(output) => output,
            Err(error) => return vec![format!("cannot write the answer: {error}")],
        };
        let mut problems = Vec::new();
        for token in &response.task_tokens {
            if let Err(problem) = self.complete(token, output.clone()).await {
                problems.push(problem);
            }
        }
        problems
    }

    /// Completes a task token (see the `step-functions` build): always an error without it.
    ///
    /// # Errors
    ///
    /// Always: this build cannot reach Step Functions.
    #[cfg(not(feature = "step-functions"))]
    pub async fn complete(&self, _task_token: &str, _output: String) -> Result<(), String> {
        Err("this build lacks hetumind's `step-functions` feature".to_owned())
    }

    #[cfg(feature = "step-functions")]
    async fn start_named(&self, name: &str, input: String) -> Result<HandedOff, String> {
        use aws_sdk_sfn::error::ProvideErrorMetadata;
        let client = self.client().await;
        let started = client
            .start_execution()
            .state_machine_arn(&self.arn)
            .name(name)
            .input(input)
            .send()
            .await;
        match started {
            Ok(_) => Ok(HandedOff::Started),
            Err(error) if error.code() == Some("ExecutionAlreadyExists") => {
                Ok(HandedOff::AlreadyStarted)
            }
            Err(error) => Err(format!(
                "cannot start state machine `{}` for execution `{name}`: {}",
                self.arn,
                aws_sdk_sfn::error::DisplayErrorContext(&error)
            )),
        }
    }

    #[cfg(not(feature = "step-functions"))]
    async fn start_named(&self, _name: &str, _input: String) -> Result<HandedOff, String> {
        Err("this build lacks hetumind's `step-functions` feature".to_owned())
    }
}

/// The state machine drives the sub-workflows that nodes start without waiting for them.
impl crate::engine::Launcher for StateMachine {
    fn launch<'a>(
        &'a self,
        execution_id: &'a str,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move { self.start(execution_id).await.map(drop) })
    }
}

/// The Step Functions execution name of execution `execution_id`: the id itself when it is a
/// valid name (1 to 80 ASCII letters, digits, `-` and `_`, as UUIDs and SQS message ids are),
/// else its first characters of those kinds and a hash of the whole id, so that one execution
/// always gets one name and two get two.
#[must_use]
pub fn execution_name(execution_id: &str) -> String {
    const MAX: usize = 80;
    let valid = |byte: u8| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_';
    if !execution_id.is_empty() && execution_id.len() <= MAX && execution_id.bytes().all(valid) {
        return execution_id.to_owned();
    }
    let digest = format!(
        "{:032x}",
        xxhash_rust::xxh3::xxh3_128(execution_id.as_bytes())
    );
    let readable: String = execution_id
        .bytes()
        .filter(|byte| valid(*byte))
        .take(MAX - digest.len() - 1)
        .map(char::from)
        .collect();
    format!("{readable}-{digest}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn execution_names_are_the_id_when_valid_and_a_stable_digest_otherwise() {
        let uuid = "01935f4e-7a3b-7c2d-9e8f-0123456789ab";
        assert_eq!(execution_name(uuid), uuid);
        let odd = "order #42 / retry";
        let name = execution_name(odd);
        assert!(name.starts_with("order42retry-"), "{name}");
        assert_eq!(name, execution_name(odd));
        assert_ne!(name, execution_name("order #42 / retry!"));
        let long = "x".repeat(500);
        assert_eq!(execution_name(&long).len(), 80);
        assert!(execution_name("").len() > 1);
    }
}
