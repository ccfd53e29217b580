// Runs a Step Functions state machine (the project's examples/deploy/statemachine.asl.json)
// for real with the aws-local-stepfunctions interpreter, serving every Lambda Task state with
// the function's own command line: each task spawns `<bin> invoke EVENT.json --state URL` as a
// process of its own, so the tasks of a Map state really run in parallel.
//
//   node tests/sfn/run.mjs MACHINE.json BIN STATE_URL INPUT_JSON
//
// INPUT_JSON is the state machine's input (a JSON text). Prints one JSON line at the end:
//   {"status": "succeeded" | "failed", "output" (succeeded) | "error", "cause" (failed),
//    "last_response": the function's last answer to a start or a resume, whole,
//    "invocations": {"execute_workflow": n, "resume_execution": n, "execute_node": n},
//    "timings": {request_type: {"total_ms", "max_ms", "first_ms", "last_ms"}} (the sum and
//    the longest of the invocations' durations; when the first started and the last ended),
//    "errors": {errorType: n}, "kills": n, "peak_workers": n, "signals": n, "wall_ms": n}
// and exits 0 (also when the state machine failed: the line says so); 2 on a usage error.
//
// Knobs (environment):
//   HETUMIND_SFN_TOOLS        the npm prefix aws-local-stepfunctions is installed under
//                             (default ${HETUMIND_CI_TOOLS:-$HOME/.cache/hetumind-ci})
//   HETUMIND_SFN_EXECUTION    the state machine execution's name (default a random one)
//   HETUMIND_SFN_KILL         NODE:MS: SIGKILL the first execute_node worker of NODE MS
//                             milliseconds after it started (a worker that dies mid-task)
//   HETUMIND_SFN_RETRY_MS     STATE:MS,...: retry STATE after MS milliseconds, whatever its
//                             Retry fields say (their attempt counts still hold)
//   HETUMIND_SFN_SIGNALS      a JSON array of signals, each {"node_name", "input_data"?}: the
//                             interpreter does not run `.waitForTaskToken` tasks, so this
//                             harness serves the AwaitSignal task: it invokes the function
//                             with the task's payload (the function keeps the token), then
//                             delivers the next signal as a resume_execution invocation of
//                             its own, and answers that invocation's response, which is what
//                             the function's SendTaskSuccess hands the task in AWS. With no
//                             signal left, the task waits until its TimeoutSecondsPath ends it.
//   HETUMIND_SFN_TRACE        1: the interpreter's events and every invocation on stderr
// Everything else in the environment (HETUMIND_LEASE_MS, AWS_ENDPOINT_URL_S3, ...) is the
// function's.

// The interpreter needs Promise.withResolvers (Node 22); Node 20 lacks it.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers() {
    let resolve;
    let reject;
    const promise = new this((yes, no) => {
      resolve = yes;
      reject = no;
    });
    return { promise, resolve, reject };
  };
}

import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:hetumind';

function usage(message) {
  process.stderr.write(`run.mjs: ${message}\nusage: node run.mjs MACHINE.json BIN STATE_URL INPUT_JSON\n`);
  process.exit(2);
}

const [machinePath, bin, stateUrl, inputText] = process.argv.slice(2);
if (!machinePath || !bin || !stateUrl || inputText === undefined) usage('missing arguments');
let input;
try {
  input = JSON.parse(inputText);
} catch (error) {
  usage(`INPUT_JSON is not JSON: ${error.message}`);
}

const tools =
  process.env.HETUMIND_SFN_TOOLS ||
  process.env.HETUMIND_CI_TOOLS ||
  join(homedir(), '.cache', 'hetumind-ci');
const packageDir = join(tools, 'node_modules', 'aws-local-stepfunctions');
let StateMachine;
try {
  const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
  ({ StateMachine } = await import(pathToFileURL(join(packageDir, manifest.module)).href));
} catch (error) {
  process.stderr.write(
    `run.mjs: aws-local-stepfunctions is not installed under ${tools} (.ci/install-tools aws-local-stepfunctions): ${error.message}\n`,
  );
  process.exit(2);
}

const trace = process.env.HETUMIND_SFN_TRACE === '1';
const log = (message) => {
  if (trace) process.stderr.write(`[${new Date().toISOString()}] ${message}\n`);
};

