//! Compile-time checks of `#[node]`: every misuse in `ui/fail` is a compile error that
//! points at the offending token and says the fix (the expected messages are the `.stderr`
//! files next to the cases), and every form in `ui/pass` compiles.
//!
//! Regenerate the expected messages with
//! `TRYBUILD=overwrite cargo test -p hetumind-tests --test compiletest`, then read them.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("ui/fail/*.rs");
    cases.pass("ui/pass/*.rs");
}
