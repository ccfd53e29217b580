//! Links the function as a non-PIE executable on Linux: every node registration holds pointers
//! (names, schema functions, the executor), and in a position-independent executable the loader
//! must rewrite each of them at start-up, copying every page that holds them. Fixed addresses
//! make that work, and its cold-start cost, disappear (guide: docs/deploying-to-aws.md, "Build").

fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo::rustc-link-arg-bins=-no-pie");
    }
}