let kill = null;
if (process.env.HETUMIND_SFN_KILL) {
  const at = process.env.HETUMIND_SFN_KILL.lastIndexOf(':');
  const ms = Number(process.env.HETUMIND_SFN_KILL.slice(at + 1));
  if (at <= 0 || !Number.isFinite(ms)) usage('HETUMIND_SFN_KILL is NODE:MS');
  kill = { node: process.env.HETUMIND_SFN_KILL.slice(0, at), ms, done: false };
}

const retryIntervalOverrides = {};
for (const entry of (process.env.HETUMIND_SFN_RETRY_MS ?? '').split(',').filter(Boolean)) {
  const at = entry.lastIndexOf(':');
  const ms = Number(entry.slice(at + 1));
  if (at <= 0 || !Number.isFinite(ms)) usage('HETUMIND_SFN_RETRY_MS is STATE:MS,...');
  retryIntervalOverrides[entry.slice(0, at)] = ms;
}

// The definition as SAM deploys it: ${FunctionArn} substituted.
const definition = JSON.parse(
  readFileSync(machinePath, 'utf8').replaceAll('${FunctionArn}', FUNCTION_ARN),
);

// Every Lambda Task state invoking `resource`, at any depth (Map and Parallel states hold
// their own).
function lambdaTasks(states, resource, names = []) {
  for (const [name, state] of Object.entries(states)) {
    if (state.Type === 'Task' && state.Resource === resource) names.push(name);
    for (const inner of [state.ItemProcessor, state.Iterator, ...(state.Branches ?? [])]) {
      if (inner?.States) lambdaTasks(inner.States, resource, names);
    }
  }
  return names;
}

let signals;
try {
  signals = JSON.parse(process.env.HETUMIND_SFN_SIGNALS ?? '[]');
} catch (error) {
  usage(`HETUMIND_SFN_SIGNALS is not JSON: ${error.message}`);
}
let signalsSent = 0;
// The task token the context object gives `$$.Task.Token`.
const TASK_TOKEN = 'local-task-token';

const events = mkdtempSync(join(tmpdir(), 'hetumind-sfn-'));
const invocations = {};
// Per request type: the sum and the longest of the invocations' durations, and when the first
// started and the last ended (ms since the run started).
const timings = {};
const errors = {};
let kills = 0;
let workers = 0;
let peakWorkers = 0;
let lastResponse = null;
let started = performance.now();

/** An error the interpreter matches by name, as Step Functions matches a Lambda errorType. */
function lambdaError(name, message) {
  const error = new Error(message);
  error.name = name;
  errors[name] = (errors[name] ?? 0) + 1;
  return error;
}

/** Serves one Lambda Task: `bin invoke EVENT.json --state URL` in a process of its own. */
async function invoke(taskInput) {
  if (taskInput.FunctionName !== FUNCTION_ARN) {
    throw lambdaError('Lambda.ResourceNotFoundException', `no function ${taskInput.FunctionName}`);
  }
  const request = taskInput.Payload;
  const type = request?.request_type ?? 'unknown';
  invocations[type] = (invocations[type] ?? 0) + 1;
  const file = join(events, `${randomUUID()}.json`);
  writeFileSync(file, JSON.stringify(request));
  const spawned = performance.now();
  const child = spawn(bin, ['invoke', file, '--state', stateUrl], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  workers += 1;
  peakWorkers = Math.max(peakWorkers, workers);
  let timer = null;
  if (kill && !kill.done && type === 'execute_node' && request.node_name === kill.node) {
    kill.done = true;
    timer = setTimeout(() => {
      kills += 1;
      log(`killing the worker of ${kill.node} (pid ${child.pid})`);
      child.kill('SIGKILL');
    }, kill.ms);
  }
  const stdout = [];
  const stderr = [];
  child.stdout.on('data', (chunk) => stdout.push(chunk));
  child.stderr.on('data', (chunk) => stderr.push(chunk));
  const [code, signal] = await new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (exitCode, exitSignal) => resolve([exitCode, exitSignal]));
  }).finally(() => {
    workers -= 1;
    const ended = performance.now();
    const timing = (timings[type] ??= { total_ms: 0, max_ms: 0, first_ms: spawned - started, last_ms: 0 });
    timing.total_ms += ended - spawned;
    timing.max_ms = Math.max(timing.max_ms, ended - spawned);
    timing.first_ms = Math.min(timing.first_ms, spawned - started);
    timing.last_ms = Math.max(timing.last_ms, ended - started);
    if (timer) clearTimeout(timer);
    rmSync(file, { force: true });
  });
  const text = Buffer.concat(stdout).toString('utf8').trim();
  log(`${JSON.stringify(request)} -> ${signal ?? code}: ${text}`);
  let answer = null;
  try {
    answer = JSON.parse(text);
  } catch {
    // A process killed or crashed before it answered.
  }
  if (code === 0 && answer !== null) {
    if (type !== 'execute_node') lastResponse = answer;
    return { StatusCode: 200, ExecutedVersion: '$LATEST', Payload: answer };
  }
  if (answer?.errorType) {
    throw lambdaError(answer.errorType, answer.errorMessage ?? '');
  }
  // What Step Functions reports for an invocation that died without answering.
  const how = signal ? `killed by ${signal}` : `exited with ${code}`;
  throw lambdaError(
    'Lambda.Unknown',
    `the function ${how}: ${Buffer.concat(stderr).toString('utf8').slice(-2000)}`,
  );
}

