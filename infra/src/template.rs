//! template.yaml, generated from the routes and functions of shared::api::routes. What the template
//! declares is what the local stack creates: infra::local reads the file back, never this code.

use crate::functions::{FUNCTIONS, FunctionSpec, QueueAccess, TableAccess};
use serde_json::{Map, Value, json};
use shared::api::routes::{FALLBACK_FUNCTION, ROUTES};

fn r(name: &str) -> Value {
    json!({ "Ref": name })
}

fn arn(resource: &str) -> Value {
    json!({ "Fn::GetAtt": [resource, "Arn"] })
}

fn sub(text: &str) -> Value {
    json!({ "Fn::Sub": text })
}

/// Seconds a lifecycle or events message stays invisible while a worker has it: 6 × the longest
/// consumer timeout (AWS's rule for SQS event sources): the worker's 120 s. A failed record is
/// made visible again sooner by the consumer itself (its backoff), so this only bounds a crash.
pub const QUEUE_VISIBILITY_SECONDS: u32 = 720;
/// Receives before a message is parked in its DLQ (AWS guidance: at least 5).
pub const MAX_RECEIVE_COUNT: u32 = 5;
const FOURTEEN_DAYS: u32 = 1_209_600;

fn pascal(name: &str) -> String {
    name.split(['-', '_', '/', '{', '}'])
        .filter(|s| !s.is_empty())
        .map(|s| {
            let mut c = s.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        })
        .collect()
}

fn parameters() -> Value {
    json!({
        "Stage": {
            "Type": "String", "Default": "prod", "AllowedPattern": "^[a-z][a-z0-9-]{0,15}$",
            "Description": "API stage name; also the STAGE of every function"
        },
        "AuthIssuer": {
            "Type": "String", "Default": "",
            "Description": "The iss claim every bearer token must carry (required unless CreateUserPool is true, which sets it to the pool's)"
        },
        "AuthAudience": {
            "Type": "String", "Default": "provisioning-api",
            "Description": "The aud claim every bearer token must carry"
        },
        "AuthJwksUrl": {
            "Type": "String", "Default": "",
            "Description": "JWKS URL of the identity provider (RS256). Leave empty to use AuthHs256SecretParameter"
        },
        "AuthHs256SecretParameter": {
            "Type": "String", "Default": "", "AllowedPattern": "^(|/[A-Za-z0-9_./-]+)$",
            "Description": "SSM SecureString parameter holding a shared HS256 token secret (32+ bytes), used only when AuthJwksUrl is empty; only the HTTP functions may read it"
        },
        "CreateUserPool": {
            "Type": "String", "Default": "false", "AllowedValues": ["false", "true"],
            "Description": "true: the stack makes its own Cognito user pool (groups admin and client; a client's billing id in custom:billing_client_id) with a hosted sign-in page, and trusts it instead of AuthIssuer / AuthJwksUrl / AuthAudience and the Console* endpoints"
        },
        "UserPoolDomainPrefix": {
            "Type": "String", "Default": "", "AllowedPattern": "^(|[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)$",
            "Description": "With CreateUserPool: the prefix of the hosted sign-in page, https://<prefix>.auth.<region>.amazoncognito.com (unique in the region; empty: provisioning-<Stage>-<account id>)"
        },
        "ConsoleUrl": {
            "Type": "String", "Default": "", "AllowedPattern": "^(|https://[^\\s?#]+/console)$",
            "Description": "With CreateUserPool: the console's address, https://<api>/console (the ConsoleUrl output of a first deploy, or your custom domain's): the pool's app client redirects only there. (The template cannot name the API's own address there: the API depends on the functions, which depend on the app client.)"
        },
        "ConsoleClientId": {
            "Type": "String", "Default": "", "AllowedPattern": "^[A-Za-z0-9._:-]{0,128}$",
            "Description": "The console's OAuth client id at the identity provider (a public client: authorization code + PKCE, redirect URI https://<api>/console/callback). Empty: the console says sign-in is not set up"
        },
        "ConsoleAuthorizeUrl": {
            "Type": "String", "Default": "", "AllowedPattern": "^(|https?://[^\\s]+)$",
            "Description": "The identity provider's authorization endpoint (its discovery document's authorization_endpoint)"
        },
        "ConsoleTokenUrl": {
            "Type": "String", "Default": "", "AllowedPattern": "^(|https?://[^\\s]+)$",
            "Description": "The identity provider's token endpoint; the console's Content-Security-Policy lets the page call this origin and no other"
        },
        "ConsoleLogoutUrl": {
            "Type": "String", "Default": "", "AllowedPattern": "^(|https?://[^\\s]+)$",
            "Description": "The identity provider's end-session endpoint (optional): sign-out also ends the provider's session"
        },
        "HandlerFunctionPrefix": {
            "Type": "String", "Default": "", "AllowedPattern": "^[A-Za-z0-9_-]*$",
            "Description": "Besides this stack's own functions, the name prefix of the Lambda functions outgoing event handlers may invoke (empty: only this stack's)"
        },
        "LogRetentionDays": {
            "Type": "Number", "Default": 30,
            "AllowedValues": [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653],
            "Description": "Days CloudWatch keeps function and access logs"
        },
        "SecretsKeyParameter": {
            "Type": "String", "Default": "/provisioning/secrets-key", "AllowedPattern": "^/[A-Za-z0-9_./-]+$",
            "Description": "SSM SecureString parameter holding the AES-256 key that seals secret settings at rest (32 random bytes, base64). Create it first: aws ssm put-parameter --type SecureString --name /provisioning/secrets-key --value \"$(openssl rand -base64 32)\""
        },
        "WebhookSecretParameter": {
            "Type": "String", "Default": "/provisioning/webhook-secret", "AllowedPattern": "^/[A-Za-z0-9_./-]+$",
            "Description": "SSM SecureString parameter holding the billing webhook's HMAC-SHA256 secret (shared with the billing system)"
        },
        "RetryBaseSeconds": {
            "Type": "Number", "Default": 5, "MinValue": 1, "MaxValue": 60,
            "Description": "First retry delay of a lifecycle event after a transient failure; it doubles each time, with jitter"
        },
        "QueueMaximumConcurrency": {
            "Type": "Number", "Default": 10, "MinValue": 2, "MaxValue": 1000,
            "Description": "The most instances each SQS consumer (worker, dispatcher) runs at once: a burst of billing events cannot take every concurrent execution of the account, nor flood the third parties"
        },
        "StuckMessageMinutes": {
            "Type": "Number", "Default": 30, "MinValue": 5, "MaxValue": 1440,
            "Description": "Alarm when the oldest lifecycle message is older than this: a contract product's work is stuck"
        },
        "ConfigurationFailureThreshold": {
            "Type": "Number", "Default": 10, "MinValue": 1,
            "Description": "Alarm when one provision configuration has more failed runs than this in 5 minutes"
        },
        "AlarmTopicArn": {
            "Type": "String", "Default": "",
            "Description": "SNS topic every alarm tells, going into alarm and back to OK (optional): errors, throttles, 5xx, stuck work, the outbox, dead-letter queues, failing configurations"
        }
    })
}

