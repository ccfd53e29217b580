-- One row per execution: what `executions list` reads.
CREATE TABLE hetumind_executions (
    execution_id    text PRIMARY KEY,
    workflow_id     text NOT NULL,
    status          text NOT NULL,
    trigger         text NOT NULL,
    started_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    finished_at     timestamptz,
    error           text,
    failed_node     text,
    nodes_total     integer NOT NULL,
    nodes_succeeded integer NOT NULL,
    nodes_failed    integer NOT NULL,
    nodes_waiting   integer NOT NULL,
    nodes_running   integer NOT NULL,
    nodes_skipped   integer NOT NULL
);
CREATE INDEX hetumind_executions_started ON hetumind_executions (started_at DESC);
CREATE INDEX hetumind_executions_workflow ON hetumind_executions (workflow_id, started_at DESC);
CREATE INDEX hetumind_executions_status ON hetumind_executions (status, started_at DESC);
