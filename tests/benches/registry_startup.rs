//! Benchmark: what linking 2,000 nodes adds to start-up over linking 10. Target: at most 1 ms.
//!
//! Measured in one run, medians throughout:
//! 1. in process, warm: `Registry::new` over every linked registration (2,000 generated nodes,
//!    walked from the `inventory` list) against the first 10 of them;
//! 2. whole processes, cold: this binary (2,000 nodes) and the `registry_startup_baseline`
//!    binary (10 nodes, built on demand with the same profile) are spawned in turn, each either
//!    exiting at once (exec, loading and the link-time `inventory` constructors that run before
//!    `main`) or building the global registry first (everything a node binary pays before it
//!    can look a node up). The difference between the two binaries is the start-up added by the
//!    1,990 extra nodes, and is what the target is checked against.
//!
//! Under `cargo bench` (which passes `--bench`) it measures fully; run any other way (such as
//! by `cargo test --benches`) it does a quick smoke run without the baseline binary.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use hetumind::{NodeRegistration, Registry};

#[path = "common/startup_child.rs"]
mod startup_child;

mod generated {
    include!(concat!(env!("OUT_DIR"), "/startup_nodes_2000.rs"));
}

/// The start-up the extra nodes may add.
const TARGET: Duration = Duration::from_millis(1);
/// How many registrations the small registry of the in-process comparison holds.
const SMALL: usize = 10;

fn main() -> ExitCode {
    if let Some(code) = startup_child::run_if_child() {
        return code;
    }
    let full = std::env::args().any(|arg| arg == "--bench");
    let linked = inventory::iter::<NodeRegistration>.into_iter().count();
    assert!(
        linked >= generated::GENERATED_NODES,
        "only {linked} registrations are linked; expected the {} generated nodes",
        generated::GENERATED_NODES
    );
    println!(
        "registry_startup: {linked} registrations linked into this binary{}",
        if full {
            ""
        } else {
            " (quick smoke run: pass --bench for the measurement)"
        }
    );

    let warm = in_process(if full { 400 } else { 10 });
    println!(
        "registry_startup: Registry::new, in process (warm), median of {} runs: {linked} nodes {}, \
         {SMALL} nodes {}, difference {}",
        warm.runs,
        micros(warm.all),
        micros(warm.small),
        micros(warm.all - warm.small),
    );

    let this = std::env::current_exe().expect("the path of this benchmark binary");
    let baseline = if full {
        baseline_binary()
    } else {
        Err("not built in a quick smoke run".to_owned())
    };
    let baseline = match baseline {
        Ok(baseline) => baseline,
        Err(reason) => {
            println!(
                "registry_startup: process start-up not compared, so no verdict against the {} \
                 target: no 10-node baseline binary ({reason})",
                micros(TARGET.as_secs_f64()),
            );
            return ExitCode::SUCCESS;
        }
    };
    println!(
        "registry_startup: binaries: {} ({}), {} ({})",
        this.display(),
        size_of_file(&this),
        baseline.display(),
        size_of_file(&baseline),
    );

    let cold = processes(&this, &baseline, 300);
    println!(
        "registry_startup: Registry::global() timed inside a fresh process, median of {} runs: \
         {} nodes {}, {} nodes {}, difference {}",
        cold.runs,
        cold.large_nodes,
        micros(cold.large_global_inside),
        cold.small_nodes,
        micros(cold.small_global_inside),
        micros(cold.large_global_inside - cold.small_global_inside),
    );
    println!(
        "registry_startup: process start to exit, no registry (exec, loading, inventory \
         constructors): {} nodes {}, {} nodes {}, difference {}",
        cold.large_nodes,
        cold.large_exit,
        cold.small_nodes,
        cold.small_exit,
        micros(cold.large_exit.median - cold.small_exit.median),
    );
    println!(
        "registry_startup: process start to exit, with Registry::global(): {} nodes {}, \
         {} nodes {}, difference {}",
        cold.large_nodes,
        cold.large_global,
        cold.small_nodes,
        cold.small_global,
        micros(cold.large_global.median - cold.small_global.median),
    );
    let added = cold.large_global.median - cold.small_global.median;
    println!(
        "registry_startup: start-up added by {} extra nodes: {} (process medians of {} runs each) \
         target <= {}: {}",
        cold.large_nodes - cold.small_nodes,
        micros(added),
        cold.runs,
        micros(TARGET.as_secs_f64()),
        verdict(added),
    );
    ExitCode::SUCCESS
}

/// Medians of the in-process comparison, in seconds.
struct Warm {
    runs: usize,
    all: f64,
    small: f64,
}

