//! `local-stack`: the workspace's tool behind `make template`, `make dev`, `make token` and
//! `make test`. Run `local-stack help` for its commands.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use infra::cfn::{Stack, Template};
use infra::local::{self, LOCAL_ACCOUNT};
use infra::poller::Poller;
use shared::api::auth::{Claims, sign_hs256};
use shared::domain::actor::Role;
use shared::domain::time::now_epoch;

/// The local stack's key for secrets at rest (32 bytes, base64): local only, never in AWS.
const LOCAL_SECRETS_KEY: &str = "bG9jYWwtc2VjcmV0cy1rZXktbm90LWZvci1wcm9kISE=";

const HELP: &str = "usage: local-stack <command> [options]
  generate [--check]        write template.yaml, openapi.yaml and Cargo.toml's watch router
                            from the catalogue (--check: fail if a committed copy drifted)
  setup --env-file PATH     create the tables and queues of template.yaml on the emulators
                            (AWS_ENDPOINT_URL_DYNAMODB / _SQS) and write the functions' environment
  poll --invoke-url URL     play every event source mapping of template.yaml (SQS queues, and
                            DynamoDB Local's streams with their filters) against cargo lambda
                            watch's Invoke API until stopped
  sqs-proxy --listen ADDR:PORT --upstream URL
                            the functions' way to the SQS emulator, told on /__faults to refuse
                            the sends to a queue for a while (the outbox test)
  gateway --listen ADDR:PORT --upstream URL
                            the local API Gateway: passes requests to cargo lambda watch, and
                            hands a body watch cannot carry (not UTF-8) to the routed function
                            base64-encoded, as API Gateway does
  seed --api URL            make one enabled demo configuration per blueprint, its default,
                            through the API (skipped where the blueprint has a default already)
  iam-check --calls PATH    hold every AWS call the functions made (the AWS_CALL_LOG file) to
                            their policies in template.yaml, resolved for this stack
  sweep --name drift|received-events --invoke-url URL [--configuration ID] [--every SECONDS]
                            run one of the worker's scheduled sweeps now (the drift sweep of every
                            configuration, or --configuration's alone) through cargo lambda
                            watch's Invoke API; with
                            --every, again and again, as EventBridge Scheduler does in AWS
  token --role admin|client [--client-id ID] [--sub SUB] [--ttl SECONDS]
                            print a local HS256 token (AUTH_HS256_SECRET, AUTH_ISSUER, AUTH_AUDIENCE)
common: --stack NAME (default local), --template PATH, --param Key=Value (template parameter)";

struct Args {
    command: String,
    flags: HashMap<String, Vec<String>>,
    switches: Vec<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let command = it.next().unwrap_or_else(|| "help".into());
    let mut flags: HashMap<String, Vec<String>> = HashMap::new();
    let mut switches = Vec::new();
    let rest: Vec<String> = it.collect();
    let mut i = 0;
    while i < rest.len() {
        let a = &rest[i];
        let name = a.strip_prefix("--").ok_or_else(|| format!("unexpected argument {a}"))?;
        match rest.get(i + 1).filter(|v| !v.starts_with("--")) {
            Some(v) if name != "check" => {
                flags.entry(name.to_owned()).or_default().push(v.clone());
                i += 2;
            }
            _ => {
                switches.push(name.to_owned());
                i += 1;
            }
        }
    }
    Ok(Args { command, flags, switches })
}

impl Args {
    fn one(&self, name: &str) -> Option<&str> {
        self.flags.get(name).and_then(|v| v.last()).map(String::as_str)
    }
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| default.to_owned())
}