fn conditions() -> Value {
    json!({
        "CreatesUserPool": { "Fn::Equals": [r("CreateUserPool"), "true"] },
        "HasUserPoolDomainPrefix": { "Fn::Not": [{ "Fn::Equals": [r("UserPoolDomainPrefix"), ""] }] },
        "UseJwks": { "Fn::Or": [{ "Fn::Not": [{ "Fn::Equals": [r("AuthJwksUrl"), ""] }] }, { "Condition": "CreatesUserPool" }] },
        "HasAlarmTopic": { "Fn::Not": [{ "Fn::Equals": [r("AlarmTopicArn"), ""] }] },
        "HasHandlerFunctionPrefix": { "Fn::Not": [{ "Fn::Equals": [r("HandlerFunctionPrefix"), ""] }] }
    })
}

fn rules() -> Value {
    json!({
        "AuthConfigured": {
            "Assertions": [{
                "Assert": { "Fn::Or": [
                    { "Fn::Not": [{ "Fn::Equals": [r("AuthJwksUrl"), ""] }] },
                    { "Fn::Not": [{ "Fn::Equals": [r("AuthHs256SecretParameter"), ""] }] },
                    { "Fn::Equals": [r("CreateUserPool"), "true"] }
                ]},
                "AssertDescription": "Set AuthJwksUrl (RS256) or AuthHs256SecretParameter (HS256), or CreateUserPool"
            }, {
                "Assert": { "Fn::Or": [{ "Fn::Not": [{ "Fn::Equals": [r("AuthIssuer"), ""] }] }, { "Fn::Equals": [r("CreateUserPool"), "true"] }] },
                "AssertDescription": "Set AuthIssuer (the iss claim of your identity provider's tokens), or CreateUserPool"
            }]
        },
        "UserPoolConsoleUrl": {
            "RuleCondition": { "Fn::Equals": [r("CreateUserPool"), "true"] },
            "Assertions": [{
                "Assert": { "Fn::Not": [{ "Fn::Equals": [r("ConsoleUrl"), ""] }] },
                "AssertDescription": "CreateUserPool needs ConsoleUrl, where the pool may send people back after sign-in (the ConsoleUrl output of a deploy without the pool, or your custom domain)"
            }]
        }
    })
}

