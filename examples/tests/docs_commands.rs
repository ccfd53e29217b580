//! Every shell block of the README and the guide (`README.md`, `docs/*.md`) runs, so that no
//! documented command rots. The convention (described in `docs/development.md`, "The
//! documentation is tested"):
//!
//! - a ```` ```sh ```` block is run: each command (a line, with its `\` continuation lines) in
//!   order, with bash, in a temporary directory holding a copy of `examples/workflows/`, with a
//!   clean environment. `cargo run -p hetumind-examples -- ARGS` and `hetumind-examples ARGS`
//!   run the binary this test is built with. A command must exit with 0, or with the code its
//!   trailing comment names (`# exits 1: the execution fails`);
//! - a ```` ```sh not-run ```` block (AWS, a server, a build or a test run) is not run;
//! - ```` ```console ````, ```` ```bash ```` and ```` ```shell ```` blocks are refused: commands go in
//!   ```` ```sh ```` blocks, their output in ```` ```text ```` ones.

#![allow(clippy::unwrap_used)]

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "support/docs.rs"]
mod docs;

use docs::{readme_and_guide, workspace};

const BIN: &str = env!("CARGO_BIN_EXE_hetumind-examples");

/// The info string's word that keeps a shell block from running.
const NO_RUN: &str = "not-run";

/// The longest a documented command may take.
const TIMEOUT: Duration = Duration::from_secs(120);

/// Defines `cargo run -p hetumind-examples -- ARGS` and `hetumind-examples ARGS` as the built
/// binary, and refuses any other `cargo` command.
const PRELUDE: &str = r#"
cargo() {
  if [ "$1" = run ] && [ "$2" = -p ] && [ "$3" = hetumind-examples ] && [ "$4" = -- ]; then
    shift 4
    "$HETUMIND_DOCS_BIN" "$@"
  else
    echo "docs_commands: only 'cargo run -p hetumind-examples -- ARGS' runs here; mark the block 'sh not-run'" >&2
    return 127
  fi
}
hetumind-examples() { "$HETUMIND_DOCS_BIN" "$@"; }
"#;

/// A fenced code block: its info string, and its lines with their line numbers (from 1).
#[derive(Debug, PartialEq)]
struct Block {
    line: usize,
    info: String,
    lines: Vec<(usize, String)>,
}

impl Block {
    /// The language: the first word of the info string.
    fn language(&self) -> &str {
        self.info.split_whitespace().next().unwrap_or("")
    }

    fn runs(&self) -> bool {
        !self
            .info
            .split_whitespace()
            .skip(1)
            .any(|word| word == NO_RUN)
    }
}

/// One command of a shell block.
#[derive(Debug, PartialEq)]
struct Step {
    line: usize,
    text: String,
    exit_code: i32,
}

/// The fenced code blocks of a Markdown text. A fence is three or more backticks at the start
/// of a line (after indentation); the block ends at a line of at least as many backticks.
fn blocks(markdown: &str) -> Vec<Block> {
    let mut found = Vec::new();
    let mut open: Option<(usize, Block)> = None;
    for (index, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        let ticks = trimmed.chars().take_while(|&c| c == '`').count();
        match &mut open {
            None if ticks >= 3 => {
                let info = trimmed[ticks..].trim().to_owned();
                open = Some((
                    ticks,
                    Block {
                        line: index + 1,
                        info,
                        lines: Vec::new(),
                    },
                ));
            }
            None => {}
            Some((fence, _)) if ticks >= *fence && trimmed[ticks..].trim().is_empty() => {
                found.push(open.take().unwrap().1);
            }
            Some((_, block)) => block.lines.push((index + 1, line.to_owned())),
        }
    }
    assert!(open.is_none(), "a code block is never closed");
    found
}

