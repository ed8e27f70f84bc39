#!/usr/bin/env python3
"""Differential test of keiyaku's ASL engine against moto's Step Functions executor.

    moto_differential.py RUN_CASE_BINARY CASES_DIR

Starts a moto server of its own on a loopback port (execute mode is a server-wide switch:
POST /moto-api/config {"stepfunctions": {"execute_state_machine": true}}, with Lambda
answering from the queue of /moto-api/static/lambda-simple/response, no Docker). For each
case (CASES_DIR/*.json: a definition, an input, the Lambda results in order and, for
`.waitForTaskToken` tasks, the callbacks) it runs the machine on moto and on keiyaku's
engine (`run_case`, an example of keiyaku-states) and compares the status, the output (or
the error and its cause), and the sequence of history events (type, and the state's name for
StateEntered/StateExited; as a multiset where the case says its Parallel branches
interleave). Where the two differ and AWS's documentation decides for
keiyaku, the case lists the difference in "known_differences" with the reason; such a
difference must still be there (else the note is stale), and nothing else may differ.
Exits 0 when every case agrees, 1 otherwise.

Written against moto 5.2.5.
"""

from __future__ import annotations

import io
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path

import boto3

REGION = "us-east-1"
ACCOUNT = "123456789012"


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def post(url: str, body: dict) -> int:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(req) as r:
        return r.status


def summary(events: list[dict]) -> list[str]:
    """The comparable part of a history: event types, with state names where entered or exited."""
    out = []
    for e in events:
        t = e["type"]
        details = e.get("stateEnteredEventDetails") or e.get("stateExitedEventDetails")
        out.append(f"{t}({details['name']})" if details else t)
    return out


def resolved(case: dict, fn_arn: str, root: Path) -> dict:
    """The case with its definition read (`definition_file`, relative to the repository) and
    every `${...}` placeholder naming the one Lambda function."""
    case = dict(case)
    if "definition_file" in case:
        case["definition"] = json.loads((root / case.pop("definition_file")).read_text())
    text = re.sub(r"\$\{[A-Za-z]+\}", fn_arn, json.dumps(case["definition"]))
    case["definition"] = json.loads(text)
    return case


def moto_result(r: str | dict) -> str:
    """A queued Lambda result as moto's `lambda-simple` backend takes it: JSON text, or for
    `{"oversized": true}` a response over Lambda's 6 MB limit, which moto (as Lambda) turns
    into the function error `Function.ResponseSizeTooLarge` — the one way to make its
    Docker-less Lambda fail."""
    if isinstance(r, dict) and r.get("oversized"):
        return json.dumps("x" * 6_000_000)
    return r


