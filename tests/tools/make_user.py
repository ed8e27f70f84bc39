#!/usr/bin/env python3
"""Signs up a user on a running keiyaku, confirms it from the maildir, logs in with a bearer
token and prints the token. Usage: make_user.py URL DATA_DIR EMAIL"""
import email
import email.policy
import json
import pathlib
import re
import sys
import urllib.request

PASSWORD = "Kumo-no-ue 7 tanuki!"


def post(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"{}")


def main():
    base, data_dir, address = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3]
    post(f"{base}/api/v1/auth/signup", {"email": address, "name": "Schema Tester", "password": PASSWORD})
    token = None
    for path in sorted((data_dir / "mail" / "new").glob("*.eml"), key=lambda p: p.stat().st_mtime):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if msg["To"] and address in msg["To"]:
            found = re.search(r"/verify-email#([A-Za-z0-9_-]+)", msg.get_body(("plain",)).get_content())
            if found:
                token = found.group(1)
    if not token:
        sys.exit(f"no verification mail for {address}")
    post(f"{base}/api/v1/auth/verify-email", {"token": token})
    print(post(f"{base}/api/v1/auth/login", {"email": address, "password": PASSWORD, "mode": "token"})["token"])


if __name__ == "__main__":
    main()
