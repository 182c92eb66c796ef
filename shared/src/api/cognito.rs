//! The claims the API reads, put into the access tokens of the template's optional Cognito user
//! pool by its pre token generation trigger (version 2, which may change access tokens):
//! `role` from the user's group (`admin` before `client`), the billing system's client id from
//! the user's `custom:billing_client_id` as `billing_client_id` (Cognito keeps `client_id` for the
//! app client and refuses to override it, so the stack sets AUTH_CLIENT_CLAIM to this name), and
//! `aud` = the app client (the one value Cognito lets an access token's `aud` take), which the
//! stack's AUTH_AUDIENCE names. A user in neither group, or a client with no billing id, gets no
//! token: the trigger fails and Cognito refuses the sign-in.

use serde_json::{Value, json};

/// The group whose members are staff.
pub const ADMIN_GROUP: &str = "admin";
/// The group whose members are clients of the billing system.
pub const CLIENT_GROUP: &str = "client";
/// The user attribute holding a client's id in the billing system.
pub const BILLING_CLIENT_ATTRIBUTE: &str = "custom:billing_client_id";
/// The access token claim carrying it.
pub const BILLING_CLIENT_CLAIM: &str = "billing_client_id";

/// The trigger's answer: the event with its `response` filled in.
pub fn token_claims(mut event: Value) -> Result<Value, String> {
    let groups: Vec<&str> = event["request"]["groupConfiguration"]["groupsToOverride"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let app_client = event["callerContext"]["clientId"].as_str().filter(|c| !c.is_empty()).ok_or("the event names no app client")?.to_owned();
    let user = event["userName"].as_str().unwrap_or("the user").to_owned();
    let mut claims = serde_json::Map::new();
    if groups.contains(&ADMIN_GROUP) {
        claims.insert("role".into(), json!("admin"));
    } else if groups.contains(&CLIENT_GROUP) {
        let billing = event["request"]["userAttributes"][BILLING_CLIENT_ATTRIBUTE].as_str().map(str::trim).filter(|c| !c.is_empty());
        let billing = billing.ok_or_else(|| format!("{user} is in the {CLIENT_GROUP} group but has no {BILLING_CLIENT_ATTRIBUTE}"))?;
        crate::domain::actor::ClientId::parse(billing)?;
        claims.insert("role".into(), json!("client"));
        claims.insert(BILLING_CLIENT_CLAIM.into(), json!(billing));
    } else {
        return Err(format!("{user} is in neither the {ADMIN_GROUP} nor the {CLIENT_GROUP} group"));
    }
    claims.insert("aud".into(), json!(app_client));
    event["response"] = json!({
        "claimsAndScopeOverrideDetails": {
            "accessTokenGeneration": { "claimsToAddOrOverride": claims }
        }
    });
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The documented event of a sign-in through the hosted UI (version 2).
    fn event(groups: &[&str], billing: Option<&str>) -> Value {
        let mut attributes = json!({ "sub": "a1b2", "email": "someone@example.com" });
        if let Some(b) = billing {
            attributes[BILLING_CLIENT_ATTRIBUTE] = json!(b);
        }
        json!({
            "version": "2", "triggerSource": "TokenGeneration_HostedAuth", "region": "eu-west-1",
            "userPoolId": "eu-west-1_Example", "userName": "someone",
            "callerContext": { "awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": "4tq6example" },
            "request": {
                "userAttributes": attributes,
                "groupConfiguration": { "groupsToOverride": groups, "iamRolesToOverride": [], "preferredRole": null },
                "scopes": ["openid"]
            },
            "response": { "claimsAndScopeOverrideDetails": null }
        })
    }

    fn added(v: &Value) -> &Value {
        &v["response"]["claimsAndScopeOverrideDetails"]["accessTokenGeneration"]["claimsToAddOrOverride"]
    }

    #[test]
    fn an_admin_gets_the_admin_role_and_the_app_client_as_audience() {
        let v = token_claims(event(&["client", "admin"], Some("c-1"))).unwrap();
        assert_eq!(added(&v), &json!({ "role": "admin", "aud": "4tq6example" }));
        assert_eq!(v["userName"], "someone", "the rest of the event is answered as it came");
    }

    #[test]
    fn a_client_gets_its_billing_client_id_under_its_own_claim() {
        let v = token_claims(event(&["client"], Some("client-42"))).unwrap();
        assert_eq!(added(&v), &json!({ "role": "client", "billing_client_id": "client-42", "aud": "4tq6example" }));
    }

    #[test]
    fn no_group_or_no_billing_id_means_no_token() {
        assert!(token_claims(event(&[], Some("c-1"))).unwrap_err().contains("neither"));
        assert!(token_claims(event(&["client"], None)).unwrap_err().contains(BILLING_CLIENT_ATTRIBUTE));
        assert!(token_claims(event(&["client"], Some("bad id!"))).is_err());
        let mut e = event(&["admin"], None);
        e["callerContext"]["clientId"] = json!("");
        assert!(token_claims(e).is_err());
    }
}