def run_on_moto(clients, url: str, role: str, name: str, case: dict) -> dict:
    sfn = clients["stepfunctions"]
    # The objects a Distributed Map's ItemReader reads, put into moto's S3 (which its
    # executor reads through the server's own port: MOTO_PORT).
    for at, text in case.get("objects", {}).items():
        bucket, key = at.split("/", 1)
        clients["s3"].create_bucket(Bucket=bucket)
        clients["s3"].put_object(Bucket=bucket, Key=key, Body=text.encode())
    if case.get("lambda"):
        assert post(f"{url}/moto-api/static/lambda-simple/response",
                    {"results": [moto_result(r) for r in case["lambda"]], "region": REGION}) == 201
    definition = json.dumps(case["definition"])
    machine = sfn.create_state_machine(name=name, definition=definition, roleArn=role)["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine, input=json.dumps(case["input"]))["executionArn"]
    callbacks = list(case.get("callbacks", []))
    answered = set()
    deadline = time.time() + 60
    while True:
        d = sfn.describe_execution(executionArn=execution)
        events = sfn.get_execution_history(executionArn=execution, maxResults=1000)["events"]
        if d["status"] != "RUNNING":
            break
        # A `.waitForTaskToken` task: its token is in the parameters it was scheduled with.
        for e in events:
            sched = e.get("taskScheduledEventDetails")
            if sched and e["id"] not in answered and "waitForTaskToken" in sched.get("resource", ""):
                answered.add(e["id"])
                token = json.loads(sched["parameters"])["Payload"]["task_token"]
                sfn.send_task_success(taskToken=token, output=json.dumps(callbacks.pop(0)))
        if time.time() > deadline:
            raise SystemExit(f"{name}: moto's execution did not end")
        time.sleep(0.05)
    return {
        "status": d["status"],
        "output": json.loads(d["output"]) if d.get("output") else None,
        "error": d.get("error"),
        "cause": d.get("cause"),
        "events": summary(events),
    }


def run_on_keiyaku(binary: str, case: dict, scratch: Path) -> dict:
    path = scratch / "case.json"
    path.write_text(json.dumps(case))
    out = subprocess.run([binary, str(path)], capture_output=True, text=True, check=True).stdout
    r = json.loads(out)
    if "refused" in r:
        return {"status": "REFUSED", "output": None, "error": r["refused"], "cause": None, "events": []}
    return {
        "status": r["status"],
        "output": r["output"],
        "error": r["error"],
        "cause": r["cause"],
        "events": summary(r["events"]),
    }


def main() -> int:
    binary, cases_dir = sys.argv[1], Path(sys.argv[2])
    root = Path(__file__).resolve().parents[2]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    moto = subprocess.Popen([str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "MOTO_PORT": str(port)})
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{url}/moto-api/")
                break
            except OSError:
                time.sleep(0.1)
        post(f"{url}/moto-api/config",
             {"lambda": {"use_docker": False}, "stepfunctions": {"execute_state_machine": True}})
        kw = dict(endpoint_url=url, region_name=REGION, aws_access_key_id="differential",
                  aws_secret_access_key="differential")
        clients = {n: boto3.client(n, **kw) for n in ("iam", "lambda", "s3", "stepfunctions")}
        role = clients["iam"].create_role(RoleName="differential", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as z:
            z.writestr("lambda_function.py", "def handler(event, context):\n    return event\n")
        fn_arn = clients["lambda"].create_function(
            FunctionName="differential", Runtime="python3.12", Role=role,
            Handler="lambda_function.handler", Code={"ZipFile": code.getvalue()})["FunctionArn"]
        scratch = Path(tempfile.mkdtemp())
        passed = failed = 0
        for path in sorted(cases_dir.glob("*.json")):
            case = resolved(json.loads(path.read_text()), fn_arn, root)
            name = path.stem.replace("_", "-")
            theirs = run_on_moto(clients, url, role, name, case)
            ours = run_on_keiyaku(binary, case, scratch)
            known = case.get("known_differences", {})
            if case.get("branches_interleave"):
                # Branches run concurrently: AWS documents no order between their events, so
                # the same events in any order agree.
                theirs["events"], ours["events"] = sorted(theirs["events"]), sorted(ours["events"])
            problems = []
            for field in ("status", "output", "error", "cause", "events"):
                differs = theirs[field] != ours[field]
                if differs and field not in known:
                    problems.append(f"{field}: moto {theirs[field]!r}\n          keiyaku {ours[field]!r}")
                if not differs and field in known:
                    problems.append(f"{field}: listed as a known difference, but both agree now")
            if problems:
                failed += 1
                print(f"FAIL {path.name}")
                for p in problems:
                    print(f"    {p}")
            else:
                passed += 1
                notes = "".join(f"; {k} differs: {v}" for k, v in known.items())
                print(f"ok   {path.name}: {ours['status']}, {len(ours['events'])} events{notes}")
        print(f"moto differential: {passed} agree, {failed} differ")
        return 1 if failed else 0
    finally:
        moto.terminate()
        moto.wait()


if __name__ == "__main__":
    sys.exit(main())