/// The commands of a shell block: each line, joined with the lines a trailing `\` continues
/// it on; blank lines and comment lines are left out.
fn steps(block: &Block) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut current: Option<Step> = None;
    for (line, text) in &block.lines {
        let step = match current.take() {
            Some(mut step) => {
                step.text.push('\n');
                step.text.push_str(text);
                step
            }
            None if text.trim().is_empty() || text.trim_start().starts_with('#') => continue,
            None => Step {
                line: *line,
                text: text.clone(),
                exit_code: 0,
            },
        };
        if text.trim_end().ends_with('\\') {
            current = Some(step);
        } else {
            steps.push(step);
        }
    }
    assert!(
        current.is_none(),
        "block at line {}: its last line continues",
        block.line
    );
    for step in &mut steps {
        if let Some((_, comment)) = step.text.rsplit_once("# exits ") {
            let digits: String = comment.chars().take_while(char::is_ascii_digit).collect();
            step.exit_code = digits.parse().unwrap_or_else(|_| {
                panic!(
                    "line {}: `# exits` is followed by an exit code, like `# exits 1: ...`",
                    step.line
                )
            });
        }
    }
    steps
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Runs `step` in `dir`; `Err` says how it went wrong.
fn run(step: &Step, dir: &Path) -> Result<(), String> {
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(format!("{PRELUDE}\n{}", step.text))
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("HETUMIND_DOCS_BIN", BIN)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("bash could not start: {error}"))?;
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > TIMEOUT {
            child.kill().unwrap();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    match output.status.code() {
        Some(code) if code == step.exit_code => Ok(()),
        code => Err(format!(
            "exited with {}, expected {} (end it with `# exits N: why` when that is meant)\n\
             --- stdout\n{}--- stderr\n{}",
            code.map_or_else(
                || "no code (killed: over 120 s?)".to_owned(),
                |code| code.to_string()
            ),
            step.exit_code,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        )),
    }
}

#[test]
fn every_documented_command_runs() {
    let root = workspace();
    let mut failures = String::new();
    let mut ran = 0;
    for document in readme_and_guide() {
        let text = std::fs::read_to_string(root.join(&document)).unwrap();
        for block in blocks(&text) {
            let at = |line: usize| format!("{}:{line}", document.display());
            match block.language() {
                "sh" => {}
                "console" | "bash" | "shell" | "zsh" => {
                    let _ = writeln!(
                        failures,
                        "{}: a ```{} block: write commands in ```sh blocks (```sh {NO_RUN} for those not to run), output in ```text\n",
                        at(block.line),
                        block.language(),
                    );
                    continue;
                }
                _ => continue,
            }
            if !block.runs() {
                continue;
            }
            let dir = tempfile::tempdir().unwrap();
            copy_dir(
                &root.join("examples/workflows"),
                &dir.path().join("examples/workflows"),
            );
            for step in steps(&block) {
                ran += 1;
                if let Err(problem) = run(&step, dir.path()) {
                    let _ = writeln!(failures, "{}: `{}` {problem}", at(step.line), step.text);
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "documented commands failed:\n\n{failures}"
    );
    // The README's quick start alone is one; a parser that found none would pass vacuously.
    assert!(ran > 10, "only {ran} documented commands found");
}

#[test]
fn blocks_and_steps_are_read_as_documented() {
    let markdown = "text\n\n```sh\n# a comment\nrun a   # exits 3: waits\n\nrun b \\\n  --flag\n```\n\n````text\n```sh\nnot a block\n```\n````\n\n```sh not-run\naws s3 ls\n```\n";
    let found = blocks(markdown);
    assert_eq!(found.len(), 3);
    assert_eq!((found[0].line, found[0].language()), (3, "sh"));
    assert!(found[0].runs());
    assert_eq!(found[1].language(), "text");
    assert_eq!(found[1].lines.len(), 3);
    assert!(!found[2].runs());
    assert_eq!(
        steps(&found[0]),
        [
            Step {
                line: 5,
                text: "run a   # exits 3: waits".to_owned(),
                exit_code: 3
            },
            Step {
                line: 7,
                text: "run b \\\n  --flag".to_owned(),
                exit_code: 0
            },
        ]
    );
}
