//! BENCHMARKS.md: the machine, the date, the command, the figures against their targets.

use std::path::Path;

use crate::action::{ActionReport, PROVIDER_DELAY};
use crate::common::{Error, ms, ratio};
use crate::faults::FaultReport;
use crate::init::InitReport;
use crate::logs::LogsReport;
use crate::worker::WorkerReport;

fn sh(cmd: &str, args: &[&str]) -> String {
    std::process::Command::new(cmd).args(args).output().ok().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned()).unwrap_or_default()
}

pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| c.lines().find(|l| l.starts_with("model name")).and_then(|l| l.split_once(':')).map(|(_, v)| v.trim().to_owned()))
        .unwrap_or_default();
    let memory =
        std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| m.lines().next().map(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<u64>().ok()).unwrap_or(0) / 1_048_576)).unwrap_or(0);
    format!(
        "{} · {} cores ({cpu}) · {memory} GiB · {} · {}",
        sh("uname", &["-srm"]),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        sh("rustc", &["-V"]),
        sh("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
    )
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "**missed**" }
}

pub fn measures(command: &str, actions: &[ActionReport], init: &[InitReport], worker: &WorkerReport, logs: &[LogsReport]) -> String {
    let mut t = String::new();
    t.push_str(&format!("Measured by `{command}` on {}.\n\n", machine()));
    t.push_str(&format!(
        "### (a) Action latency: the action handler against its floor\n\nIn process, DynamoDB Local, the `http` provider calling a local endpoint that answers after {} ms. The floor makes the very same DynamoDB reads, provider call, transactional write (with the event's outbox record for a status change) bare with the SDK, in the same process, on the same clients. Target: handler ≤ 1.15 × floor; ≤ 2 round trips before the provider call, 1 after.\n\n",
        PROVIDER_DELAY.as_millis()
    ));
    t.push_str("| action | handler p50 | handler p99 | floor p50 | floor p99 | ratio p50 | ratio p99 | round trips before / after (floor) | target |\n|---|---|---|---|---|---|---|---|---|\n");
    for a in actions {
        let (r50, r99) = (ratio(a.handler.p50, a.floor.p50), ratio(a.handler.p99, a.floor.p99));
        let ddb_after = a.after_ops.iter().filter(|o| o.starts_with("DynamoDB")).count();
        let met = r50 <= 1.15 && a.before <= 2 && ddb_after <= 1;
        t.push_str(&format!(
            "| {} | {} | {} | {} | {} | {r50:.3} | {r99:.3} | {} / {} ({}) ({} / {}) | {} |\n",
            a.action,
            ms(a.handler.p50),
            ms(a.handler.p99),
            ms(a.floor.p50),
            ms(a.floor.p99),
            a.before,
            a.after,
            a.after_ops.join(", "),
            a.floor_before,
            a.floor_after,
            verdict(met)
        ));
    }
    t.push_str(&format!("\n{} runs of each after 20 to warm up.\n\n", actions.first().map_or(0, |a| a.handler.n)));
    t.push_str("### (b) Cold init and bootstrap size\n\nFrom process start to the function's first request for an event on a Lambda Runtime API served by the bench (where Lambda counts init as done), 20 starts each after one to warm the page cache; the functions read their SSM parameters from the local emulator. Targets: init ≤ 25 ms; stripped release bootstrap ≤ 8 MB (checked as 8,000,000 bytes; sizes below in MiB, 1 MiB = 1,048,576 bytes).\n\n| function | init p50 | init p99 | bootstrap | target |\n|---|---|---|---|---|\n");
    for i in init {
        let mb = i.bytes as f64 / 1_048_576.0;
        t.push_str(&format!("| {} | {} | {} | {mb:.2} MiB | {} |\n", i.function, ms(i.init.p50), ms(i.init.p99), verdict(i.init.p50.as_millis() <= 25 && i.bytes <= 8_000_000)));
    }
    let w = worker.worker_per_second / worker.floor_per_second.max(1e-9);
    t.push_str(&format!(
        "\n### (c) Worker throughput\n\n{} lifecycle events (package changes on demo hosting accounts: each a real action with provider state, log entry and event completion) over {} message groups on the lifecycle FIFO queue of the SQS emulator, {} pollers playing the event source mapping, the worker in process; against its floor: as many pollers on the same queue and the same messages making, bare, the calls the worker makes per event (the claim, the product and the provider's account read, its configuration read once as the worker remembers it for 30 s, the account written, one transaction with the outgoing event's outbox record), a batch run as the worker runs it (a group's messages in order, the groups side by side). A receive-and-delete loop is shown beside them. Target: worker ≥ 0.8 × the floor.\n\n| worker | floor (same calls) | ratio | target | receive and delete only |\n|---|---|---|---|---|\n| {:.0} events/s | {:.0} events/s | {w:.2} | {} | {:.0} messages/s |\n",
        worker.events,
        worker.groups,
        worker.pollers,
        worker.worker_per_second,
        worker.floor_per_second,
        verdict(w >= 0.8),
        worker.bare_per_second,
    ));
    let calls: Vec<String> = worker.per_event.iter().map(|(op, n)| format!("{op} {n:.2}")).collect();
    t.push_str(&format!("\nRound trips per event during the worker's run: {}.\n", calls.join(", ")));
    t.push_str(
        "\n### (d) Log queries\n\nThrough the logs handler in process; each query answers a full page (50 entries), newest first. Target: at the large table ≤ 1.2 × at the small one.\n\n| query | ",
    );
    for l in logs {
        t.push_str(&format!("{} rows p50 | p99 | ", l.rows));
    }
    t.push_str("ratio p50 | target |\n|---|");
    for _ in logs {
        t.push_str("---|---|");
    }
    t.push_str("---|---|\n");
    if let (Some(small), Some(large)) = (logs.first(), logs.last()) {
        for (i, (label, s)) in small.queries.iter().enumerate() {
            let l = large.queries[i].1;
            let r = ratio(l.p50, s.p50);
            t.push_str(&format!("| {label} | {} | {} | {} | {} | {r:.2} | {} |\n", ms(s.p50), ms(s.p99), ms(l.p50), ms(l.p99), verdict(r <= 1.2)));
        }
        let took = |l: &LogsReport| l.load_seconds.map_or_else(|| format!("{} rows were loaded by an earlier run and reused", l.rows), |s| format!("{} rows loaded in {s:.0} s", l.rows));
        t.push_str(&format!("\n{}; {} (BatchWriteItem, 25 rows each, 6 writers; on disk).\n", took(small), took(large)));
    }
    t
}

