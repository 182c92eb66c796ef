//! The sample events of infra/events (what the README's `cargo lambda invoke` examples send)
//! give the answers infra/events/README.md promises, through watch's Lambda Invoke API.

use e2e::{api_url, http};
use infra::generate::workspace_root;
use serde_json::Value;

async fn invoke(function: &str, file: &str) -> Value {
    let event: Value = serde_json::from_str(&std::fs::read_to_string(workspace_root().join("infra/events").join(file)).unwrap()).unwrap();
    let url = format!("{}/2015-03-31/functions/{function}/invocations", api_url());
    for _ in 0..3 {
        let response = http().post(&url).json(&event).send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        // cargo lambda watch's own 500 when it fails to relay a large answer (see e2e::call):
        // invoke again.
        if status.as_u16() == 500 && text.contains("httpstatuses.com/500") {
            continue;
        }
        assert!(status.is_success(), "{file}: {status}: {text}");
        return serde_json::from_str(&text).unwrap();
    }
    panic!("{file}: cargo lambda watch failed to relay the answer three times");
}

#[tokio::test]
async fn sample_events_give_the_documented_answers() {
    for (file, status, code) in [("admin-list-blueprints.json", 200, None), ("admin-no-token.json", 401, Some("unauthenticated")), ("admin-unknown-route.json", 404, Some("not_found"))] {
        let response = invoke("admin", file).await;
        assert_eq!(response["statusCode"], status, "{file}: {response}");
        let body: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
        match code {
            Some(code) => assert_eq!(body["error"]["code"], code, "{file}"),
            None => assert_eq!(body["counts"]["actions"], 73, "{file}"),
        }
    }
}
