//! The scenario runner (spec 08): drives one coordinator through each scenario file's timed
//! script and checks the answers.
//!
//! ```text
//! cargo run --release --example scenario -- FILE.json [FILE.json ...]
//! ```
//!
//! Prints one JSON object per step on standard output. Exit status: 0 when every expectation
//! of every file holds, 1 when any fails, 2 when a file cannot be read or is not a valid
//! scenario (the message on standard error names the file, the step and the problem).

mod runner;

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

const USAGE: &str = "\
usage: scenario FILE.json [FILE.json ...]
       scenario --help

Runs each scenario file (spec 08) on a simulated clock, with a replay check
after every step, and prints one JSON object per step.
Exit status: 0 when every expectation of every file holds, 1 when any fails,
2 when a file cannot be read or is not a valid scenario.";

fn main() -> ExitCode {
    let files: Vec<String> = std::env::args().skip(1).collect();
    if let [flag] = files.as_slice() {
        if flag == "-h" || flag == "--help" {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
    }
    if files.is_empty() {
        eprintln!("scenario: no scenario file given\n{USAGE}");
        return ExitCode::from(2);
    }
    if let Some(option) = files.iter().find(|f| f.starts_with('-')) {
        eprintln!("scenario: unknown option {option:?}\n{USAGE}");
        return ExitCode::from(2);
    }
    let stdout = std::io::stdout();
    let mut worst = 0u8;
    for file in &files {
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("{file}: cannot read: {e}");
                worst = 2;
                continue;
            }
        };
        let default_name = Path::new(file)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or(file);
        let scenario = match runner::parse_scenario(&text, default_name) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("{file}: {e}");
                worst = 2;
                continue;
            }
        };
        let mut out = stdout.lock();
        let result = runner::run_scenario(&scenario, &mut |outcome| {
            // A closed stdout (e.g. piped into `head`) must not abort the run.
            let _ = writeln!(out, "{}", outcome.to_line(&scenario.name));
        });
        let _ = out.flush();
        match result {
            Ok(true) => {}
            Ok(false) => worst = worst.max(1),
            Err(e) => {
                eprintln!("{file}: {e}");
                worst = 2;
            }
        }
    }
    ExitCode::from(worst)
}
