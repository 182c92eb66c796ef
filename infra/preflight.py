"""Before `make deploy`: the SSM SecureString parameters a stage's samconfig.toml section names
exist in the account and region being deployed to, or the deploy stops here with the command that
creates each one missing (without them every function fails at start: the webhook cannot check a
signature, nothing sealed can be opened, no token can be verified).

Usage: python preflight.py samconfig.toml STAGE   (AWS credentials and region from the environment)
"""

import shlex
import sys
import tomllib

import boto3

# Template parameter -> what the value is and how to make one.
PARAMETERS = {
    "SecretsKeyParameter": ("the key that seals secret settings at rest (32 random bytes, base64)", '"$(openssl rand -base64 32)"'),
    "WebhookSecretParameter": ("the billing webhook's HMAC-SHA256 secret, shared with the billing system", '"<the secret your billing system signs with>"'),
    "AuthHs256SecretParameter": ("the HS256 secret bearer tokens are signed with (32+ bytes)", '"$(openssl rand -base64 48)"'),
}
DEFAULTS = {"SecretsKeyParameter": "/provisioning/secrets-key", "WebhookSecretParameter": "/provisioning/webhook-secret", "AuthHs256SecretParameter": ""}


def overrides(config, stage):
    section = config.get(stage, {}).get("deploy", {}).get("parameters", {})
    text = section.get("parameter_overrides", "")
    pairs = text if isinstance(text, list) else shlex.split(text)
    return dict(p.split("=", 1) for p in pairs if "=" in p)


def main(path, stage):
    with open(path, "rb") as f:
        config = tomllib.load(f)
    values = {**DEFAULTS, **overrides(config, stage)}
    if values.get("AuthJwksUrl") or values.get("CreateUserPool") == "true":
        values["AuthHs256SecretParameter"] = ""  # tokens are checked against a JWKS then
    ssm = boto3.client("ssm")
    missing = []
    for parameter, (what, example) in PARAMETERS.items():
        name = values.get(parameter, "")
        if not name:
            continue
        try:
            found = ssm.get_parameter(Name=name)["Parameter"]
        except ssm.exceptions.ParameterNotFound:
            missing.append((name, what, example))
            continue
        if found["Type"] != "SecureString":
            print(f"[preflight] {name} is a {found['Type']}, not a SecureString: make it one (it holds a secret)", file=sys.stderr)
            return 1
        print(f"[preflight] {name}: present ({what})", file=sys.stderr)
    for name, what, example in missing:
        print(f"[preflight] missing {name}: {what}. Create it first:\n  aws ssm put-parameter --type SecureString --name {name} --value {example}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "default"))
