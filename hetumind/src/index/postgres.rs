//! The execution index in PostgreSQL (tokio-postgres, TLS by rustls).

use std::sync::Arc;

use tokio::sync::Mutex;
use tokio_postgres::{Client, Config, Row, Statement};

use super::{ExecutionFilter, ExecutionIndex, ExecutionRecord, IndexError, NodeCounts};
use crate::BoxFuture;

/// The schema, one migration per step, applied in order on first use (each once: the
/// versions applied are kept in `hetumind_schema`).
const MIGRATIONS: [(i32, &str); 1] = [(1, include_str!("migrations/0001_executions.sql"))];

/// A key for `pg_advisory_xact_lock`, so that functions starting at once migrate one at a time.
const MIGRATION_LOCK: i64 = 0x6865_7475_6d69_6e64; // "hetumind"

/// Writes a row unless the row there was updated later.
const UPSERT: &str = "INSERT INTO hetumind_executions (execution_id, workflow_id, status, trigger, \
     started_at, updated_at, finished_at, error, failed_node, nodes_total, nodes_succeeded, \
     nodes_failed, nodes_waiting, nodes_running, nodes_skipped) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
     ON CONFLICT (execution_id) DO UPDATE SET workflow_id = excluded.workflow_id, \
     status = excluded.status, trigger = excluded.trigger, started_at = excluded.started_at, \
     updated_at = excluded.updated_at, finished_at = excluded.finished_at, error = excluded.error, \
     failed_node = excluded.failed_node, nodes_total = excluded.nodes_total, \
     nodes_succeeded = excluded.nodes_succeeded, nodes_failed = excluded.nodes_failed, \
     nodes_waiting = excluded.nodes_waiting, nodes_running = excluded.nodes_running, \
     nodes_skipped = excluded.nodes_skipped \
     WHERE hetumind_executions.updated_at <= excluded.updated_at";

/// Lists rows; a null parameter lets everything through.
const LIST: &str = "SELECT execution_id, workflow_id, status, trigger, started_at, updated_at, \
     finished_at, error, failed_node, nodes_total, nodes_succeeded, nodes_failed, nodes_waiting, \
     nodes_running, nodes_skipped FROM hetumind_executions \
     WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR workflow_id = $2) \
     AND ($3::timestamptz IS NULL OR started_at >= $3) \
     AND ($4::timestamptz IS NULL OR started_at < $4) \
     ORDER BY started_at DESC, execution_id DESC LIMIT $5";

/// The execution index in a PostgreSQL database: the table `hetumind_executions` (and
/// `hetumind_schema`, the migrations applied), in the schema the connection's `search_path`
/// names.
///
/// One connection, made on first use (never at start-up, so a function without traffic never
/// connects), and made again when it breaks.
#[derive(Debug)]
pub struct PostgresIndex {
    config: Config,
    connection: Mutex<Option<Arc<Connected>>>,
}

/// A live connection and its prepared statements.
#[derive(Debug)]
struct Connected {
    client: Client,
    upsert: Statement,
}

impl PostgresIndex {
    /// The index at `url` (`postgres://user:password@host:port/database?sslmode=...`).
    ///
    /// # Errors
    ///
    /// When the URL does not parse.
    pub fn new(url: &str) -> Result<Self, IndexError> {
        // tokio-postgres's own message never repeats the URL, which may hold a password.
        let config = url
            .parse::<Config>()
            .map_err(|error| IndexError::Config(error.to_string()))?;
        Ok(Self {
            config,
            connection: Mutex::new(None),
        })
    }

    /// The live connection, made (and the schema migrated) if there is none.
    async fn connected(&self) -> Result<Arc<Connected>, IndexError> {
        let mut connection = self.connection.lock().await;
        if let Some(live) = connection.as_ref().filter(|live| !live.client.is_closed()) {
            return Ok(Arc::clone(live));
        }
        *connection = None;
        let client = self.connect().await?;
        let upsert = client.prepare(UPSERT).await.map_err(unavailable)?;
        let live = Arc::new(Connected { client, upsert });
        *connection = Some(Arc::clone(&live));
        Ok(live)
    }