fn globals() -> Value {
    json!({
        "Function": {
            "Runtime": "provided.al2023",
            "Handler": "bootstrap",
            "Architectures": ["arm64"],
            "MemorySize": 256,
            "Timeout": 10,
            "Tracing": "Active",
            "LoggingConfig": { "LogFormat": "JSON", "ApplicationLogLevel": "INFO", "SystemLogLevel": "WARN" },
            "Environment": { "Variables": {
                "STAGE": r("Stage"),
                "MAIN_TABLE": r("MainTable"),
                "LOGS_TABLE": r("LogsTable"),
                "LIFECYCLE_QUEUE_URL": r("LifecycleQueue"),
                "EVENTS_QUEUE_URL": r("EventsQueue"),
                "OPERATIONS_QUEUE_URL": r("OperationsQueue"),
                // Metrics in CloudWatch's embedded metric format (shared::adapters::metrics),
                // named as Powertools names them.
                "POWERTOOLS_SERVICE_NAME": r("AWS::StackName"),
                "POWERTOOLS_METRICS_NAMESPACE": crate::monitoring::NAMESPACE,
                // The Lambda functions outgoing event handlers may invoke (the dispatcher's IAM
                // policy names the same).
                "HANDLER_FUNCTION_PREFIXES": { "Fn::If": ["HasHandlerFunctionPrefix", sub("${AWS::StackName}-,${HandlerFunctionPrefix}"), sub("${AWS::StackName}-")] }
            }}
        }
    })
}

fn http_api() -> Value {
    json!({
        "Type": "AWS::Serverless::HttpApi",
        "Properties": {
            "StageName": r("Stage"),
            "Description": "Provisioning engine API (routes generated from the catalogue)",
            "DefaultRouteSettings": { "ThrottlingBurstLimit": 200, "ThrottlingRateLimit": 100 },
            "AccessLogSettings": {
                "DestinationArn": arn("HttpApiAccessLogs"),
                "Format": "{\"requestId\":\"$context.requestId\",\"routeKey\":\"$context.routeKey\",\"status\":\"$context.status\",\"latencyMs\":\"$context.responseLatency\",\"integrationError\":\"$context.integrationErrorMessage\"}"
            }
        }
    })
}

fn log_group(name: Value) -> Value {
    json!({
        "Type": "AWS::Logs::LogGroup",
        "Properties": { "LogGroupName": name, "RetentionInDays": r("LogRetentionDays") }
    })
}

fn table_actions(access: TableAccess) -> &'static [&'static str] {
    match access {
        TableAccess::None => &[],
        TableAccess::Read => &["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"],
        TableAccess::Write => &["dynamodb:PutItem"],
        TableAccess::ReadAppend => &["dynamodb:GetItem", "dynamodb:PutItem"],
        TableAccess::ReadWrite => {
            &["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:BatchWriteItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"]
        }
    }
}

