//! (b) Cold init of every function binary: from process start to its first request for an event
//! on a Lambda Runtime API served here (the moment the Lambda service counts init as done), and
//! the size of each stripped release bootstrap.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::common::{Error, Summary, summarize};

pub const FUNCTIONS: [&str; 6] = ["admin", "action", "logs", "webhook", "worker", "dispatcher"];

pub struct InitReport {
    pub function: String,
    pub init: Summary,
    pub bytes: u64,
}

/// Starts `binary` as the Lambda service would and waits for its first `next` request.
async fn one_start(binary: &Path, function: &str, listener: &TcpListener) -> Result<Duration, Error> {
    let address = listener.local_addr()?;
    let started = Instant::now();
    let mut child = tokio::process::Command::new(binary)
        .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", function)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{function}"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let accepted = tokio::time::timeout(Duration::from_secs(20), async {
        let (mut socket, _) = listener.accept().await?;
        let mut buf = vec![0u8; 4096];
        let n = socket.read(&mut buf).await?;
        Ok::<_, std::io::Error>((Instant::now(), String::from_utf8_lossy(&buf[..n]).to_string(), socket))
    })
    .await;
    let result: Result<Duration, Error> = match accepted {
        Ok(Ok((at, head, mut socket))) if head.starts_with("GET /2018-06-01/runtime/invocation/next") => {
            let _ = socket.shutdown().await;
            Ok(at - started)
        }
        Ok(Ok((_, head, _))) => Err(format!("{function}: its first request was not for an event: {}", head.lines().next().unwrap_or_default()).into()),
        Ok(Err(e)) => Err(e.into()),
        Err(_) => Err(format!("{function} asked for no event within 20 s").into()),
    };
    let _ = child.start_kill();
    let output = child.wait_with_output().await?;
    match result {
        Ok(d) => Ok(d),
        Err(e) => Err(format!("{e}; its stderr: {}", String::from_utf8_lossy(&output.stderr).lines().take(5).collect::<Vec<_>>().join(" | ")).into()),
    }
}

pub async fn run(release_dir: &Path, starts: usize) -> Result<Vec<InitReport>, Error> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let mut reports = Vec::new();
    for function in FUNCTIONS {
        let binary: PathBuf = release_dir.join(function);
        let bytes = std::fs::metadata(&binary).map_err(|e| format!("{}: {e} (build with cargo build --release)", binary.display()))?.len();
        // One start to bring the binary into the page cache: Lambda's own caches hold it too.
        one_start(&binary, function, &listener).await?;
        let mut sample = Vec::new();
        for _ in 0..starts {
            sample.push(one_start(&binary, function, &listener).await?);
        }
        reports.push(InitReport { function: function.to_owned(), init: summarize(sample), bytes });
    }
    Ok(reports)
}