/// The template parameters of the local stack: local auth settings, overridable by --param.
fn local_params(args: &Args) -> Result<HashMap<String, String>, String> {
    let mut params: HashMap<String, String> = [
        ("Stage".to_string(), "local".to_string()),
        ("AuthIssuer".to_string(), env_or("AUTH_ISSUER", "local-dev")),
        ("AuthAudience".to_string(), env_or("AUTH_AUDIENCE", "provisioning-api")),
        ("AuthHs256SecretParameter".to_string(), "/provisioning/token-secret".to_string()),
        // Locally the stack's functions are named by their binaries: the admin function stands
        // in for an operator's own function as an event handler's Lambda target.
        ("HandlerFunctionPrefix".to_string(), env_or("HANDLER_FUNCTION_PREFIX", "admin")),
    ]
    .into();
    for p in args.flags.get("param").into_iter().flatten() {
        let (k, v) = p.split_once('=').ok_or_else(|| format!("--param {p}: expected Key=Value"))?;
        params.insert(k.to_owned(), v.to_owned());
    }
    Ok(params)
}

async fn stack(args: &Args) -> Result<(Stack, aws_sdk_dynamodb::Client, aws_sdk_sqs::Client), String> {
    let path = args.one("template").map(PathBuf::from).unwrap_or_else(|| infra::generate::workspace_root().join("template.yaml"));
    let template = Template::load(&path).map_err(|e| e.to_string())?;
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let region = config.region().map(|r| r.to_string()).unwrap_or_else(|| "us-east-1".into());
    let stack = Stack::new(template, args.one("stack").unwrap_or("local"), &region, LOCAL_ACCOUNT, &local_params(args)?);
    Ok((stack, aws_sdk_dynamodb::Client::new(&config), aws_sdk_sqs::Client::new(&config)))
}

