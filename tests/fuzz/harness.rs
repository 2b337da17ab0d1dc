//! Runs one fuzz target: proptest's runner over a strategy, a short pass by default, a timed
//! one under `FUZZ_SECONDS`, and a line per target with the inputs it tried (appended to
//! `FUZZ_LOG` when set, which `scripts/fuzz.sh` collects into its record).

use std::fmt;
use std::io::Write;
use std::time::{Duration, Instant};

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// Inputs per batch of a timed run.
const BATCH: u32 = 256;

/// Bytes shown escaped and cut short, so a failing input prints as something readable.
#[derive(Clone)]
pub struct Bytes(pub Vec<u8>);

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 2048;
        let shown = &self.0[..self.0.len().min(SHOWN)];
        write!(f, "{} bytes: b\"{}\"", self.0.len(), shown.escape_ascii())?;
        if self.0.len() > SHOWN {
            write!(f, "…")?;
        }
        Ok(())
    }
}

/// Runs `check` on values of `strategy`: `quick` of them in a plain `cargo test` (or
/// `PROPTEST_CASES`), batches for `FUZZ_SECONDS` seconds in a long run. `check` returns an
/// error when the parser broke an invariant; a panic is a finding too. Fails with proptest's
/// smallest failing input.
pub fn run<S, F>(name: &str, quick: u32, strategy: S, check: F)
where
    S: Strategy,
    S::Value: fmt::Debug,
    F: Fn(S::Value) -> Result<(), String>,
{
    let budget = std::env::var("FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .map(Duration::from_secs_f64);
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(quick);
    let start = Instant::now();
    let mut total: u64 = 0;
    let ran = std::cell::Cell::new(0u64);
    loop {
        let batch = if budget.is_some() { BATCH } else { cases };
        let mut runner = TestRunner::new(Config {
            cases: batch,
            failure_persistence: None,
            max_shrink_iters: 2048,
            ..Config::default()
        });
        let result = runner.run(&strategy, |value| {
            ran.set(ran.get() + 1);
            check(value).map_err(TestCaseError::fail)
        });
        total += u64::from(batch);
        if let Err(e) = result {
            panic!("fuzz target {name} failed after {total} inputs: {e}");
        }
        if budget.is_none_or(|b| start.elapsed() >= b) {
            break;
        }
    }
    let line = format!(
        "{name}\t{total}\t{}\t{:.1}",
        ran.get(),
        start.elapsed().as_secs_f64()
    );
    eprintln!("fuzz {line}");
    if let Some(log) = std::env::var_os("FUZZ_LOG") {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("FUZZ_LOG opens for appending");
        writeln!(file, "{line}").expect("FUZZ_LOG is writable");
    }
}

/// `Ok` when `result` is a value or an error that says something; `Err` for an empty message.
pub fn error_says_something<T, E: fmt::Display>(result: &Result<T, E>) -> Result<(), String> {
    match result {
        Err(e) if e.to_string().trim().is_empty() => Err("an error with no message".into()),
        _ => Ok(()),
    }
}
