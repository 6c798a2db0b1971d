#!/usr/bin/env python3
"""Send a GitHub push webhook to hoist, as GitHub sends it, for the tests.

webhook.py URL SECRET_FILE push  REPO_DIR FULL_NAME REF BEFORE AFTER [DELIVERY]
webhook.py URL SECRET_FILE raw   EVENT BODY_FILE DELIVERY [SIGNATURE]
webhook.py URL SECRET_FILE body  REPO_DIR FULL_NAME REF BEFORE AFTER   (print the payload)

The push payload is built from the git repository REPO_DIR: each commit
of BEFORE..AFTER with its committer and its added/modified/removed paths,
head_commit's message, created/deleted/forced as GitHub sets them.  The
body is signed with HMAC-SHA256 of SECRET_FILE's content in
X-Hub-Signature-256 (SIGNATURE, when given, is sent instead: "none" sends
no header).  Prints "HTTP_STATUS BODY".
"""
import hashlib
import hmac
import json
import subprocess
import sys
import urllib.error
import urllib.request
import uuid

ZERO = "0" * 40


def git(repo, *args):
    return subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True, text=True).stdout


def commit(repo, sha):
    fmt = git(repo, "show", "-s", "--format=%ce%x00%B", sha)
    email, message = fmt.split("\0", 1)
    lists = {"added": [], "modified": [], "removed": []}
    out = git(repo, "diff-tree", "--no-commit-id", "-r", "--name-status", "--root", "-z", sha)
    parts = [p for p in out.split("\0") if p]
    for status, path in zip(parts[0::2], parts[1::2]):
        key = {"A": "added", "D": "removed"}.get(status[0], "modified")
        lists[key].append(path)
    return {"id": sha, "message": message.rstrip("\n"), "committer": {"email": email}, **lists}


def payload(repo, full_name, ref, before, after):
    created, deleted = before == ZERO, after == ZERO
    if deleted:
        commits = []
    elif created:
        commits = [commit(repo, after)]
    else:
        revs = git(repo, "rev-list", "--reverse", f"{before}..{after}").split()
        commits = [commit(repo, r) for r in revs]
    forced = not created and not deleted and subprocess.run(
        ["git", "-C", repo, "merge-base", "--is-ancestor", before, after]).returncode != 0
    return {
        "ref": ref, "before": before, "after": after,
        "created": created, "deleted": deleted, "forced": forced,
        "repository": {"full_name": full_name, "clone_url": f"https://example.invalid/{full_name}.git"},
        "pusher": {"name": "dev"},
        "head_commit": commits[-1] if commits else None,
        "commits": commits,
    }


def send(url, secret, event, body, delivery, signature=None):
    if signature is None:
        signature = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-GitHub-Event": event, "X-GitHub-Delivery": delivery,
               "User-Agent": "GitHub-Hookshot/test"}
    if signature != "none":
        headers["X-Hub-Signature-256"] = signature
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def main():
    url, secret_file, mode = sys.argv[1:4]
    secret = open(secret_file, "rb").read().strip()
    args = sys.argv[4:]
    if mode in ("push", "body"):
        repo, full_name, ref, before, after = args[:5]
        body = json.dumps(payload(repo, full_name, ref, before, after)).encode()
        if mode == "body":
            sys.stdout.write(body.decode())
            return
        delivery = args[5] if len(args) > 5 else str(uuid.uuid4())
        status, text = send(url, secret, "push", body, delivery)
    else:
        event, body_file, delivery = args[:3]
        body = open(body_file, "rb").read()
        status, text = send(url, secret, event, body, delivery, args[3] if len(args) > 3 else None)
    print(status, text.strip())


main()
