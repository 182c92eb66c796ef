//! The local SQS→Lambda poller on a real queue of the SQS emulator, with a stand-in function
//! behind a local Invoke API: partial batch failures, redrive to the DLQ, failed invocations.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_sqs::types::QueueAttributeName;
use e2e::{aws, unique};
use infra::cfn::{Stack, Template};
use infra::local::{self, EventSourceMapping, LOCAL_ACCOUNT};
use infra::poller::Poller;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// A function that fails every record whose body is "fail", and records the events it got.
#[derive(Clone, Default)]
struct FailingFunction {
    events: Arc<Mutex<Vec<Value>>>,
}

impl Respond for FailingFunction {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let event: Value = serde_json::from_slice(&request.body).unwrap();
        let failures: Vec<Value> = event["Records"].as_array().unwrap().iter().filter(|r| r["body"] == "fail").map(|r| json!({ "itemIdentifier": r["messageId"] })).collect();
        self.events.lock().unwrap().push(event);
        ResponseTemplate::new(200).set_body_json(json!({ "batchItemFailures": failures }))
    }
}

async fn queue_with_dlq(sqs: &aws_sdk_sqs::Client, max_receive: u32) -> (String, String, String) {
    let name = unique("poll");
    let dlq = sqs.create_queue().queue_name(format!("{name}-dlq")).send().await.unwrap().queue_url.unwrap();
    let dlq_arn = format!("arn:aws:sqs:us-east-1:{LOCAL_ACCOUNT}:{name}-dlq");
    let redrive = json!({ "deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive }).to_string();
    let url =
        sqs.create_queue().queue_name(&name).attributes(QueueAttributeName::VisibilityTimeout, "1").attributes(QueueAttributeName::RedrivePolicy, redrive).send().await.unwrap().queue_url.unwrap();
    (url, format!("arn:aws:sqs:us-east-1:{LOCAL_ACCOUNT}:{name}"), dlq)
}

async fn count(sqs: &aws_sdk_sqs::Client, url: &str) -> usize {
    let a = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap();
    let a = a.attributes().unwrap();
    a[&QueueAttributeName::ApproximateNumberOfMessages].parse::<usize>().unwrap() + a[&QueueAttributeName::ApproximateNumberOfMessagesNotVisible].parse::<usize>().unwrap()
}

#[tokio::test]
async fn successes_are_deleted_and_reported_failures_are_redriven_to_the_dlq() {
    let sqs = aws_sdk_sqs::Client::new(&aws().await);
    let (url, arn, dlq) = queue_with_dlq(&sqs, 2).await;
    let function = FailingFunction::default();
    let server = MockServer::start().await;
    Mock::given(method("POST")).and(path("/2015-03-31/functions/worker/invocations")).respond_with(function.clone()).mount(&server).await;
    for body in ["ok-1", "ok-2", "fail", "ok-3"] {
        sqs.send_message().queue_url(&url).message_body(body).send().await.unwrap();
    }
    let mapping = EventSourceMapping { function: "worker".into(), queue_arn: arn.clone(), queue_url: url.clone(), batch_size: 10, report_batch_item_failures: true };
    let mut poller = Poller::new(mapping, sqs.clone(), &server.uri(), "us-east-1");
    poller.wait_seconds = 1;

    let mut deleted = 0;
    for _ in 0..30 {
        deleted += poller.poll_once().await.unwrap().deleted;
        if count(&sqs, &dlq).await == 1 && count(&sqs, &url).await == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(deleted, 3, "the three good messages are deleted once each");
    assert_eq!(count(&sqs, &url).await, 0);
    assert_eq!(count(&sqs, &dlq).await, 1, "the failing message is in the DLQ after maxReceiveCount");
    let parked = sqs.receive_message().queue_url(&dlq).send().await.unwrap();
    assert_eq!(parked.messages()[0].body(), Some("fail"));

    let events = function.events.lock().unwrap();
    let first = &events[0]["Records"][0];
    assert_eq!(first["eventSource"], "aws:sqs");
    assert_eq!(first["eventSourceARN"], arn.as_str());
    assert_eq!(first["awsRegion"], "us-east-1");
    assert!(first["messageId"].is_string() && first["receiptHandle"].is_string());
    assert_eq!(first["attributes"]["ApproximateReceiveCount"], "1");
    let fail_deliveries = events.iter().flat_map(|e| e["Records"].as_array().unwrap().clone()).filter(|r| r["body"] == "fail").count();
    assert_eq!(fail_deliveries, 2, "delivered maxReceiveCount times");
}

#[tokio::test]
async fn a_failed_invocation_leaves_the_whole_batch_on_the_queue() {
    let sqs = aws_sdk_sqs::Client::new(&aws().await);
    let (url, arn, _) = queue_with_dlq(&sqs, 5).await;
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200).insert_header("X-Amz-Function-Error", "Unhandled").set_body_json(json!({"errorMessage": "boom"}))).mount(&server).await;
    for body in ["a", "b"] {
        sqs.send_message().queue_url(&url).message_body(body).send().await.unwrap();
    }
    let mapping = EventSourceMapping { function: "worker".into(), queue_arn: arn, queue_url: url.clone(), batch_size: 10, report_batch_item_failures: true };
    let mut poller = Poller::new(mapping, sqs.clone(), &server.uri(), "us-east-1");
    poller.wait_seconds = 1;
    // Until both have been delivered (a second poll may get the first message again, once its
    // short visibility timeout has passed): every delivery is retained, none deleted.
    let mut outcome = poller.poll_once().await.unwrap();
    if outcome.received < 2 {
        let more = poller.poll_once().await.unwrap();
        outcome.received += more.received;
        outcome.retained += more.retained;
        outcome.deleted += more.deleted;
    }
    assert_eq!(outcome.deleted, 0);
    assert!(outcome.received >= 2, "{} received", outcome.received);
    assert_eq!(outcome.retained, outcome.received, "every delivery is left on the queue");
    assert_eq!(count(&sqs, &url).await, 2, "nothing is lost");
}

/// The mappings come from the template: the worker's two SQS events and the dispatcher's.
#[tokio::test]
async fn event_source_mappings_are_read_from_the_template() {
    let config = aws().await;
    let ddb = aws_sdk_dynamodb::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let template = Template::load(&infra::generate::workspace_root().join("template.yaml")).unwrap();
    let name = unique("esm");
    let mut stack = Stack::new(template, &name, "us-east-1", LOCAL_ACCOUNT, &[("AuthIssuer".to_string(), "it".to_string())].into());
    local::setup(&mut stack, &ddb, &sqs).await.unwrap();
    let mappings = local::event_source_mappings(&stack).unwrap();
    assert_eq!(
        mappings,
        vec![
            EventSourceMapping {
                function: "worker".into(),
                queue_arn: format!("arn:aws:sqs:us-east-1:{LOCAL_ACCOUNT}:{name}-lifecycle.fifo"),
                queue_url: stack.physical["LifecycleQueue"].reference.clone(),
                batch_size: 10,
                report_batch_item_failures: true,
            },
            EventSourceMapping {
                function: "worker".into(),
                queue_arn: format!("arn:aws:sqs:us-east-1:{LOCAL_ACCOUNT}:{name}-operations"),
                queue_url: stack.physical["OperationsQueue"].reference.clone(),
                batch_size: 10,
                report_batch_item_failures: true,
            },
            EventSourceMapping {
                function: "dispatcher".into(),
                queue_arn: format!("arn:aws:sqs:us-east-1:{LOCAL_ACCOUNT}:{name}-events"),
                queue_url: stack.physical["EventsQueue"].reference.clone(),
                batch_size: 10,
                report_batch_item_failures: true,
            },
        ]
    );
}