/**
 * Serves a `.waitForTaskToken` Lambda Task: the function keeps the token (its answer is not
 * the task's result), then the next signal's own invocation answers what SendTaskSuccess would
 * hand the task.
 */
async function invokeForToken(taskInput) {
  await invoke(taskInput);
  const signal = signals.shift();
  if (!signal) {
    // No signal comes: the task's TimeoutSecondsPath ends it, as in AWS.
    return new Promise(() => {});
  }
  signalsSent += 1;
  const payload = {
    request_type: 'resume_execution',
    execution_id: taskInput.Payload.execution_id,
    ...signal,
  };
  const answer = await invoke({ FunctionName: FUNCTION_ARN, Payload: payload });
  return answer.Payload;
}

// The interpreter reads TimeoutSecondsPath from the task's input after Parameters, where Step
// Functions reads it from the state's input: in the copy it runs, each such task carries the
// value through its Parameters, where the interpreter looks for it.
for (const name of lambdaTasks(definition.States, 'arn:aws:states:::lambda:invoke.waitForTaskToken')) {
  const state = findState(definition.States, name);
  if (state.TimeoutSecondsPath) {
    state.Parameters['TimeoutSeconds.$'] = state.TimeoutSecondsPath;
    state.TimeoutSecondsPath = '$.TimeoutSeconds';
  }
}

function findState(states, name) {
  for (const [found, state] of Object.entries(states)) {
    if (found === name) return state;
    for (const inner of [state.ItemProcessor, state.Iterator, ...(state.Branches ?? [])]) {
      const deeper = inner?.States && findState(inner.States, name);
      if (deeper) return deeper;
    }
  }
  return null;
}

const handlers = Object.fromEntries([
  ...lambdaTasks(definition.States, 'arn:aws:states:::lambda:invoke').map((name) => [name, invoke]),
  ...lambdaTasks(definition.States, 'arn:aws:states:::lambda:invoke.waitForTaskToken').map((name) => [
    name,
    invokeForToken,
  ]),
]);
const name = process.env.HETUMIND_SFN_EXECUTION || `sfn-${randomUUID()}`;
// Built (and validated) before the clock starts: Step Functions does that once, at deployment.
const machine = new StateMachine(definition);
started = performance.now();
const execution = machine.run(input, {
  overrides: { taskResourceLocalHandlers: handlers, retryIntervalOverrides },
  context: {
    Execution: {
      Id: `arn:aws:states:us-east-1:123456789012:execution:hetumind-executions:${name}`,
      Name: name,
    },
    StateMachine: {
      Id: 'arn:aws:states:us-east-1:123456789012:stateMachine:hetumind-executions',
      Name: 'hetumind-executions',
    },
    Task: { Token: TASK_TOKEN },
  },
});
if (trace) {
  (async () => {
    for await (const event of execution.eventLogs) log(`event ${JSON.stringify(event)}`);
  })();
}

const report = { status: 'succeeded' };
try {
  report.output = await execution.result;
} catch (error) {
  // The interpreter wraps what failed the execution (a Fail state, an error no Catch took).
  const cause = error.cause ?? error;
  report.status = 'failed';
  report.error = cause.name;
  report.cause = cause.message;
}
for (const timing of Object.values(timings)) {
  for (const key of Object.keys(timing)) timing[key] = Math.round(timing[key]);
}
Object.assign(report, {
  last_response: lastResponse,
  invocations,
  timings,
  errors,
  kills,
  peak_workers: peakWorkers,
  signals: signalsSent,
  wall_ms: Math.round(performance.now() - started),
});
rmSync(events, { recursive: true, force: true });
process.stdout.write(`${JSON.stringify(report)}\n`);