/// A function resource. `pinned`: the blueprint action a per-action function serves.
fn function(f: &FunctionSpec, pinned: Option<(&str, &str)>) -> Value {
    let mut events = Map::new();
    for route in ROUTES.iter().filter(|r| r.function == f.name) {
        let path = match pinned {
            Some((b, a)) => route.path.replace("{blueprint}", b).replace("{action}", a),
            None => route.path.to_owned(),
        };
        events.insert(pascal(route.operation_id), json!({ "Type": "HttpApi", "Properties": { "ApiId": r("HttpApi"), "Method": route.method, "Path": path } }));
    }
    if f.name == FALLBACK_FUNCTION {
        // An HttpApi event with no path and method is API Gateway's `$default` route.
        events.insert("UnknownRoute".into(), json!({ "Type": "HttpApi", "Properties": { "ApiId": r("HttpApi") } }));
    }
    let description = match pinned {
        Some((b, a)) => format!("{} {b}/{a}", f.description),
        None => f.description.to_owned(),
    };
    let mut properties = json!({
        "CodeUri": ".",
        "Description": description,
        "Timeout": f.timeout_seconds,
        "MemorySize": f.memory_mb,
        "Events": events
    });
    let mut statements = Vec::new();
    for (table, access) in [("MainTable", f.main_table), ("LogsTable", f.logs_table)] {
        let actions = table_actions(access);
        if !actions.is_empty() {
            statements.push(json!({
                "Effect": "Allow",
                "Action": actions,
                "Resource": [arn(table), sub(&format!("${{{table}.Arn}}/index/*"))]
            }));
        }
    }
    let parameters: Vec<&str> = [(f.secrets_key, "SecretsKeyParameter"), (f.webhook_secret, "WebhookSecretParameter"), (f.token_secret, "AuthHs256SecretParameter")]
        .into_iter()
        .filter_map(|(needed, p)| needed.then_some(p))
        .collect();
    if !parameters.is_empty() {
        let arn_of = |p: &str| sub(&format!("arn:${{AWS::Partition}}:ssm:${{AWS::Region}}:${{AWS::AccountId}}:parameter${{{p}}}"));
        let arns: Vec<Value> = parameters
            .iter()
            .map(|p| match *p {
                // The token secret exists only where HS256 is used.
                "AuthHs256SecretParameter" => json!({ "Fn::If": ["UseJwks", r("AWS::NoValue"), arn_of(p)] }),
                _ => arn_of(p),
            })
            .collect();
        statements.push(json!({ "Effect": "Allow", "Action": ["ssm:GetParameter"], "Resource": arns }));
        statements.push(json!({
            "Effect": "Allow",
            "Action": ["kms:Decrypt"],
            "Resource": "*",
            "Condition": { "StringEquals": { "kms:ViaService": sub("ssm.${AWS::Region}.amazonaws.com") } }
        }));
    }
    for (queue, access, event) in [("LifecycleQueue", f.lifecycle_queue, "Lifecycle"), ("EventsQueue", f.events_queue, "Events"), ("OperationsQueue", f.operations_queue, "Operations")] {
        if matches!(access, QueueAccess::Send | QueueAccess::ConsumeAndSend) {
            statements.push(json!({ "Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": arn(queue) }));
        }
        match access {
            QueueAccess::None | QueueAccess::Send => {}
            QueueAccess::Consume | QueueAccess::ConsumeAndSend => {
                // The event source mapping's own permissions come with the SQS event; the consumer
                // also shortens a failed message's visibility for its backoff.
                statements.push(json!({ "Effect": "Allow", "Action": ["sqs:ChangeMessageVisibility"], "Resource": arn(queue) }));
                if queue == "LifecycleQueue" {
                    // Given-up work is moved to the dead-letter queue at once, so the rest of its
                    // message group goes on.
                    statements.push(json!({ "Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": arn("LifecycleQueueDlq") }));
                }
                properties["Events"][event] = json!({
                    "Type": "SQS",
                    "Properties": { "Queue": arn(queue), "BatchSize": 10, "FunctionResponseTypes": ["ReportBatchItemFailures"], "ScalingConfig": { "MaximumConcurrency": r("QueueMaximumConcurrency") } }
                });
            }
        }
    }
    if f.outbox {
        // New outbox records only (a run's outgoing event, written in its transaction): the
        // function puts each on the events queue. From the oldest record kept, retried until
        // it succeeds or the stream drops it after 24 h (the outbox age alarm is long before).
        properties["Events"]["Outbox"] = json!({
            "Type": "DynamoDB",
            "Properties": {
                "Stream": { "Fn::GetAtt": ["MainTable", "StreamArn"] },
                "StartingPosition": "TRIM_HORIZON",
                "BatchSize": 100,
                "MaximumBatchingWindowInSeconds": 1,
                "MaximumRetryAttempts": -1,
                "FunctionResponseTypes": ["ReportBatchItemFailures"],
                "FilterCriteria": { "Filters": [{ "Pattern": shared::domain::outgoing::outbox_filter().to_string() }] }
            }
        });
    }
    if matches!(f.events_queue, QueueAccess::Consume | QueueAccess::ConsumeAndSend) {
        // Event handlers may target this stack's own functions and those under the operator's
        // prefix, never any function of the account.
        statements.push(json!({
            "Effect": "Allow",
            "Action": ["lambda:InvokeFunction"],
            "Resource": [
                sub("arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${AWS::StackName}-*"),
                { "Fn::If": ["HasHandlerFunctionPrefix", sub("arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${HandlerFunctionPrefix}*"), r("AWS::NoValue")] }
            ]
        }));
    }
    for (name, rate, input) in f.schedules {
        properties["Events"][*name] = json!({ "Type": "ScheduleV2", "Properties": { "ScheduleExpression": rate, "Input": input } });
    }
    if !statements.is_empty() {
        properties["Policies"] = json!([{ "Statement": statements }]);
    }
    let mut env = Map::new();
    if f.secrets_key {
        env.insert("SECRETS_KEY_PARAMETER".into(), r("SecretsKeyParameter"));
    }
    if f.webhook_secret {
        env.insert("WEBHOOK_SECRET_PARAMETER".into(), r("WebhookSecretParameter"));
    }
    if f.token_secret {
        // The functions that verify bearer tokens, and whose: the parameters' identity provider,
        // or the stack's own Cognito pool (not in Globals: the pool's trigger is a function too).
        let pool = |own: Value, given: Value| json!({ "Fn::If": ["CreatesUserPool", own, given] });
        env.insert("AUTH_ISSUER".into(), pool(sub(COGNITO_ISSUER), r("AuthIssuer")));
        env.insert("AUTH_JWKS_URL".into(), pool(sub(&format!("{COGNITO_ISSUER}/.well-known/jwks.json")), r("AuthJwksUrl")));
        env.insert("AUTH_AUDIENCE".into(), pool(r("UserPoolClient"), r("AuthAudience")));
        env.insert("AUTH_CLIENT_CLAIM".into(), pool(json!(shared::api::cognito::BILLING_CLIENT_CLAIM), json!("client_id")));
        env.insert("AUTH_HS256_SECRET_PARAMETER".into(), json!({ "Fn::If": ["UseJwks", "", r("AuthHs256SecretParameter")] }));
    }
    if [f.lifecycle_queue, f.events_queue, f.operations_queue].iter().any(|q| matches!(q, QueueAccess::Consume | QueueAccess::ConsumeAndSend)) {
        env.insert("RETRY_BASE_SECONDS".into(), r("RetryBaseSeconds"));
    }
    if matches!(f.lifecycle_queue, QueueAccess::Consume | QueueAccess::ConsumeAndSend) {
        env.insert("LIFECYCLE_DLQ_URL".into(), r("LifecycleQueueDlq"));
    }
    if f.console {
        let hosted = |path: &str| json!({ "Fn::Sub": [format!("https://${{Prefix}}.auth.${{AWS::Region}}.amazoncognito.com{path}"), { "Prefix": user_pool_domain() }] });
        for (var, parameter, own) in [
            ("CONSOLE_CLIENT_ID", "ConsoleClientId", r("UserPoolClient")),
            ("CONSOLE_AUTHORIZE_URL", "ConsoleAuthorizeUrl", hosted("/oauth2/authorize")),
            ("CONSOLE_TOKEN_URL", "ConsoleTokenUrl", hosted("/oauth2/token")),
            ("CONSOLE_LOGOUT_URL", "ConsoleLogoutUrl", hosted("/logout")),
        ] {
            env.insert(var.into(), json!({ "Fn::If": ["CreatesUserPool", own, r(parameter)] }));
        }
    }
    if let Some((b, a)) = pinned {
        env.insert("ACTION_PINNED".into(), json!(format!("{b}/{a}")));
        // The 73 action functions share one log group: one place to query every run.
        properties["LoggingConfig"] = json!({ "LogFormat": "JSON", "ApplicationLogLevel": "INFO", "SystemLogLevel": "WARN", "LogGroup": r("ActionLogs") });
    }
    if !env.is_empty() {
        properties["Environment"] = json!({ "Variables": env });
    }
    let mut resource = json!({
        "Type": "AWS::Serverless::Function",
        "Metadata": { "BuildMethod": "rust-cargolambda", "BuildProperties": { "Binary": f.name } },
        "Properties": properties
    });
    if let Some(condition) = f.condition {
        resource["Condition"] = json!(condition);
    }
    resource
}