async fn run(args: Args) -> Result<(), String> {
    match args.command.as_str() {
        "generate" => {
            let root = infra::generate::workspace_root();
            if args.switches.iter().any(|s| s == "check") {
                let drift = infra::generate::drifted(&root)?;
                if !drift.is_empty() {
                    return Err(format!("drifted from the generator (run `make template`): {drift:?}"));
                }
            } else {
                for p in infra::generate::write_all(&root)? {
                    println!("wrote {}", p.display());
                }
            }
        }
        "setup" => {
            let env_file = args.one("env-file").ok_or("setup needs --env-file PATH")?;
            let (mut stack, ddb, sqs) = stack(&args).await?;
            local::setup(&mut stack, &ddb, &sqs).await.map_err(|e| e.to_string())?;
            // The prerequisite an operator creates before deploying: the key in SSM.
            let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
            let ssm = aws_sdk_ssm::Client::new(&config);
            for (parameter, value) in [
                ("SecretsKeyParameter", env_or("SECRETS_KEY", LOCAL_SECRETS_KEY)),
                ("WebhookSecretParameter", env_or("WEBHOOK_SECRET", "local-webhook-secret")),
                ("AuthHs256SecretParameter", env_or("AUTH_HS256_SECRET", "local-dev-secret-not-for-production")),
            ] {
                let name = local::parameter_value(&stack, parameter);
                local::put_secure_parameter(&ssm, &name, &value).await.map_err(|e| e.to_string())?;
            }
            let mut lines = String::new();
            for (k, v) in local::environment(&stack).map_err(|e| e.to_string())? {
                // Single quotes: the value is taken literally (base64 padding, URLs ...).
                if v.contains('\'') || v.contains('\n') {
                    return Err(format!("{k}: a value with a quote or newline cannot go in an env file"));
                }
                lines.push_str(&format!("{k}='{v}'\n"));
            }
            std::fs::write(env_file, lines).map_err(|e| format!("{env_file}: {e}"))?;
            let mut names: Vec<_> = stack.physical.values().map(|p| p.reference.clone()).collect();
            names.sort();
            eprintln!("[setup] stack {}: {}", stack.name, names.join(", "));
        }
        "iam-check" => {
            let calls = args.one("calls").ok_or("iam-check needs --calls PATH")?;
            let log = std::fs::read_to_string(calls).map_err(|e| format!("{calls}: {e}"))?;
            let (mut stack, ddb, sqs) = stack(&args).await?;
            // The tables' and queues' ARNs: setup finds the existing ones.
            local::setup(&mut stack, &ddb, &sqs).await.map_err(|e| e.to_string())?;
            let report = infra::iam::check(&stack, &log);
            for ((function, action), n) in &report.calls {
                eprintln!("[iam-check] {function}: {action} x{n}");
            }
            if report.calls.is_empty() {
                return Err(format!("{calls} holds no call: nothing was checked"));
            }
            if !report.violations.is_empty() {
                let lines: Vec<String> = report.violations.iter().map(|v| v.to_string()).collect();
                return Err(format!("{} calls the policies do not allow:\n{}", lines.len(), lines.join("\n")));
            }
            eprintln!("[iam-check] {} kinds of call, each allowed by its function's policy", report.calls.len());
        }
        "poll" => {
            let invoke_url = args.one("invoke-url").ok_or("poll needs --invoke-url URL")?;
            let (mut stack, ddb, sqs) = stack(&args).await?;
            // Resolving the mappings needs the queues' URLs; setup finds the existing ones.
            local::setup(&mut stack, &ddb, &sqs).await.map_err(|e| e.to_string())?;
            let mappings = local::event_source_mappings(&stack).map_err(|e| e.to_string())?;
            if mappings.is_empty() {
                eprintln!("[poll] template.yaml declares no SQS event source mapping yet; waiting");
            }
            let mut tasks = Vec::new();
            for m in mappings {
                eprintln!("[poll] {} <- {}", m.function, m.queue_url);
                let poller = Poller::new(m, sqs.clone(), invoke_url, &stack.region);
                tasks.push(tokio::spawn(async move { poller.run().await }));
            }
            // And the DynamoDB stream mappings (the outbox), on DynamoDB Local's streams.
            let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").map_err(|_| "poll needs AWS_ENDPOINT_URL_DYNAMODB (DynamoDB Local)")?;
            for m in infra::streams::stream_mappings(&stack).map_err(|e| e.to_string())? {
                eprintln!("[poll] {} <- {}", m.function, m.stream_arn);
                let poller = infra::streams::StreamPoller::new(m, &endpoint, invoke_url, &stack.region);
                tasks.push(tokio::spawn(async move { poller.run().await }));
            }
            let _ = tokio::signal::ctrl_c().await;
            tasks.iter().for_each(|t| t.abort());
        }
        "sqs-proxy" => {
            let listen: std::net::SocketAddr = args.one("listen").ok_or("sqs-proxy needs --listen ADDR:PORT")?.parse().map_err(|e| format!("--listen: {e}"))?;
            let upstream = args.one("upstream").ok_or("sqs-proxy needs --upstream URL")?;
            eprintln!("[sqs-proxy] {listen} -> {upstream}");
            infra::sqs_faults::SqsProxy::new(upstream).serve(listen).await.map_err(|e| format!("sqs-proxy: {e}"))?;
        }
        "gateway" => {
            let listen: std::net::SocketAddr = args.one("listen").ok_or("gateway needs --listen ADDR:PORT")?.parse().map_err(|e| format!("--listen: {e}"))?;
            let upstream = args.one("upstream").ok_or("gateway needs --upstream URL")?;
            eprintln!("[gateway] {listen} -> {upstream}");
            infra::gateway::Gateway::new(upstream).serve(listen).await.map_err(|e| format!("gateway: {e}"))?;
        }
        "seed" => {
            let api = args.one("api").ok_or("seed needs --api URL")?.trim_end_matches('/').to_owned();
            seed(&api).await?;
        }
        "sweep" => {
            let which = args.one("name").filter(|n| ["drift", "received-events"].contains(n)).ok_or("sweep needs --name drift or --name received-events")?.to_owned();
            let url = format!("{}/2015-03-31/functions/worker/invocations", args.one("invoke-url").ok_or("sweep needs --invoke-url URL")?.trim_end_matches('/'));
            let every: Option<u64> = args.one("every").map(|s| s.parse().map_err(|_| "--every takes seconds")).transpose()?;
            let http = reqwest::Client::new();
            loop {
                let mut input = serde_json::json!({ "sweep": which });
                if let Some(c) = args.one("configuration") {
                    input["configuration_id"] = serde_json::json!(c);
                }
                match http.post(&url).json(&input).send().await {
                    Ok(r) => println!("[sweep] {which}: {}", r.text().await.unwrap_or_default()),
                    Err(e) => eprintln!("[sweep] {which}: the worker did not answer: {e}"),
                }
                match every {
                    Some(s) => tokio::time::sleep(std::time::Duration::from_secs(s)).await,
                    None => break,
                }
            }
        }
        "token" => {
            let role = match args.one("role") {
                Some("admin") => Role::Admin,
                Some("client") => Role::Client,
                _ => return Err("token needs --role admin|client".into()),
            };
            let client_id = args.one("client-id").map(String::from);
            if role == Role::Client && client_id.is_none() {
                return Err("a client token needs --client-id".into());
            }
            let ttl: u64 = args.one("ttl").unwrap_or("86400").parse().map_err(|_| "--ttl takes seconds")?;
            let sub = args.one("sub").map(String::from).unwrap_or_else(|| format!("local-{}", args.one("role").unwrap_or_default()));
            println!("{}", local_token(role, client_id, &sub, ttl));
        }
        "help" | "--help" | "-h" => println!("{HELP}"),
        other => return Err(format!("unknown command {other}\n{HELP}")),
    }
    Ok(())
}