/// Times `Registry::new` over every linked registration against the first [`SMALL`] of them.
fn in_process(runs: usize) -> Warm {
    // Small registries build in well under a microsecond: time them in batches.
    const BATCH: usize = 100;
    let mut all = Vec::with_capacity(runs);
    let mut small = Vec::with_capacity(runs);
    let mut kept = Vec::with_capacity(BATCH);
    for _ in 0..runs {
        let start = Instant::now();
        let registry = Registry::new(inventory::iter::<NodeRegistration>);
        all.push(start.elapsed().as_secs_f64());
        drop(std::hint::black_box(registry));

        let start = Instant::now();
        for _ in 0..BATCH {
            kept.push(Registry::new(
                inventory::iter::<NodeRegistration>.into_iter().take(SMALL),
            ));
        }
        small.push(start.elapsed().as_secs_f64() / BATCH as f64);
        std::hint::black_box(&kept);
        kept.clear();
    }
    Warm {
        runs,
        all: Stats::of(all).median,
        small: Stats::of(small).median,
    }
}

/// Builds the 10-node baseline binary with the profile of `cargo bench`, and returns its path.
///
/// Set `HETUMIND_STARTUP_BASELINE` to the path of an already built one to skip this.
fn baseline_binary() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("HETUMIND_STARTUP_BASELINE") {
        return Ok(path.into());
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "bench",
            "--no-run",
            "--package",
            "hetumind-tests",
            "--bench",
            "registry_startup_baseline",
            "--message-format=json",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|error| format!("cannot run cargo: {error}"))?;
    if !output.status.success() {
        return Err(format!("cargo failed: {}", output.status));
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|message| {
            message["reason"] == "compiler-artifact"
                && message["target"]["name"] == "registry_startup_baseline"
        })
        .and_then(|message| message["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| "cargo named no executable".to_owned())
}

/// Medians of the whole-process comparison.
struct Cold {
    runs: usize,
    large_nodes: usize,
    small_nodes: usize,
    large_exit: Stats,
    small_exit: Stats,
    large_global: Stats,
    small_global: Stats,
    large_global_inside: f64,
    small_global_inside: f64,
}

/// Spawns both binaries in both child modes `runs` times each, interleaved so that drifting
/// machine noise hits every variant alike.
fn processes(large: &Path, small: &Path, runs: usize) -> Cold {
    let variants = [
        (large, "exit"),
        (large, "global"),
        (small, "exit"),
        (small, "global"),
    ];
    for &(binary, mode) in &variants {
        for _ in 0..10 {
            spawn(binary, mode);
        }
    }
    let mut wall: [Vec<f64>; 4] = Default::default();
    let mut inside: [Vec<f64>; 2] = Default::default();
    let mut nodes = [0; 2];
    for run in 0..runs {
        for step in 0..variants.len() {
            let which = (run + step) % variants.len();
            let (binary, mode) = variants[which];
            let (elapsed, report) = spawn(binary, mode);
            wall[which].push(elapsed);
            if let Some((count, took)) = report {
                nodes[which / 2] = count;
                inside[which / 2].push(took);
            }
        }
    }
    let [large_exit, large_global, small_exit, small_global] = wall.map(Stats::of);
    let [large_global_inside, small_global_inside] = inside.map(|took| Stats::of(took).median);
    Cold {
        runs,
        large_nodes: nodes[0],
        small_nodes: nodes[1],
        large_exit,
        small_exit,
        large_global,
        small_global,
        large_global_inside,
        small_global_inside,
    }
}

/// Runs `binary` in child `mode`; returns the wall time from spawn to exit, in seconds, and
/// what a `global` child reported: its registry's size and how long building it took, in
/// seconds.
fn spawn(binary: &Path, mode: &str) -> (f64, Option<(usize, f64)>) {
    let start = Instant::now();
    let output = Command::new(binary)
        .arg(format!("{}{mode}", startup_child::CHILD_ARG))
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|error| panic!("cannot spawn {}: {error}", binary.display()));
    let elapsed = start.elapsed().as_secs_f64();
    assert!(
        output.status.success(),
        "{} --startup-child={mode} failed: {}",
        binary.display(),
        output.status
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report = stdout.split_once(' ').and_then(|(count, nanos)| {
        let count = count.trim().parse().ok()?;
        let nanos: f64 = nanos.trim().parse().ok()?;
        Some((count, nanos / 1e9))
    });
    (elapsed, report)
}

/// The median and quartiles of samples, in seconds.
#[derive(Clone, Copy)]
struct Stats {
    median: f64,
    p25: f64,
    p75: f64,
}

impl Stats {
    fn of(mut samples: Vec<f64>) -> Self {
        assert!(!samples.is_empty(), "no samples");
        samples.sort_by(f64::total_cmp);
        let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
        Self {
            median: at(0.5),
            p25: at(0.25),
            p75: at(0.75),
        }
    }
}

impl std::fmt::Display for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (IQR {} to {})",
            micros(self.median),
            micros(self.p25),
            micros(self.p75)
        )
    }
}

/// Seconds as microseconds, for printing.
fn micros(seconds: f64) -> String {
    format!("{:.1} µs", seconds * 1e6)
}

fn verdict(added: f64) -> &'static str {
    if added <= TARGET.as_secs_f64() {
        "PASS"
    } else {
        "FAIL"
    }
}

fn size_of_file(path: &Path) -> String {
    std::fs::metadata(path).map_or_else(
        |error| format!("size unknown: {error}"),
        |metadata| format!("{:.1} MB", metadata.len() as f64 / 1e6),
    )
}