/// The hosted sign-in page's domain prefix: the parameter, or one made from the stage and account.
fn user_pool_domain() -> Value {
    json!({ "Fn::If": ["HasUserPoolDomainPrefix", r("UserPoolDomainPrefix"), sub("provisioning-${Stage}-${AWS::AccountId}")] })
}

/// The issuer of the stack's own Cognito pool's tokens (a Fn::Sub text).
const COGNITO_ISSUER: &str = "https://cognito-idp.${AWS::Region}.${AWS::URLSuffix}/${UserPool}";

/// The optional Cognito user pool (CreateUserPool): users made by an admin only, groups `admin`
/// and `client`, a client's billing id as a custom attribute no user can change, the hosted
/// sign-in page, the console's public client (code + PKCE), and the trigger that puts the claims
/// the API reads into access tokens (shared::api::cognito).
fn user_pool(res: &mut Map<String, Value>) {
    let when = |mut v: Value| {
        v["Condition"] = json!("CreatesUserPool");
        v
    };
    res.insert("UserPool".into(), when(json!({
        "Type": "AWS::Cognito::UserPool",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "UserPoolName": sub("${AWS::StackName}-users"),
            "UserPoolTier": "ESSENTIALS",
            "AdminCreateUserConfig": { "AllowAdminCreateUserOnly": true },
            "UsernameConfiguration": { "CaseSensitive": false },
            "AutoVerifiedAttributes": ["email"],
            "Policies": { "PasswordPolicy": { "MinimumLength": 12, "RequireLowercase": true, "RequireUppercase": true, "RequireNumbers": true, "RequireSymbols": false, "TemporaryPasswordValidityDays": 3 } },
            "MfaConfiguration": "OPTIONAL",
            "EnabledMfas": ["SOFTWARE_TOKEN_MFA"],
            "AccountRecoverySetting": { "RecoveryMechanisms": [{ "Name": "verified_email", "Priority": 1 }] },
            "Schema": [{ "Name": "billing_client_id", "AttributeDataType": "String", "Mutable": true, "StringAttributeConstraints": { "MinLength": "1", "MaxLength": "128" } }],
            "LambdaConfig": { "PreTokenGenerationConfig": { "LambdaArn": arn("CognitoClaimsFunction"), "LambdaVersion": "V2_0" } }
        }
    })));
    res.insert(
        "UserPoolDomain".into(),
        when(json!({
            "Type": "AWS::Cognito::UserPoolDomain",
            "Properties": { "Domain": user_pool_domain(), "UserPoolId": r("UserPool"), "ManagedLoginVersion": 1 }
        })),
    );
    res.insert(
        "UserPoolClient".into(),
        when(json!({
            "Type": "AWS::Cognito::UserPoolClient",
            "Properties": {
                "UserPoolId": r("UserPool"),
                "ClientName": "console",
                "GenerateSecret": false,
                "AllowedOAuthFlowsUserPoolClient": true,
                "AllowedOAuthFlows": ["code"],
                // No aws.cognito.signin.user.admin: a user's token cannot change its own attributes.
                "AllowedOAuthScopes": ["openid", "email"],
                "CallbackURLs": [sub("${ConsoleUrl}/callback")],
                "LogoutURLs": [sub("${ConsoleUrl}/")],
                "SupportedIdentityProviders": ["COGNITO"],
                "ExplicitAuthFlows": ["ALLOW_REFRESH_TOKEN_AUTH"],
                "EnableTokenRevocation": true,
                "PreventUserExistenceErrors": "ENABLED",
                "ReadAttributes": ["email", "custom:billing_client_id"],
                "WriteAttributes": ["email"],
                "AccessTokenValidity": 15,
                "IdTokenValidity": 15,
                "TokenValidityUnits": { "AccessToken": "minutes", "IdToken": "minutes" }
            }
        })),
    );
    for (id, group, description) in [
        ("AdminGroup", shared::api::cognito::ADMIN_GROUP, "Staff: the admin area"),
        ("ClientGroup", shared::api::cognito::CLIENT_GROUP, "Clients of the billing system (custom:billing_client_id): the client area"),
    ] {
        res.insert(id.into(), when(json!({ "Type": "AWS::Cognito::UserPoolGroup", "Properties": { "UserPoolId": r("UserPool"), "GroupName": group, "Description": description } })));
    }
    res.insert(
        "CognitoClaimsPermission".into(),
        when(json!({
            "Type": "AWS::Lambda::Permission",
            "Properties": { "Action": "lambda:InvokeFunction", "FunctionName": r("CognitoClaimsFunction"), "Principal": "cognito-idp.amazonaws.com", "SourceArn": arn("UserPool") }
        })),
    );
}

