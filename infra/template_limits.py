"""template.yaml within CloudFormation's limits, with margin: transforms it offline with
aws-sam-translator (what CloudFormation's SAM transform runs) and fails when the stack would hold
more than 400 of the 500 resources a stack may have, or when the template or its transformed form
is over the size CloudFormation takes from S3 (1 MB), or has more parameters or outputs than
allowed. make test runs it (the lint venv has aws-sam-translator through cfn-lint).

Usage: python template_limits.py template.yaml
"""

import json
import os
import sys

import yaml

RESOURCE_BUDGET = 400  # of CloudFormation's 500 per stack: room for what comes next
TEMPLATE_BYTES = 1_000_000  # a template body given by S3 URL (sam deploy uploads it)
PARAMETERS = 200
OUTPUTS = 200


def main(path):
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    from samtranslator.translator.transform import transform
    from samtranslator.public.translator import ManagedPolicyLoader  # noqa: F401 (the interface)

    class NoIam:
        """The policy loader: the template names no managed policy by name, so IAM is never asked."""

        def load(self):
            return {}

    text = open(path, encoding="utf-8").read()
    template = yaml.safe_load(text)
    # What sam package does to CodeUri: an artifact in S3.
    for resource in template["Resources"].values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://artifacts/bootstrap.zip"
    transformed = transform(template, {}, NoIam())
    resources = transformed["Resources"]
    kinds = {}
    for r in resources.values():
        kinds[r["Type"]] = kinds.get(r["Type"], 0) + 1
    body = json.dumps(transformed, separators=(",", ":"))
    checks = [
        (f"resources after the SAM transform: {len(resources)} (budget {RESOURCE_BUDGET} of 500)", len(resources) <= RESOURCE_BUDGET),
        (f"template.yaml: {len(text.encode())} bytes (limit {TEMPLATE_BYTES})", len(text.encode()) <= TEMPLATE_BYTES),
        (f"transformed template: {len(body)} bytes (limit {TEMPLATE_BYTES})", len(body) <= TEMPLATE_BYTES),
        (f"parameters: {len(template.get('Parameters', {}))} (limit {PARAMETERS})", len(template.get("Parameters", {})) <= PARAMETERS),
        (f"outputs: {len(template.get('Outputs', {}))} (limit {OUTPUTS})", len(template.get("Outputs", {})) <= OUTPUTS),
    ]
    for kind, n in sorted(kinds.items(), key=lambda kv: -kv[1]):
        print(f"  {n:4} {kind}")
    failed = False
    for what, ok in checks:
        print(("ok   " if ok else "FAIL ") + what)
        failed |= not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "template.yaml"))
