//! The stack's alarms and dashboard, generated with the template: what an operator watches on
//! their first day. Every alarm tells AlarmTopicArn (where it is set). The engine's own metrics
//! come from its functions' log lines in CloudWatch's embedded metric format
//! (shared::adapters::metrics): no call to CloudWatch from any function.
//!
//! Alarms: each function's errors and throttles (the 73 action functions are reached only
//! through the API, so the API's 5xx alarm covers them: a crash, a timeout or a throttle of one
//! is a 5xx there), the API's 5xx, the age of the oldest lifecycle message (a stuck message
//! group holds a contract product's work), the outbox's age (the stream records waiting for
//! the dispatcher), the dead-letter queues (in template::queue_pair), and failed runs per
//! provision configuration (a Contributor Insights rule over the action lines, so a new
//! configuration needs no new alarm).

use serde_json::{Map, Value, json};

use crate::functions::FUNCTIONS;

/// The embedded metric format namespace of the engine's metrics (POWERTOOLS_METRICS_NAMESPACE).
pub const NAMESPACE: &str = "Provisioning";

fn r(name: &str) -> Value {
    json!({ "Ref": name })
}

fn sub(text: &str) -> Value {
    json!({ "Fn::Sub": text })
}

fn alarm_actions() -> Value {
    json!({ "Fn::If": ["HasAlarmTopic", [r("AlarmTopicArn")], r("AWS::NoValue")] })
}

/// An alarm on one metric: above `threshold` (its `statistic` over `period` s) in one period.
fn alarm(description: &str, namespace: &str, metric: &str, dimensions: Value, statistic: &str, period: u32, threshold: f64) -> Value {
    json!({
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": description,
            "Namespace": namespace,
            "MetricName": metric,
            "Dimensions": dimensions,
            "Statistic": statistic,
            "Period": period,
            "EvaluationPeriods": 1,
            "Threshold": threshold,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": alarm_actions(),
            "OKActions": alarm_actions()
        }
    })
}

/// The Contributor Insights rule counting failed runs per provision configuration, over the
/// action functions' and the worker's log lines (the action line of shared::adapters::metrics).
const FAILURES_RULE: &str = "ConfigurationFailuresRule";