fn table(name: &str, attributes: &[&str], indexes: Value) -> Value {
    table_with(name, attributes, indexes, None)
}

/// A table; `stream`: its stream's view type, where it has one.
fn table_with(name: &str, attributes: &[&str], indexes: Value, stream: Option<&str>) -> Value {
    let definitions: Vec<Value> = attributes.iter().map(|a| json!({ "AttributeName": a, "AttributeType": "S" })).collect();
    let mut t = json!({
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "TableName": sub(&format!("${{AWS::StackName}}-{name}")),
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": definitions,
            "KeySchema": [
                { "AttributeName": "pk", "KeyType": "HASH" },
                { "AttributeName": "sk", "KeyType": "RANGE" }
            ],
            "GlobalSecondaryIndexes": indexes,
            "TimeToLiveSpecification": { "AttributeName": "expires_at", "Enabled": true },
            "PointInTimeRecoverySpecification": { "PointInTimeRecoveryEnabled": true },
            "SSESpecification": { "SSEEnabled": true }
        }
    });
    if let Some(view) = stream {
        t["Properties"]["StreamSpecification"] = json!({ "StreamViewType": view });
    }
    t
}

fn index(name: &str, hash: &str, range: Option<&str>, projection: &str) -> Value {
    let mut keys = vec![json!({ "AttributeName": hash, "KeyType": "HASH" })];
    if let Some(range) = range {
        keys.push(json!({ "AttributeName": range, "KeyType": "RANGE" }));
    }
    json!({ "IndexName": name, "KeySchema": keys, "Projection": { "ProjectionType": projection } })
}

/// A queue and its dead-letter queue. The DLQ allows redrive from its source only; the source's
/// ARN is written out rather than referenced, which would make the two depend on each other.
/// A queue and its dead-letter queue. `max_receives`: its redrive's maxReceiveCount.
fn queue_pair(resources: &mut Map<String, Value>, logical: &str, name: &str, fifo: bool, max_receives: u32) {
    let suffix = if fifo { ".fifo" } else { "" };
    let dlq = format!("{logical}Dlq");
    let mut dlq_props = json!({
        "QueueName": sub(&format!("${{AWS::StackName}}-{name}-dlq{suffix}")),
        "MessageRetentionPeriod": FOURTEEN_DAYS,
        "SqsManagedSseEnabled": true,
        "RedriveAllowPolicy": {
            "redrivePermission": "byQueue",
            "sourceQueueArns": [sub(&format!("arn:${{AWS::Partition}}:sqs:${{AWS::Region}}:${{AWS::AccountId}}:${{AWS::StackName}}-{name}{suffix}"))]
        }
    });
    let mut props = json!({
        "QueueName": sub(&format!("${{AWS::StackName}}-{name}{suffix}")),
        "VisibilityTimeout": QUEUE_VISIBILITY_SECONDS,
        "MessageRetentionPeriod": FOURTEEN_DAYS,
        "SqsManagedSseEnabled": true,
        "RedrivePolicy": { "deadLetterTargetArn": arn(&dlq), "maxReceiveCount": max_receives }
    });
    if fifo {
        for p in [&mut props, &mut dlq_props] {
            p["FifoQueue"] = json!(true);
            p["ContentBasedDeduplication"] = json!(false);
            p["DeduplicationScope"] = json!("messageGroup");
            p["FifoThroughputLimit"] = json!("perMessageGroupId");
        }
    }
    resources.insert(dlq.clone(), json!({ "Type": "AWS::SQS::Queue", "Properties": dlq_props }));
    resources.insert(logical.to_owned(), json!({ "Type": "AWS::SQS::Queue", "Properties": props }));
    resources.insert(
        format!("{dlq}DepthAlarm"),
        json!({
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmDescription": format!("Messages in the {name} dead-letter queue: work that failed every retry"),
                "Namespace": "AWS/SQS",
                "MetricName": "ApproximateNumberOfMessagesVisible",
                "Dimensions": [{ "Name": "QueueName", "Value": { "Fn::GetAtt": [dlq, "QueueName"] } }],
                "Statistic": "Maximum",
                "Period": 60,
                "EvaluationPeriods": 1,
                "Threshold": 0,
                "ComparisonOperator": "GreaterThanThreshold",
                "TreatMissingData": "notBreaching",
                "AlarmActions": { "Fn::If": ["HasAlarmTopic", [r("AlarmTopicArn")], r("AWS::NoValue")] },
                "OKActions": { "Fn::If": ["HasAlarmTopic", [r("AlarmTopicArn")], r("AWS::NoValue")] }
            }
        }),
    );
}

