//! `bench`: the measures behind `make bench` and the fault run behind `make faults`, written to
//! BENCHMARKS.md. Run through make (it starts the local stack and sets the environment).
//!
//!   bench measure [--release-dir DIR] [--log-rows N] [--iterations N] [--out FILE]
//!   bench faults --api URL [--events N] [--fault-rate P] [--window PRODUCTS] [--outage SECONDS] [--out FILE]
//!   bench bulk --api URL [--services N] [--rate R] [--out FILE]
//!
//! Timings are reported, never asserted. `faults` fails (exit 1) when an event was lost or a
//! service was made twice at the provider: that is correctness, not speed.

mod action;
mod bulk;
mod common;
mod faults;
mod init;
mod logs;
mod report;
mod worker;

use std::path::PathBuf;
use std::process::ExitCode;

use common::Error;

fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

fn number(args: &[String], name: &str, default: usize) -> Result<usize, Error> {
    flag(args, name).map_or(Ok(default), |v| v.replace('_', "").parse().map_err(|_| format!("{name} takes a number").into()))
}

async fn run(args: Vec<String>) -> Result<bool, Error> {
    let command = args.first().cloned().unwrap_or_default();
    let out = PathBuf::from(flag(&args, "--out").unwrap_or_else(|| "BENCHMARKS.md".into()));
    let invocation = std::env::var("BENCH_COMMAND").unwrap_or_else(|_| format!("bench {}", args.join(" ")));
    match command.as_str() {
        "measure" => {
            let aws = common::Aws::load().await;
            let iterations = number(&args, "--iterations", 300)?;
            let release = PathBuf::from(flag(&args, "--release-dir").unwrap_or_else(|| "target/release".into()));
            let rows = number(&args, "--log-rows", 1_000_000)?;
            eprintln!("[bench] (b) cold init of every function");
            let init = init::run(&release, 20).await?;
            for i in &init {
                eprintln!("[bench]   {}: init p50 {} p99 {}, {} bytes", i.function, common::ms(i.init.p50), common::ms(i.init.p99), i.bytes);
            }
            eprintln!("[bench] (a) action latency against its floor");
            let actions = action::run(&aws, iterations).await?;
            for a in &actions {
                eprintln!("[bench]   {}: handler p50 {} floor p50 {}; round trips {} / {}", a.action, common::ms(a.handler.p50), common::ms(a.floor.p50), a.before, a.after);
            }
            eprintln!("[bench] (c) worker throughput against its floor");
            // Kept shallow: the emulator's receive slows down with the depth of a FIFO queue.
            let worker = worker::run(&aws, 500, 50, 4).await?;
            eprintln!("[bench]   worker {:.0} events/s, floor {:.0} events/s, receive and delete {:.0} messages/s", worker.worker_per_second, worker.floor_per_second, worker.bare_per_second);
            eprintln!("[bench] (d) log queries at 1,000 and {rows} rows");
            let logs = logs::run(&aws, &[1_000, rows], iterations).await?;
            let text = report::measures(&invocation, &actions, &init, &worker, &logs);
            report::write_section(&out, "measures", &text)?;
            println!("{text}");
            Ok(true)
        }
        "faults" => {
            let aws = common::Aws::load().await;
            let api = flag(&args, "--api").or_else(|| std::env::var("E2E_API_URL").ok()).ok_or("faults needs --api URL")?;
            let events = number(&args, "--events", 10_000)?;
            let rate = number(&args, "--fault-rate", 30)? as u64;
            let window = number(&args, "--window", 200)?;
            let outage = number(&args, "--outage", 40)? as u64;
            let r = faults::run(&aws, &api, events, rate, window, outage).await?;
            let text = report::faults(&invocation, &r);
            if flag(&args, "--out").is_some() || events >= 1_000 {
                report::write_section(&out, "faults", &text)?;
            }
            println!("{text}");
            let breaker = outage == 0 || (r.breaker_opened > 0 && r.breaker_closed > 0);
            let ok = r.lost == 0 && r.duplicates_at_provider == 0 && r.failed_without_log == 0 && r.mismatched == 0 && r.refused == 0 && r.failed_by_outage == 0 && breaker;
            if !ok {
                eprintln!(
                    "[faults] FAILED: lost {}, duplicates {}, failed without a log {}, mismatched {}, refused {}, failed on the outage {}, breaker opened {} and closed {}",
                    r.lost, r.duplicates_at_provider, r.failed_without_log, r.mismatched, r.refused, r.failed_by_outage, r.breaker_opened, r.breaker_closed
                );
            }
            Ok(ok)
        }
        "bulk" => {
            let aws = common::Aws::load().await;
            let api = flag(&args, "--api").or_else(|| std::env::var("E2E_API_URL").ok()).ok_or("bulk needs --api URL")?;
            let services = number(&args, "--services", 1_000)?;
            let rate = number(&args, "--rate", 10)? as u32;
            let r = bulk::run(&aws, &api, services, rate).await?;
            let text = report::bulk(&invocation, &r);
            if flag(&args, "--out").is_some() {
                report::write_section(&out, "bulk", &text)?;
            }
            println!("{text}");
            let ok = r.busiest_second <= rate as usize && r.done == r.services as u64 && r.failed == 0 && r.suspended_at_provider == r.services && r.logged_wrong == 0 && r.found_exactly;
            if !ok {
                eprintln!(
                    "[bulk] FAILED: busiest second {} (limit {rate}), done {} of {}, failed {}, suspended at the provider {}, logged other than once {}, drift found exactly the {} changed: {} ({} drifted)",
                    r.busiest_second, r.done, r.services, r.failed, r.suspended_at_provider, r.logged_wrong, r.changed, r.found_exactly, r.drifted
                );
            }
            Ok(ok)
        }
        _ => Err("usage: bench measure [--release-dir DIR] [--log-rows N] [--iterations N] | bench faults --api URL [--events N] [--fault-rate P] [--outage SECONDS] | bench bulk --api URL [--services N] [--rate R]".into()),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    use tracing_subscriber::layer::SubscriberExt;
    let filter = std::env::var("BENCH_LOG")
        .ok()
        .and_then(|l| l.parse::<tracing_subscriber::filter::Targets>().ok())
        .unwrap_or_else(|| tracing_subscriber::filter::Targets::new().with_default(tracing::Level::ERROR));
    let _ = tracing::subscriber::set_global_default(tracing_subscriber::fmt().with_writer(std::io::stderr).finish().with(filter));
    match run(std::env::args().skip(1).collect()).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}
