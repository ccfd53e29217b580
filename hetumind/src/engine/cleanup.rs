//! Removing finished executions from the store.
//!
//! Retention rule: an execution that has ended (succeeded or failed) may be deleted once its
//! state was last written longer ago than the retention period; an execution still running or
//! waiting is never deleted.

use std::time::Duration;

use super::journal::from_json;
use super::{Engine, EngineError};
use crate::model::ExecutionState;
use crate::store::ExecutionKeys;

impl Engine {
    /// Deletes every object of a finished execution: its outputs, input and definition, and
    /// its state last (so that an interrupted deletion is found again by [`Engine::cleanup`]);
    /// then its row of the execution index, if there is one (as the index is written: a
    /// failure is logged and counted, never an error). Returns whether there was such an
    /// execution.
    ///
    /// # Errors
    ///
    /// When the execution has not ended, or the store fails.
    pub async fn delete_execution(&self, execution_id: &str) -> Result<bool, EngineError> {
        let keys = ExecutionKeys::new(execution_id);
        let Some(stored) = self.store.get(&keys.state()).await? else {
            return Ok(false);
        };
        let state: ExecutionState = from_json(&keys.state(), &stored.bytes)?;
        if !state.status.is_finished() {
            return Err(EngineError::InvalidRequest(format!(
                "execution `{execution_id}` has not ended; only finished executions are deleted"
            )));
        }
        let state_key = keys.state();
        for key in self.store.list(&keys.prefix()).await? {
            if key != state_key {
                self.store.delete(&key).await?;
            }
        }
        self.store.delete(&state_key).await?;
        self.index_write(execution_id, None, |index| index.forget(execution_id))
            .await;
        Ok(true)
    }

    /// Deletes every finished execution whose state was last written more than `retention`
    /// ago; returns their ids.
    ///
    /// # Errors
    ///
    /// When the store fails.
    pub async fn cleanup(&self, retention: Duration) -> Result<Vec<String>, EngineError> {
        // A retention beyond the earliest time there is keeps everything.
        let cutoff = chrono::TimeDelta::from_std(retention)
            .ok()
            .and_then(|retention| self.clock.now().checked_sub_signed(retention))
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
        let mut deleted = Vec::new();
        for key in self.store.list("executions/").await? {
            if !key.ends_with("/state.json") {
                continue;
            }
            let Some(stored) = self.store.get(&key).await? else {
                continue;
            };
            let state: ExecutionState = from_json(&key, &stored.bytes)?;
            if state.status.is_finished()
                && state.updated_at < cutoff
                && self.delete_execution(&state.execution_id).await?
            {
                deleted.push(state.execution_id);
            }
        }
        Ok(deleted)
    }
}