/// The logical id of a per-action function, e.g. `ActionWebHostingCreateAccount`.
pub fn action_logical_id(f: &FunctionSpec, blueprint: &str, action: &str) -> String {
    format!("{}{}{}", f.logical_id, pascal(blueprint), pascal(action))
}

fn resources() -> Value {
    let mut res = Map::new();
    res.insert("HttpApi".into(), http_api());
    res.insert("HttpApiAccessLogs".into(), log_group(sub("/aws/http-api/${AWS::StackName}")));
    for f in FUNCTIONS {
        if f.per_action {
            for (b, a) in shared::catalogue::catalogue().actions() {
                res.insert(action_logical_id(f, b.id, a.id), function(f, Some((b.id, a.id))));
            }
            res.insert("ActionLogs".into(), log_group(sub("/aws/lambda/${AWS::StackName}-actions")));
        } else {
            res.insert(f.logical_id.into(), function(f, None));
            let mut logs = log_group(sub(&format!("/aws/lambda/${{{}}}", f.logical_id)));
            if let Some(condition) = f.condition {
                logs["Condition"] = json!(condition);
            }
            res.insert(format!("{}Logs", f.logical_id), logs);
        }
    }
    user_pool(&mut res);
    // The main table: configurations, products, contract products, idempotency records and event
    // handlers under generic keys; gsi1 serves the list-by queries (by client, by blueprint ...),
    // gsi2 the lists of one kind of record across the system (every contract product, failed
    // lifecycle events ...). The contract product search: gsi3 by status, gsi4 by configuration,
    // gsi5 by blueprint, gsi6 by service identifier prefix (partitioned by its first character).
    res.insert(
        "MainTable".into(),
        table_with(
            "main",
            &["pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "gsi3pk", "gsi3sk", "gsi4pk", "gsi4sk", "gsi5pk", "gsi5sk", "gsi6pk", "gsi6sk"],
            json!([
                index("gsi1", "gsi1pk", Some("gsi1sk"), "ALL"),
                index("gsi2", "gsi2pk", Some("gsi2sk"), "ALL"),
                index("gsi3", "gsi3pk", Some("gsi3sk"), "ALL"),
                index("gsi4", "gsi4pk", Some("gsi4sk"), "ALL"),
                index("gsi5", "gsi5pk", Some("gsi5sk"), "ALL"),
                index("gsi6", "gsi6pk", Some("gsi6sk"), "ALL")
            ]),
            // Its stream carries the outbox (outgoing events written in the runs' transactions)
            // to the dispatcher.
            Some("NEW_IMAGE"),
        ),
    );
    // Provision logs: pk = contract product id, sk = started_at#log_id (newest first by a reverse
    // Query). Indexes: a configuration's logs by time, logs of one status on one day by time, and
    // one log by its id.
    res.insert(
        "LogsTable".into(),
        table(
            "logs",
            &["pk", "sk", "configuration_id", "status_day", "log_id"],
            json!([index("by_configuration", "configuration_id", Some("sk"), "ALL"), index("by_status_day", "status_day", Some("sk"), "ALL"), index("by_log_id", "log_id", None, "KEYS_ONLY")]),
        ),
    );
    // The worker's queues: it gives up after five attempts itself, and a wait for a
    // configuration's breaker or limits is no attempt (worker::QUEUE_MAX_RECEIVES).
    queue_pair(&mut res, "LifecycleQueue", "lifecycle", true, shared::consumers::worker::QUEUE_MAX_RECEIVES);
    queue_pair(&mut res, "EventsQueue", "events", false, MAX_RECEIVE_COUNT);
    // Re-checks of long-running actions a provider reports in progress: delayed messages, which
    // only a standard queue carries.
    queue_pair(&mut res, "OperationsQueue", "operations", false, shared::consumers::worker::QUEUE_MAX_RECEIVES);
    crate::monitoring::alarms_and_dashboard(&mut res);
    Value::Object(res)
}

fn outputs() -> Value {
    let mut out = json!({
        "ApiUrl": {
            "Description": "Base URL of the API",
            "Value": sub("https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${Stage}")
        },
        "MainTableName": { "Description": "Main DynamoDB table", "Value": r("MainTable") },
        "LogsTableName": { "Description": "Provision logs DynamoDB table", "Value": r("LogsTable") },
        "LifecycleQueueUrl": { "Description": "Lifecycle events FIFO queue", "Value": r("LifecycleQueue") },
        "LifecycleQueueDlqUrl": { "Description": "Lifecycle dead-letter queue", "Value": r("LifecycleQueueDlq") },
        "EventsQueueUrl": { "Description": "Outgoing events queue", "Value": r("EventsQueue") },
        "EventsQueueDlqUrl": { "Description": "Outgoing events dead-letter queue", "Value": r("EventsQueueDlq") },
        "OperationsQueueUrl": { "Description": "Re-checks of long-running actions", "Value": r("OperationsQueue") }
    });
    for f in FUNCTIONS.iter().filter(|f| !f.per_action) {
        out[format!("{}Name", f.logical_id)] = json!({ "Description": format!("The {} function", f.name), "Value": r(f.logical_id) });
        if let Some(condition) = f.condition {
            out[format!("{}Name", f.logical_id)]["Condition"] = json!(condition);
        }
    }
    out["UserPoolId"] = json!({ "Condition": "CreatesUserPool", "Description": "The stack's Cognito user pool: add users there, in the admin or client group (clients with custom:billing_client_id)", "Value": r("UserPool") });
    out["ConsoleUrl"] = json!({ "Description": "The console", "Value": sub("https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${Stage}/console") });
    out["ActionLogGroup"] = json!({ "Description": "Log group of the 73 action functions", "Value": r("ActionLogs") });
    out
}

/// The whole template as a JSON value.
pub fn template() -> Value {
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Description": "Provisioning engine: generated by `make template` from shared/src/routes.rs and the catalogue. Do not edit by hand.",
        "Parameters": parameters(),
        "Rules": rules(),
        "Conditions": conditions(),
        "Globals": globals(),
        "Resources": resources(),
        "Outputs": outputs()
    })
}