/// The alarm logical ids, with the condition each exists under.
fn alarm_ids() -> Vec<(String, Option<&'static str>)> {
    let mut ids: Vec<(String, Option<&'static str>)> = Vec::new();
    for f in FUNCTIONS.iter().filter(|f| !f.per_action) {
        ids.push((format!("{}ErrorsAlarm", f.logical_id), f.condition));
        ids.push((format!("{}ThrottlesAlarm", f.logical_id), f.condition));
    }
    for id in ["ApiServerErrorsAlarm", "LifecycleStuckAlarm", "OutboxAgeAlarm", "ConfigurationFailuresAlarm", "LifecycleQueueDlqDepthAlarm", "EventsQueueDlqDepthAlarm", "OperationsQueueDlqDepthAlarm"]
    {
        ids.push((id.to_owned(), None));
    }
    ids
}

/// Adds the alarms, the Contributor Insights rule and the dashboard to the resources.
pub fn alarms_and_dashboard(res: &mut Map<String, Value>) {
    for f in FUNCTIONS.iter().filter(|f| !f.per_action) {
        let dimensions = json!([{ "Name": "FunctionName", "Value": r(f.logical_id) }]);
        for (metric, what) in
            [("Errors", "failed invocations (a crash, a timeout, an error returned to Lambda)"), ("Throttles", "throttled invocations (the account's or the function's concurrency is used up)")]
        {
            let mut a = alarm(&format!("The {} function: {what}", f.name), "AWS/Lambda", metric, dimensions.clone(), "Sum", 300, 0.0);
            if let Some(condition) = f.condition {
                a["Condition"] = json!(condition);
            }
            res.insert(format!("{}{metric}Alarm", f.logical_id), a);
        }
    }
    res.insert(
        "ApiServerErrorsAlarm".into(),
        alarm(
            "The API answered 5xx more than 5 times in 5 minutes (an action function's crash, timeout or throttle shows here too)",
            "AWS/ApiGateway",
            "5xx",
            json!([{ "Name": "ApiId", "Value": r("HttpApi") }, { "Name": "Stage", "Value": r("Stage") }]),
            "Sum",
            300,
            5.0,
        ),
    );
    // In minutes (the parameter's unit): the queue's metric is in seconds.
    let lifecycle = json!([{ "Name": "QueueName", "Value": { "Fn::GetAtt": ["LifecycleQueue", "QueueName"] } }]);
    res.insert(
        "LifecycleStuckAlarm".into(),
        json!({
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmDescription": "The oldest lifecycle message is older than StuckMessageMinutes: a message group (one contract product's work) is not moving",
                "Metrics": [
                    { "Id": "age", "MetricStat": { "Metric": { "Namespace": "AWS/SQS", "MetricName": "ApproximateAgeOfOldestMessage", "Dimensions": lifecycle }, "Period": 300, "Stat": "Maximum" }, "ReturnData": false },
                    { "Id": "minutes", "Expression": "age / 60", "Label": "Oldest lifecycle message (minutes)", "ReturnData": true }
                ],
                "EvaluationPeriods": 1,
                "Threshold": r("StuckMessageMinutes"),
                "ComparisonOperator": "GreaterThanThreshold",
                "TreatMissingData": "notBreaching",
                "AlarmActions": alarm_actions(),
                "OKActions": alarm_actions()
            }
        }),
    );
    res.insert(
        "OutboxAgeAlarm".into(),
        alarm(
            "Outgoing events wait in the outbox (the main table's stream) for more than 5 minutes: the dispatcher cannot put them on the events queue. The stream keeps them 24 hours",
            "AWS/Lambda",
            "IteratorAge",
            json!([{ "Name": "FunctionName", "Value": r("DispatcherFunction") }]),
            "Maximum",
            300,
            300_000.0,
        ),
    );
    let rule_body = json!({
        "Schema": { "Name": "CloudWatchLogRule", "Version": 1 },
        "LogGroupNames": ["${ActionLogs}", "/aws/lambda/${WorkerFunction}"],
        "LogFormat": "JSON",
        "Contribution": { "Keys": ["$.configuration_id"], "Filters": [{ "Match": "$.outcome", "In": ["failure"] }] },
        "AggregateOn": "Count"
    });
    res.insert(
        FAILURES_RULE.into(),
        json!({
            "Type": "AWS::CloudWatch::InsightRule",
            "Properties": { "RuleName": sub("${AWS::StackName}-configuration-failures"), "RuleState": "ENABLED", "RuleBody": sub(&rule_body.to_string()) }
        }),
    );
    res.insert(
        "ConfigurationFailuresAlarm".into(),
        json!({
            "Type": "AWS::CloudWatch::Alarm",
            "DependsOn": FAILURES_RULE,
            "Properties": {
                "AlarmDescription": "One provision configuration had more than ConfigurationFailureThreshold failed runs in 5 minutes (its credentials, its address or the third party itself): the dashboard's contributors name it",
                "Metrics": [{
                    "Id": "failures",
                    "Expression": sub("INSIGHT_RULE_METRIC('${AWS::StackName}-configuration-failures', 'MaxContributorValue')"),
                    "Label": "Failed runs of the worst configuration",
                    "Period": 300,
                    "ReturnData": true
                }],
                "EvaluationPeriods": 1,
                "Threshold": r("ConfigurationFailureThreshold"),
                "ComparisonOperator": "GreaterThanThreshold",
                "TreatMissingData": "notBreaching",
                "AlarmActions": alarm_actions(),
                "OKActions": alarm_actions()
            }
        }),
    );
    res.insert("Dashboard".into(), json!({ "Type": "AWS::CloudWatch::Dashboard", "Properties": { "DashboardName": sub("${AWS::StackName}"), "DashboardBody": sub(&dashboard().to_string()) } }));
}

/// A SEARCH expression over the engine's metrics of this stack.
fn search(schema: &str, metric: &str, stat: &str, period: u32) -> Value {
    json!([{ "expression": format!("SEARCH('{{{NAMESPACE},{schema}}} MetricName=\"{metric}\" service=\"${{AWS::StackName}}\"', '{stat}', {period})"), "id": format!("{}{}", metric.to_lowercase(), stat.to_lowercase().replace('.', "")) }])
}

fn widget(title: &str, (x, y): (u32, u32), metrics: Value, extra: Value) -> Value {
    let mut properties = json!({ "title": title, "region": "${AWS::Region}", "view": "timeSeries", "stacked": false, "period": 60, "metrics": metrics });
    for (k, v) in extra.as_object().into_iter().flatten() {
        properties[k] = v.clone();
    }
    json!({ "type": "metric", "x": x, "y": y, "width": 12, "height": 6, "properties": properties })
}

/// The dashboard's body (a Fn::Sub text: `${...}` names the stack's resources).
fn dashboard() -> Value {
    let api = |metric: &str, stat: &str| json!(["AWS/ApiGateway", metric, "ApiId", "${HttpApi}", "Stage", "${Stage}", { "stat": stat, "label": format!("{metric} ({stat})") }]);
    let always: Vec<_> = FUNCTIONS.iter().filter(|f| !f.per_action && f.condition.is_none()).collect();
    let lambda =
        |metric: &str| -> Vec<Value> { always.iter().map(|f| json!(["AWS/Lambda", metric, "FunctionName", format!("${{{}}}", f.logical_id), { "label": format!("{} {metric}", f.name) }])).collect() };
    let queue = |logical: &str, label: &str, metric: &str| json!(["AWS/SQS", metric, "QueueName", format!("${{{logical}.QueueName}}"), { "label": label, "stat": "Maximum" }]);
    let alarms: Vec<Value> = alarm_ids().into_iter().filter(|(_, c)| c.is_none()).map(|(id, _)| json!(format!("${{{id}.Arn}}"))).collect();
    let mut functions = lambda("Errors");
    functions.extend(lambda("Throttles"));
    json!({ "widgets": [
        { "type": "alarm", "x": 0, "y": 0, "width": 24, "height": 4, "properties": { "title": "Alarms", "alarms": alarms } },
        widget("Actions by outcome (every run: API, lifecycle, bulk)", (0, 4), search("service,outcome", "Actions", "Sum", 60), json!({ "stat": "Sum" })),
        widget("Action latency by blueprint and provider (p99, ms)", (12, 4), search("service,blueprint,provider,outcome", "ActionLatency", "p99", 300), json!({})),
        widget("API requests, 4xx, 5xx", (0, 10), json!([api("Count", "Sum"), api("4xx", "Sum"), api("5xx", "Sum")]), json!({})),
        widget("API latency (ms)", (12, 10), json!([api("Latency", "p50"), api("Latency", "p99")]), json!({})),
        widget("Retries and give-ups by queue", (0, 16), json!([search("service,queue", "Retries", "Sum", 60)[0].clone(), search("service,queue", "GiveUps", "Sum", 60)[0].clone()]), json!({})),
        widget("Circuit breakers opening, probing, closing", (12, 16), search("service,state", "Breaker", "Sum", 60), json!({})),
        widget("Oldest message (s)", (0, 22), json!([queue("LifecycleQueue", "lifecycle", "ApproximateAgeOfOldestMessage"), queue("OperationsQueue", "operations", "ApproximateAgeOfOldestMessage"), queue("EventsQueue", "events", "ApproximateAgeOfOldestMessage")]), json!({})),
        widget("Dead-letter queues", (12, 22), json!([queue("LifecycleQueueDlq", "lifecycle DLQ", "ApproximateNumberOfMessagesVisible"), queue("EventsQueueDlq", "events DLQ", "ApproximateNumberOfMessagesVisible"), queue("OperationsQueueDlq", "operations DLQ", "ApproximateNumberOfMessagesVisible")]), json!({})),
        widget("Function errors and throttles", (0, 28), json!(functions), json!({ "stat": "Sum" })),
        widget("Outbox age (ms) and cold starts", (12, 28), json!([["AWS/Lambda", "IteratorAge", "FunctionName", "${DispatcherFunction}", { "stat": "Maximum", "label": "outbox age" }], search("service,function_name", "ColdStart", "Sum", 300)[0].clone()]), json!({})),
        { "type": "metric", "x": 0, "y": 34, "width": 24, "height": 6, "properties": {
            "title": "Configurations with the most failed runs",
            "region": "${AWS::Region}",
            "insightRule": { "maxContributorCount": 10, "orderBy": "Sum", "ruleName": "${AWS::StackName}-configuration-failures" },
            "view": "timeSeries", "legend": { "position": "bottom" }, "period": 300
        } }
    ]})
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every alarm the dashboard shows exists, and every alarm tells the alarm topic.
    #[test]
    fn every_alarm_tells_the_topic_and_is_on_the_dashboard() {
        let t = crate::template::template();
        let resources = t["Resources"].as_object().unwrap();
        let alarms: Vec<&String> = resources.iter().filter(|(_, v)| v["Type"] == "AWS::CloudWatch::Alarm").map(|(k, _)| k).collect();
        assert!(alarms.len() >= 20, "{alarms:?}");
        for id in &alarms {
            let p = &resources[id.as_str()]["Properties"];
            assert_eq!(p["AlarmActions"]["Fn::If"][1][0]["Ref"], "AlarmTopicArn", "{id}");
            assert!(alarm_ids().iter().any(|(a, _)| a == *id), "{id} is not listed for the dashboard");
        }
        let body = t["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"].as_str().unwrap();
        let parsed: Value = serde_json::from_str(body).unwrap();
        assert!(parsed["widgets"].as_array().unwrap().len() >= 10);
        for (id, condition) in alarm_ids() {
            assert!(resources.contains_key(&id), "{id}");
            assert_eq!(body.contains(&format!("${{{id}.Arn}}")), condition.is_none(), "{id}");
        }
    }
}