fn local_token(role: Role, client_id: Option<String>, sub: &str, ttl: u64) -> String {
    let claims = Claims { sub: sub.to_owned(), role, client_id, exp: now_epoch() + ttl, iss: env_or("AUTH_ISSUER", "local-dev"), aud: env_or("AUTH_AUDIENCE", "provisioning-api") };
    sign_hs256(env_or("AUTH_HS256_SECRET", "local-dev-secret-not-for-production").as_bytes(), &claims)
}

/// One enabled demo configuration per blueprint, the blueprint's default, made through the admin
/// API as an operator would. Blueprints that already have a default keep it.
async fn seed(api: &str) -> Result<(), String> {
    let http = reqwest::Client::new();
    let token = local_token(Role::Admin, None, "local-seed", 600);
    for b in &shared::catalogue::catalogue().blueprints {
        let listed: serde_json::Value =
            http.get(format!("{api}/provision-configurations?blueprint={}", b.id)).bearer_auth(&token).send().await.map_err(|e| e.to_string())?.json().await.map_err(|e| e.to_string())?;
        let items = listed["items"].as_array().ok_or_else(|| format!("listing {}: {listed}", b.id))?;
        if items.iter().any(|c| c["default_for_blueprint"] == true) {
            continue;
        }
        let mut settings = serde_json::json!({ "account_label": format!("Local demo ({})", b.name) });
        if b.id == "web-hosting" {
            settings["server_hostname"] = "demo-server.local.test".into();
        }
        let body = serde_json::json!({
            "name": format!("Demo {}", b.name), "blueprint": b.id, "provider": "demo",
            "enabled": true, "default_for_blueprint": true, "default_for_provider": true, "settings": settings,
        });
        let response = http.post(format!("{api}/provision-configurations")).bearer_auth(&token).json(&body).send().await.map_err(|e| e.to_string())?;
        if response.status().as_u16() != 201 {
            return Err(format!("seeding {}: {}", b.id, response.text().await.unwrap_or_default()));
        }
        eprintln!("[seed] demo configuration for {}", b.id);
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt().with_target(false).with_writer(std::io::stderr).init();
    let result = match parse_args() {
        Ok(args) => run(args).await,
        Err(e) => Err(format!("{e}\n{HELP}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("local-stack: {e}");
            ExitCode::FAILURE
        }
    }
}
