//! What a node's expressions read besides its item: the stored outputs of the earlier nodes
//! they name (and of the nodes between, to pair items), and the secrets they name. Fetched
//! before each attempt; the secrets' values are then kept out of what the attempt leaves.

use std::sync::Arc;

use crate::expression::{Lookups, Parameters};
use crate::node::{NodeError, NodeOutput};
use crate::secrets::{Secret, Secrets, redact_json};
use crate::store::{ExecutionKeys, StateStore};

use super::journal::stored_output;

/// Where a node run fetches its [`Lookups`] from.
pub(super) struct Reads {
    store: Arc<dyn StateStore>,
    keys: ExecutionKeys,
    /// The nodes whose outputs to read.
    nodes: Arc<[Arc<str>]>,
    /// The secrets to fetch, and where from.
    names: Vec<Arc<str>>,
    secrets: Arc<Secrets>,
}

impl Reads {
    /// What a run of a node with `parameters` that reads the outputs of `nodes` fetches, if
    /// anything.
    pub(super) fn new(
        store: &Arc<dyn StateStore>,
        keys: &ExecutionKeys,
        nodes: &Arc<[Arc<str>]>,
        parameters: &Parameters,
        secrets: &Arc<Secrets>,
    ) -> Option<Arc<Self>> {
        let names = &parameters.references().secrets;
        (!nodes.is_empty() || !names.is_empty()).then(|| {
            Arc::new(Self {
                store: Arc::clone(store),
                keys: keys.clone(),
                nodes: Arc::clone(nodes),
                names: names.iter().cloned().collect(),
                secrets: Arc::clone(secrets),
            })
        })
    }

    /// The outputs and secrets, as they are now. A node that has no output (it was skipped)
    /// is left out: reading it is the expression's error.
    ///
    /// # Errors
    ///
    /// A store that cannot be read (retryable), or a secret that cannot be had.
    pub(super) async fn fetch(&self) -> Result<Lookups, NodeError> {
        let mut lookups = Lookups::default();
        for node in &*self.nodes {
            let output = stored_output(&*self.store, &self.keys, node)
                .await
                .map_err(|error| {
                    NodeError::retryable(format!(
                        "cannot read the output of node `{node}` for the parameters: {error}"
                    ))
                })?;
            if let Some(output) = output {
                lookups.add_output(Arc::clone(node), output);
            }
        }
        for name in &self.names {
            let secret = self.secrets.get(name).await.map_err(|error| {
                if error.transient {
                    NodeError::retryable(&error)
                } else {
                    NodeError::terminal(&error)
                }
            })?;
            lookups.add_secret(Arc::clone(name), secret);
        }
        Ok(lookups)
    }
}

/// Replaces every secret value of `lookups` in what an attempt leaves: its output's items and
/// the errors of its items, or its error.
pub(super) fn redact(lookups: &Lookups, result: Result<&mut NodeOutput, &mut NodeError>) {
    let secrets: Vec<&Secret> = lookups.secrets().collect();
    if secrets.is_empty() {
        return;
    }
    match result {
        Ok(output) => {
            for item in output.outputs.iter_mut().flatten() {
                redact_json(&mut item.json, &secrets);
            }
            for error in output
                .marks
                .iter_mut()
                .filter_map(|mark| mark.error.as_mut())
            {
                error.redact(&secrets);
            }
        }
        Err(error) => error.redact(&secrets),
    }
}