pub fn template_yaml() -> String {
    format!("# Generated by `make template`; a test fails when this file drifts from the generator.\n{}", crate::yaml::to_yaml(&template()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_an_http_api_event_and_unknown_routes_reach_the_fallback() {
        let t = template();
        for route in ROUTES {
            let f = FUNCTIONS.iter().find(|f| f.name == route.function).unwrap();
            if f.per_action {
                continue;
            }
            let events = &t["Resources"][f.logical_id]["Properties"]["Events"];
            let found = events.as_object().unwrap().values().any(|e| e["Properties"]["Path"] == route.path && e["Properties"]["Method"] == route.method);
            assert!(found, "{route:?}");
        }
        let fallback = FUNCTIONS.iter().find(|f| f.name == FALLBACK_FUNCTION).unwrap();
        assert!(t["Resources"][fallback.logical_id]["Properties"]["Events"]["UnknownRoute"].is_object());
    }

    /// One Lambda per blueprint action, each with its own literal route and pinned to it.
    #[test]
    fn every_action_has_its_own_pinned_function() {
        let t = template();
        let f = FUNCTIONS.iter().find(|f| f.per_action).unwrap();
        let mut count = 0;
        for (b, a) in shared::catalogue::catalogue().actions() {
            let res = &t["Resources"][action_logical_id(f, b.id, a.id)]["Properties"];
            assert_eq!(res["Environment"]["Variables"]["ACTION_PINNED"], format!("{}/{}", b.id, a.id));
            assert_eq!(res["Events"]["RunAction"]["Properties"]["Path"], format!("/contract-products/{{id}}/actions/{}/{}", b.id, a.id));
            count += 1;
        }
        assert_eq!(count, 73);
    }

    #[test]
    fn queues_have_dlqs_with_redrive_and_long_enough_visibility() {
        let t = template();
        for q in ["LifecycleQueue", "EventsQueue", "OperationsQueue"] {
            let p = &t["Resources"][q]["Properties"];
            assert_eq!(p["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0], format!("{q}Dlq"));
            assert!(p["RedrivePolicy"]["maxReceiveCount"].as_u64().unwrap() >= 5);
            let longest = FUNCTIONS.iter().map(|f| f.timeout_seconds).max().unwrap().max(30);
            assert!(p["VisibilityTimeout"].as_u64().unwrap() >= 6 * u64::from(longest));
        }
        assert_eq!(t["Resources"]["LifecycleQueue"]["Properties"]["FifoQueue"], true);
    }
}