pub fn faults(command: &str, r: &FaultReport) -> String {
    format!(
        "Run by `{command}` on {}.\n\n{} lifecycle events over {} contract products (order.paid, then invoice.overdue, invoice.paid, contract.cancelled: each product a prefix of that life) through the billing webhook (HTTP, cargo lambda watch), the lifecycle FIFO queue (SQS emulator) and the worker (through the local event source mapping); the demo provider fails {}% of its calls at random: a 503, no answer, or no answer after the change was made, and is down altogether (every call a 503) for the first {} s. {} webhooks were sent twice and {} messages delivered twice.\n\n| accepted | refused | done | failed, with an error log | failed, no log | in the DLQ | duplicates at the provider | lost | provider disagrees | failed, 2+ attempts on the outage | breaker opened / closed | took |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} / {} | {:.0} s |\n\nLost, duplicates and events failed with more than one attempt spent on the outage must be 0, and the breaker must open and close (the run fails otherwise): an event may meet the outage once before the breaker opens; after that it waits for the breaker without spending attempts. \"Provider disagrees\" counts contract products whose events all ended done but whose account at the provider is not in the state the engine records.\n",
        machine(),
        r.events,
        r.products,
        r.fault_rate,
        r.outage_seconds,
        r.webhook_repeats,
        r.message_repeats,
        r.accepted,
        r.refused,
        r.done,
        r.failed_with_log,
        r.failed_without_log,
        r.in_dlq,
        r.duplicates_at_provider,
        r.lost,
        r.mismatched,
        r.failed_by_outage,
        r.breaker_opened,
        r.breaker_closed,
        r.seconds
    )
}

pub fn bulk(command: &str, r: &crate::bulk::BulkReport) -> String {
    format!(
        "Run by `{command}` on {}.\n\nA bulk suspend (POST /bulk-actions, a filter on the configuration) of {} demo services imported into one configuration limited to {} calls a second, through the lifecycle queue (SQS emulator) and the worker (cargo lambda watch, debug build). The demo provider records when each call arrived; the busiest second is the most arrivals within any sliding one-second window.\n\n| services | done | failed | took | rate at the provider | busiest second at the provider | suspended at the provider | logged other than once | setup (import) |\n|---|---|---|---|---|---|---|---|---|\n| {} | {} | {} | {:.0} s | {:.2} calls/s | {} | {} | {} | {:.0} s |\n\nThe busiest second must not exceed the limit, and every service must be suspended and logged exactly once (the run fails otherwise). {}\n\nThen {} of the services (one in twenty) were unsuspended at the provider behind the engine's back, and a drift sweep of the configuration was run (the worker's daily schedule, invoked now for it alone): it asked {} services in {:.0} s (each a get-info, and a get-usage-data refreshing its usage: {} refreshed), within the configuration's limit, and found {} drifted, {}.\n",
        machine(),
        r.services,
        r.limit,
        r.services,
        r.done,
        r.failed,
        r.seconds,
        r.rate,
        r.busiest_second,
        r.suspended_at_provider,
        r.logged_wrong,
        r.setup_seconds,
        if r.rate >= 0.85 * f64::from(r.limit) {
            "Start times are spaced 10% wider than the rate (so scheduling jitter never puts more than the rate into a second at the provider): the rate achieved sits under the limit.".to_owned()
        } else {
            format!(
                "The worker (debug build under cargo lambda watch, the local event source mapping, 2 cores) ran slower than the limit on average ({:.1} calls/s); the limit still bound its bursts: the busiest second reached {} of {}.",
                r.rate, r.busiest_second, r.limit
            )
        },
        r.changed,
        r.swept,
        r.sweep_seconds,
        r.usage_refreshed,
        r.drifted,
        if r.found_exactly { "exactly the changed ones" } else { "NOT exactly the changed ones" },
    )
}

/// Replaces the section between `<!-- name -->` and `<!-- /name -->`, keeping the rest.
pub fn write_section(path: &Path, name: &str, text: &str) -> Result<(), Error> {
    let current = std::fs::read_to_string(path).unwrap_or_else(|_| {
        "# Benchmarks\n\nWritten by `make bench` (measures) and `make faults` (the fault-injection run); the notes at the end say what the figures mean and where a target is missed.\n\n## Measures\n\n<!-- measures -->\n<!-- /measures -->\n\n## Fault injection\n\n<!-- faults -->\n<!-- /faults -->\n".to_owned()
    });
    let (open, close) = (format!("<!-- {name} -->"), format!("<!-- /{name} -->"));
    let next = match (current.find(&open), current.find(&close)) {
        (Some(a), Some(b)) if a < b => format!("{}{open}\n{text}{}", &current[..a], &current[b..]),
        _ => format!("{current}\n{open}\n{text}{close}\n"),
    };
    std::fs::write(path, next)?;
    Ok(())
}
