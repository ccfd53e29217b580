//! The examples binary: the built-in nodes and the example nodes in one executable.

use std::process::ExitCode;

hetumind::link_node_crates!();

fn main() -> ExitCode {
    match hetumind::Registry::global() {
        Ok(registry) => {
            for node in registry.iter() {
                println!(
                    "{:<24} {}",
                    node.id(),
                    node.description.lines().next().unwrap_or("")
                );
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
    }
}
