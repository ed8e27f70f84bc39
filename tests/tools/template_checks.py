#!/usr/bin/env python3
"""Assertions on template.yaml beyond cfn-lint: that it is what infra/template.py writes, and
that it keeps what the service promises and what the code needs.

    template_checks.py          (run with the cfn-lint venv's python: it parses the template
                                 with cfn-lint's own CloudFormation YAML decoder)

- drift: the API's paths are exactly the route table's routes deployed to AWS; every `${…}`
  of the state machine files has a DefinitionSubstitutions entry naming a task function's
  ARN; each function's IAM actions are what infra/ports.json's ports grant, no `*` action;
- only the file routes and the tasks that need plaintext may decrypt; a function that only
  reads or lists metadata cannot decrypt, sign or send mail;
- every function logs to a declared log group kept 731 days; log groups, the table, the
  buckets and the vault are retained when the stack goes;
- `DisableExecuteApiEndpoint`, TLS 1.2 on the API's domain, TLS-only bucket policies, point
  in time recovery and deletion protection on both replicas (Tokyo and Osaka), replication
  of every object to Osaka with Replication Time Control.
Exits 1 naming each failure.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "infra"))
import template as generator  # noqa: E402

failures: list[str] = []

# Who may read a file in the clear: the file routes and the tasks that seal, extend or
# attach it.
PLAINTEXT = {"get_document_file", "get_document_page", "recipient_file", "recipient_page", "task:seal", "task:extend_lta", "task:complete"}


def check(ok: bool, what: str) -> None:
    if not ok:
        failures.append(what)


def check_web(template: dict) -> None:
    """CloudFront answers the browser client's files with the headers the local server sends
    (web/headers.json, which the e2e tests hold the local server to), rewrites the client's
    screen paths to index.html as the local server does, and has no distribution-wide error
    pages (they would turn the API's JSON 404s into HTML 200s)."""
    resources = template["Resources"]
    config = resources["Distribution"]["Properties"]["DistributionConfig"]
    default = config["DefaultCacheBehavior"]
    check("CustomErrorResponses" not in config, "Distribution: distribution-wide error pages")
    check(default.get("ResponseHeadersPolicyId") == {"Ref": "WebHeaders"}, "Distribution: the client is not sent with WebHeaders")
    policy = resources["WebHeaders"]["Properties"]["ResponseHeadersPolicyConfig"]
    security = policy["SecurityHeadersConfig"]
    sent = {
        "Content-Security-Policy": security["ContentSecurityPolicy"]["ContentSecurityPolicy"],
        "X-Content-Type-Options": "nosniff" if "ContentTypeOptions" in security else None,
        "X-Frame-Options": security["FrameOptions"]["FrameOption"],
        "Referrer-Policy": security["ReferrerPolicy"]["ReferrerPolicy"],
    }
    sent.update({h["Header"]: h["Value"] for h in policy.get("CustomHeadersConfig", {}).get("Items", [])})
    overridden = all(v.get("Override") for k, v in security.items()) and all(
        h.get("Override") for h in policy.get("CustomHeadersConfig", {}).get("Items", []))
    headers = json.loads((ROOT / "web/headers.json").read_text())
    check(sent == headers, f"WebHeaders differ from web/headers.json: {sent} != {headers}")
    check(overridden, "WebHeaders: some header does not override the origin's")
    # The viewer function, run by node on the paths the local server's tests use.
    functions = default.get("FunctionAssociations", [])
    check([f["EventType"] for f in functions] == ["viewer-request"], "Distribution: no viewer-request function for screens")
    code = resources["WebScreens"]["Properties"]["FunctionCode"]
    cases = {"/": "/index.html", "/verify-email": "/index.html", "/documents/abc123": "/index.html", "/r/": "/index.html",
             "/assets/app.js": "/assets/app.js", "/assets/icon.svg": "/assets/icon.svg"}
    script = code + f"\nconst cases = {json.dumps(list(cases))};\n" + \
        "console.log(JSON.stringify(cases.map((uri) => handler({ request: { uri } }).uri)));\n"
    run = subprocess.run(["node", "-e", script], capture_output=True, text=True)
    check(run.returncode == 0 and json.loads(run.stdout or "null") == list(cases.values()),
          f"WebScreens rewrites {list(cases)} to {run.stdout.strip() or run.stderr.strip()}, not {list(cases.values())}")
    # Uploads are posted on the client's own origin (its CSP's connect-src is 'self') and
    # reach the staging bucket's root.
    staging_url = template["Globals"]["Function"]["Environment"]["Variables"].get("KEIYAKU_STAGING_URL")
    check(staging_url == {"Fn::Sub": "https://${DomainName}/upload"}, f"KEIYAKU_STAGING_URL is {staging_url}, not the client's origin")
    behaviours = {b["PathPattern"]: b for b in config.get("CacheBehaviors", [])}
    upload = behaviours.get("/upload", {})
    origins = {o["Id"]: o for o in config["Origins"]}
    check(upload.get("TargetOriginId") == "staging"
          and "StagingBucket" in json.dumps(origins.get("staging", {}).get("DomainName")),
          "Distribution: /upload does not reach the staging bucket")
    script = resources["StagingRoot"]["Properties"]["FunctionCode"] + \
        "\nconsole.log(handler({ request: { uri: '/upload' } }).uri);\n"
    run = subprocess.run(["node", "-e", script], capture_output=True, text=True)
    check(run.stdout.strip() == "/", f"StagingRoot rewrites /upload to {run.stdout.strip() or run.stderr.strip()}, not /")


def main() -> int:
    generated = subprocess.run([sys.executable, str(ROOT / "infra/template.py"), "--check"], capture_output=True, text=True)
    check(generated.returncode == 0, generated.stdout.strip() or "infra/template.py --check failed")

    template, matches = decode(str(ROOT / "template.yaml"))
    if template is None:
        print(f"template.yaml does not parse: {matches}")
        return 1
    resources = template["Resources"]
    functions = {k: v for k, v in resources.items() if v["Type"] == "AWS::Serverless::Function"}
    ports = json.loads((ROOT / "infra/ports.json").read_text())

    # Routes: the API's paths are the route table's routes deployed to AWS, once each, each
    # integrated with its own function by a streaming proxy integration.
    paths = resources["Api"]["Properties"]["DefinitionBody"]["paths"]
    events = sorted((method.upper(), path) for path, methods in paths.items() for method in methods)
    for path, methods in paths.items():
        for method, operation in methods.items():
            integration = operation["x-amazon-apigateway-integration"]
            check(integration.get("type") == "aws_proxy" and integration.get("responseTransferMode") == "STREAM"
                  and "response-streaming-invocations" in json.dumps(integration["uri"], default=str),
                  f"{method.upper()} {path}: not a streaming proxy integration")
    table = sorted((method, path) for _, method, path in generator.routes())
    check(events == table, f"API events differ from the route table: only in template {sorted(set(events) - set(table))}, only in the table {sorted(set(table) - set(events))}")

    # The state machine's substitutions name task functions, and cover every placeholder.
    machine = resources["ContractStateMachine"]["Properties"]
    substitutions = machine["DefinitionSubstitutions"]
    for asl in (ROOT / "statemachines").glob("*.asl.json"):
        for key in set(re.findall(r"\$\{([A-Za-z0-9]+)\}", asl.read_text())):
            check(key in substitutions, f"{asl.name}: ${{{key}}} has no DefinitionSubstitutions entry")
    for key, value in substitutions.items():
        target = value.get("Fn::GetAtt", [None])[0] if isinstance(value, dict) else None
        check(target in functions and functions[target]["Metadata"]["BuildProperties"]["Binary"].startswith("task-"),
              f"substitution {key} does not name a task function's ARN")

    # Functions: log groups kept two years, and IAM equal to what their ports grant.
    metadata_only = {"get_document", "list_documents", "update_document", "get_me", "list_tokens", "recipient_document",
                     "list_executions", "get_execution", "login", "logout", "openapi"}
    for logical, f in functions.items():
        props = f["Properties"]
        binary = f["Metadata"]["BuildProperties"]["Binary"]
        check(f["Metadata"].get("BuildMethod") == "rust-cargolambda", f"{logical}: BuildMethod is not rust-cargolambda")
        group = props.get("LoggingConfig", {}).get("LogGroup", {}).get("Ref")
        check(group in resources and resources[group]["Type"] == "AWS::Logs::LogGroup", f"{logical}: no declared log group")
        if group in resources:
            check(resources[group]["Properties"].get("RetentionInDays") == 731, f"{group}: not kept 731 days")
        name = binary.removeprefix("task-")
        key = ("task:" + name.replace("-", "_")) if binary.startswith("task-") else ("jobs" if binary == "jobs" else binary.replace("-", "_"))
        def listed(statements):
            return {a for st in statements for a in (st["Action"] if isinstance(st["Action"], list) else [st["Action"]])}

        statements = props.get("Policies", [{"Statement": []}])[0]["Statement"]
        actions = sorted(listed(statements))
        expected = sorted(listed([st for port in ports[key] for st in generator.PORT_POLICIES[port]]))
        check(actions == expected, f"{logical}: its actions {actions} are not those of its ports {ports[key]}")
        check(not any("*" in a for a in actions), f"{logical}: a wildcard action")
        unconditional_decrypt = any(
            "kms:Decrypt" in (st["Action"] if isinstance(st["Action"], list) else [st["Action"]]) and "Condition" not in st
            for st in statements
        )
        check(not unconditional_decrypt or key in PLAINTEXT, f"{logical} may decrypt files, but is not a file route or a task that needs plaintext")
        if key in generator.SECOND_FACTOR_ONLY:
            check(
                all(
                    st.get("Condition") == generator.SECOND_FACTOR_CONTEXT
                    for st in statements
                    if "kms:Decrypt" in (st["Action"] if isinstance(st["Action"], list) else [st["Action"]])
                ),
                f"{logical}: decrypts more than second-factor secrets",
            )
        if key in metadata_only:
            unconditional_decrypt = any(
                "kms:Decrypt" in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]]) and "Condition" not in s
                for s in statements
            )
            check(not unconditional_decrypt, f"{logical} reads metadata only, yet may decrypt")
            check(not any(a in actions for a in ("kms:Sign", "ses:SendEmail", "ses:SendRawEmail", "kms:Decrypt")),
                  f"{logical} reads metadata only, yet may decrypt, sign or send mail")

    for logical, r in resources.items():
        if r["Type"] == "AWS::Logs::LogGroup":
            check(r["Properties"].get("RetentionInDays") == 731, f"{logical}: not kept 731 days")
    check(any("API-Gateway-Execution-Logs_" in json.dumps(r["Properties"].get("LogGroupName"), default=str)
              for r in resources.values() if r["Type"] == "AWS::Logs::LogGroup"),
          "API Gateway's execution log group is not declared (it would never expire)")

    # What is kept, and how it is reached.
    for logical, r in resources.items():
        if r["Type"] in ("AWS::Logs::LogGroup", "AWS::DynamoDB::GlobalTable", "AWS::S3::Bucket", "AWS::Backup::BackupVault"):
            check(r.get("DeletionPolicy") == "Retain" and r.get("UpdateReplacePolicy") == "Retain", f"{logical}: not retained")
    api = resources["Api"]["Properties"]
    check(api.get("DisableExecuteApiEndpoint") is True, "Api: the execute-api endpoint is not disabled")
    check(api.get("Domain", {}).get("SecurityPolicy") == "TLS_1_2", "Api: its domain is not TLS 1.2")
    check("AccessLogSetting" in api and "MethodSettings" in api, "Api: no access logs or throttling")
    for bucket in ("DocumentsBucket", "StagingBucket"):
        statements = resources[f"{bucket}Policy"]["Properties"]["PolicyDocument"]["Statement"]
        check(any(s["Effect"] == "Deny" and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") is False for s in statements),
              f"{bucket}: no TLS-only policy")
    replicas = resources["Table"]["Properties"]["Replicas"]
    check(any(r["Region"] == "ap-northeast-3" for r in replicas), "Table: no replica in Osaka")
    for r in replicas:
        check(r.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled") is True, f"Table {r['Region']}: no PITR")
        check(r.get("DeletionProtectionEnabled") is True, f"Table {r['Region']}: no deletion protection")
    rules = resources["DocumentsBucket"]["Properties"]["ReplicationConfiguration"]["Rules"]
    check(any(r["Destination"].get("ReplicationTime", {}).get("Status") == "Enabled" and r["Filter"] == {"Prefix": ""} for r in rules),
          "DocumentsBucket: not every object replicated to Osaka with Replication Time Control")

    check_web(template)

    # The functions that draw pages carry the Japanese font, built by the layer's Makefile.
    for logical, f in functions.items():
        draws = f["Metadata"]["BuildProperties"]["Binary"] in ("get-document-page", "recipient-page")
        check(("Layers" in f["Properties"]) == draws and (not draws or f["Properties"]["Layers"] == [{"Ref": "JapaneseFont"}]),
              f"{logical}: the Japanese font layer {'missing' if draws else 'where no page is drawn'}")
    layer = resources["JapaneseFont"]
    makefile = ROOT / layer["Properties"]["ContentUri"] / "Makefile"
    check(makefile.is_file() and "build-JapaneseFont:" in makefile.read_text() and "fonts/ipag.ttf" in makefile.read_text(),
          "JapaneseFont: its Makefile does not build fonts/ipag.ttf as build-JapaneseFont")

    for f in failures:
        print(f"template: {f}")
    print(f"template checks: {len(functions)} functions, {len(events)} routes, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