    /// A new connection, its driver spawned and the schema migrated.
    async fn connect(&self) -> Result<Client, IndexError> {
        let (mut client, driver) = self.config.connect(tls()).await.map_err(unavailable)?;
        tokio::spawn(async move {
            if let Err(error) = driver.await {
                tracing::warn!(%error, "execution index connection ended");
            }
        });
        migrate(&mut client).await?;
        Ok(client)
    }
}

/// TLS by rustls, with the system's root certificates, or instead of them the ones that
/// `SSL_CERT_FILE` or `SSL_CERT_DIR` name (such as the RDS bundle, which then must hold every
/// root needed); the URL's `sslmode` says whether it is used.
fn tls() -> tokio_postgres_rustls::MakeRustlsConnect {
    let mut roots = rustls::RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    for error in &found.errors {
        tracing::debug!(%error, "a system root certificate could not be read");
    }
    let (_, ignored) = roots.add_parsable_certificates(found.certs);
    if ignored > 0 {
        tracing::debug!(ignored, "system root certificates that do not parse");
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_or_else(
        // The default provider supports the default versions; this cannot fail.
        |_| {
            rustls::ClientConfig::builder()
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth()
        },
        |builder| builder.with_root_certificates(roots).with_no_client_auth(),
    );
    tokio_postgres_rustls::MakeRustlsConnect::new(config)
}

/// Applies the migrations not applied yet, in one transaction under an advisory lock.
async fn migrate(client: &mut Client) -> Result<(), IndexError> {
    let transaction = client.transaction().await.map_err(unavailable)?;
    transaction
        .execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(unavailable)?;
    transaction
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS hetumind_schema (version integer PRIMARY KEY, \
             applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .await
        .map_err(unavailable)?;
    let applied: i32 = transaction
        .query_one("SELECT coalesce(max(version), 0) FROM hetumind_schema", &[])
        .await
        .map_err(unavailable)?
        .try_get(0)
        .map_err(corrupt)?;
    for (version, sql) in MIGRATIONS.iter().filter(|(version, _)| *version > applied) {
        transaction.batch_execute(sql).await.map_err(unavailable)?;
        transaction
            .execute(
                "INSERT INTO hetumind_schema (version) VALUES ($1)",
                &[version],
            )
            .await
            .map_err(unavailable)?;
    }
    transaction.commit().await.map_err(unavailable)
}

#[allow(clippy::needless_pass_by_value)] // passed to `map_err`
fn unavailable(error: tokio_postgres::Error) -> IndexError {
    IndexError::Unavailable(error.to_string())
}

#[allow(clippy::needless_pass_by_value)] // passed to `map_err`
fn corrupt(error: tokio_postgres::Error) -> IndexError {
    IndexError::Corrupt(error.to_string())
}

/// A count as the table keeps it.
fn count(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Writes `record` with the prepared upsert.
async fn upsert(
    client: &impl tokio_postgres::GenericClient,
    statement: &Statement,
    record: &ExecutionRecord,
) -> Result<(), IndexError> {
    let nodes = &record.nodes;
    client
        .execute(
            statement,
            &[
                &record.execution_id,
                &record.workflow_id,
                &record.status.as_str(),
                &record.trigger,
                &record.started_at,
                &record.updated_at,
                &record.finished_at,
                &record.error,
                &record.failed_node,
                &count(nodes.total),
                &count(nodes.succeeded),
                &count(nodes.failed),
                &count(nodes.waiting),
                &count(nodes.running),
                &count(nodes.skipped),
            ],
        )
        .await
        .map_err(unavailable)?;
    Ok(())
}

/// The record a row holds.
fn from_row(row: &Row) -> Result<ExecutionRecord, IndexError> {
    let number = |column: &str| -> Result<u32, IndexError> {
        let n: i32 = row.try_get(column).map_err(corrupt)?;
        u32::try_from(n).map_err(|_| IndexError::Corrupt(format!("`{column}` is {n}")))
    };
    let status: String = row.try_get("status").map_err(corrupt)?;
    Ok(ExecutionRecord {
        execution_id: row.try_get("execution_id").map_err(corrupt)?,
        workflow_id: row.try_get("workflow_id").map_err(corrupt)?,
        status: status.parse().map_err(IndexError::Corrupt)?,
        trigger: row.try_get("trigger").map_err(corrupt)?,
        started_at: row.try_get("started_at").map_err(corrupt)?,
        updated_at: row.try_get("updated_at").map_err(corrupt)?,
        finished_at: row.try_get("finished_at").map_err(corrupt)?,
        error: row.try_get("error").map_err(corrupt)?,
        failed_node: row.try_get("failed_node").map_err(corrupt)?,
        nodes: NodeCounts {
            total: number("nodes_total")?,
            succeeded: number("nodes_succeeded")?,
            failed: number("nodes_failed")?,
            waiting: number("nodes_waiting")?,
            running: number("nodes_running")?,
            skipped: number("nodes_skipped")?,
        },
    })
}

impl PostgresIndex {
    /// Runs `operation` on the connection; a connection that broke is dropped, so that the
    /// next call connects again.
    async fn on_connection<T>(
        &self,
        operation: impl AsyncFnOnce(&Connected) -> Result<T, IndexError>,
    ) -> Result<T, IndexError> {
        let live = self.connected().await?;
        let result = operation(&live).await;
        if result.is_err() && live.client.is_closed() {
            let mut connection = self.connection.lock().await;
            if connection
                .as_ref()
                .is_some_and(|current| Arc::ptr_eq(current, &live))
            {
                *connection = None;
            }
        }
        result
    }
}

impl ExecutionIndex for PostgresIndex {
    fn record<'a>(&'a self, record: &'a ExecutionRecord) -> BoxFuture<'a, Result<(), IndexError>> {
        Box::pin(self.on_connection(async |live: &Connected| {
            upsert(&live.client, &live.upsert, record).await
        }))
    }

    fn forget<'a>(&'a self, execution_id: &'a str) -> BoxFuture<'a, Result<(), IndexError>> {
        Box::pin(self.on_connection(async move |live: &Connected| {
            live.client
                .execute(
                    "DELETE FROM hetumind_executions WHERE execution_id = $1",
                    &[&execution_id],
                )
                .await
                .map_err(unavailable)?;
            Ok(())
        }))
    }

    fn list<'a>(
        &'a self,
        filter: &'a ExecutionFilter,
    ) -> BoxFuture<'a, Result<Vec<ExecutionRecord>, IndexError>> {
        Box::pin(self.on_connection(async |live: &Connected| {
            let limit = filter
                .limit
                .map_or(i64::MAX, |limit| i64::try_from(limit).unwrap_or(i64::MAX));
            let rows = live
                .client
                .query(
                    LIST,
                    &[
                        &filter.status.map(crate::model::ExecutionStatus::as_str),
                        &filter.workflow_id,
                        &filter.since,
                        &filter.until,
                        &limit,
                    ],
                )
                .await
                .map_err(unavailable)?;
            rows.iter().map(from_row).collect()
        }))
    }

    fn replace_all<'a>(
        &'a self,
        records: &'a [ExecutionRecord],
    ) -> BoxFuture<'a, Result<(), IndexError>> {
        Box::pin(async move {
            // A transaction needs the client to itself: a connection of its own.
            let mut client = self.connect().await?;
            let transaction = client.transaction().await.map_err(unavailable)?;
            transaction
                .batch_execute("DELETE FROM hetumind_executions")
                .await
                .map_err(unavailable)?;
            let statement = transaction.prepare(UPSERT).await.map_err(unavailable)?;
            for record in records {
                upsert(&transaction, &statement, record).await?;
            }
            transaction.commit().await.map_err(unavailable)
        })
    }
}
