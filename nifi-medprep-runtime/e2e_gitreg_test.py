#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""End-to-end test of the Git flow registry client (nifi-medprep-registry-nar) in the real NiFi 2.3.0 of this module,
through the REST calls the NiFi UI makes. Run by ./medprep test.

On a temporary clone of this repository (work/e2e-gitreg/clone, its default branch checked out, branch medprep-flows made as
./medprep run makes it):
  1. medprep_flow.py run --registry-repo CLONE/.git (what ./medprep run does) creates the registry client, imports
     chest-xray under version control, runs it over a small sample set; the group is UP_TO_DATE afterwards (the
     parameters the run sets are not local changes) and at the branch's latest commit of the file; a second run
     replaces that group (one versioned group left, its context still named chest-xray);
  2. a local change (a processor's comments) makes it LOCALLY_MODIFIED with that one difference listed;
  3. Commit (POST /versions/process-groups/{id}, action COMMIT): a new commit on medprep-flows of the clone with the
     comment as message, its parent the previous version, the file changed in that processor's comments only
     (git diff), the group UP_TO_DATE at the new version, the clone's work tree and checked-out branch untouched;
  4. Change version back (POST /versions/update-requests/process-groups/{id}, poll, DELETE): the group at the old
     version, STALE, and its content the old file's (canonical comparison of the group's download with the file at
     that commit); then to the latest again;
  5. Revert local changes (POST /versions/revert-requests/process-groups/{id}, poll, DELETE): the change is gone;
  6. a second group of the same flow commits first: the first group's COMMIT is refused as stale, nothing committed;
  7. a remote: a bare repository reached by a file:// URL, a second client (cache clone under NiFi's working
     directory), import of ct, commit pushed to the bare repository.

usage: e2e_gitreg_test.py [--port 18125] [--work DIR]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from medprep_flow import (NiFi, NiFiError, SECRET_ENV, REGISTRY_CLIENT_NAME, REGISTRY_CLIENT_TYPE,  # noqa: E402
                          canonical_flow, import_versioned)
from e2e_test import Checks, sh, finish, PYTHON  # noqa: E402

CTL = os.path.join(HERE, "nifi-ctl")
BRANCH = "medprep-flows"
XRAY = "flows/medprep/chest-xray.json"
CT = "flows/medprep/ct.json"


def git(repo, *args, check=True):
    r = subprocess.run(["git", "-C", repo, *args], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {r.stderr.strip()}")
    return r.stdout.strip()


def vci(nifi, pg):
    return nifi.get(f"/versions/process-groups/{pg}")


def wait_state(nifi, pg, want, timeout=20):
    """The group's version control state once it is WANT (NiFi refreshes it in the background), else the last."""
    deadline = time.time() + timeout
    while True:
        state = vci(nifi, pg)["versionControlInformation"]["state"]
        if state == want or time.time() > deadline:
            return state
        time.sleep(0.5)


def processor(nifi, pg, name):
    return [p for p in nifi.processors(pg) if p["component"]["name"] == name][0]


def set_comments(nifi, pg, name, text):
    p = processor(nifi, pg, name)
    nifi.put(f"/processors/{p['id']}", {"revision": p["revision"],
                                         "component": {"id": p["id"], "config": {"comments": text}}})


def comments(nifi, pg, name):
    return processor(nifi, pg, name)["component"]["config"].get("comments") or ""


def commit(nifi, pg, message, action="COMMIT"):
    """What the UI's "Commit local changes" sends."""
    entity = vci(nifi, pg)
    info = entity["versionControlInformation"]
    return nifi.post(f"/versions/process-groups/{pg}", {
        "processGroupRevision": entity["processGroupRevision"],
        "versionedFlow": {"registryId": info["registryId"], "bucketId": info["bucketId"], "flowId": info["flowId"],
                          "flowName": info["flowName"], "branch": info["branch"], "comments": message,
                          "action": action}})["versionControlInformation"]


def version_request(nifi, kind, pg, version=None):
    """Change version (kind "update") or Revert local changes (kind "revert"), as the UI does: POST the request,
    poll it until complete, DELETE it. Returns the failure reason or None."""
    entity = vci(nifi, pg)
    info = dict(entity["versionControlInformation"])
    if version:
        info["version"] = version
    req = nifi.post(f"/versions/{kind}-requests/process-groups/{pg}",
                    {"processGroupRevision": entity["processGroupRevision"], "versionControlInformation": info})
    rid = req["request"]["requestId"]
    try:
        for _ in range(240):
            r = nifi.get(f"/versions/{kind}-requests/{rid}")["request"]
            if r["complete"]:
                return r.get("failureReason")
            time.sleep(0.5)
        return f"{kind} request did not complete in 120 s"
    finally:
        nifi.delete(f"/versions/{kind}-requests/{rid}")


def group_matches_file(nifi, pg, gitdir, version, rel):
    """The group's flow (its download) is the file of that commit, ids of this NiFi's copy and order aside."""
    downloaded = nifi.get(f"/process-groups/{pg}/download")
    stored = json.loads(git(gitdir, "show", f"{version}:{rel}"))

    def flow_only(d):
        c = canonical_flow(d)["flowContents"]
        # the group's own name, place and version-control coordinates are this NiFi's, not the flow's
        return {k: v for k, v in c.items() if k not in ("name", "position", "versionedFlowCoordinates")}
    a, b = flow_only(downloaded), flow_only(stored)
    if a != b:
        print("e2e: group vs file differ in: " + ", ".join(
            k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)), flush=True)
        for k in sorted(set(a) | set(b)):
            if a.get(k) != b.get(k):
                print(f"e2e:   {k}: group {json.dumps(a.get(k))[:400]}\ne2e:   {k}: file  {json.dumps(b.get(k))[:400]}")
                break
    return a == b


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=int(os.environ.get("MEDPREP_E2E_GITREG_PORT", "18125")))
    ap.add_argument("--work", default=os.path.join(REPO, "work", "e2e-gitreg"))
    args = ap.parse_args()
    work = os.path.abspath(args.work)
    if os.path.isdir(work):
        shutil.rmtree(work)
    os.makedirs(work)
    inst = os.path.join(work, "nifi")
    clone, origin = os.path.join(work, "clone"), os.path.join(work, "origin.git")
    t0 = time.time()
    c = Checks()

    # a clone of this repository's committed state, and a bare one as a remote
    sh("git", "clone", "-q", "--no-hardlinks", REPO, clone, check=True)
    git(clone, "branch", BRANCH, "HEAD")
    sh("git", "clone", "-q", "--bare", REPO, origin, check=True)
    git(origin, "branch", BRANCH, "HEAD")
    head_before = git(clone, "rev-parse", "HEAD")
    branch_before = git(clone, "symbolic-ref", "--short", "HEAD")
    sample = os.path.join(work, "sample")
    sh(PYTHON, os.path.join(REPO, "tools", "make_sample_set.py"), sample, check=True, stdout=subprocess.DEVNULL)

    try:
        if not c.check(sh(CTL, "start", inst, str(args.port), env=dict(os.environ, NIFI_START_TIMEOUT="120"))
                       .returncode == 0, "NiFi did not start"):
            return finish(c)
        nifi = NiFi(f"http://127.0.0.1:{args.port}")
        gitdir = os.path.join(clone, ".git")

        # 1. ./medprep run's path: client created, group imported under version control, flow run
        env = dict(os.environ, **{SECRET_ENV: os.urandom(32).hex()})
        run = sh(PYTHON, os.path.join(HERE, "medprep_flow.py"), "run", "--nifi", f"http://127.0.0.1:{args.port}",
                 "--flow", os.path.join(REPO, XRAY), "--input", sample, "--output", os.path.join(work, "out"),
                 "--nifi-dir", inst, "--registry-repo", gitdir, "--registry-branch", BRANCH,
                 env=env, capture_output=True, text=True)
        print(run.stdout[-1500:], run.stderr[-1500:], flush=True)
        c.check(run.returncode == 0, "medprep_flow.py run --registry-repo failed")
        c.check("under version control" in run.stdout and "NOT under version control" not in run.stdout,
                "medprep_flow.py run did not import the flow under version control")
        clients = [r for r in nifi.get("/controller/registry-clients")["registries"]
                   if r["component"]["name"] == REGISTRY_CLIENT_NAME]
        c.check(len(clients) == 1 and clients[0]["component"]["type"] == REGISTRY_CLIENT_TYPE
                and clients[0]["component"]["properties"]["Repository"] == gitdir
                and clients[0]["component"]["properties"]["Default Branch"] == BRANCH,
                f"registry client {REGISTRY_CLIENT_NAME} not as expected: {json.dumps(clients)[:500]}")
        registry_id = clients[0]["id"] if clients else None
        with open(os.path.join(inst, "medprep-run.json")) as f:
            pg = json.load(f)["groups"]["chest-xray"]
        v1 = git(gitdir, "log", "-1", "--format=%H", BRANCH, "--", XRAY)
        info = vci(nifi, pg)["versionControlInformation"]
        c.check(info["version"] == v1 and info["branch"] == BRANCH and info["bucketId"] == "medprep"
                and info["flowId"] == "chest-xray", f"imported group's version control information: {info}")
        c.check(wait_state(nifi, pg, "UP_TO_DATE") == "UP_TO_DATE",
                "after the run (parameters set, group run) the group is not UP_TO_DATE")
        with open(os.path.join(work, "out", "summary.json")) as f:
            summary = json.load(f)
        c.check(sum(summary["outputs"].values()) > 0, f"the versioned group wrote no outputs: {summary}")
        # a second run replaces the first run's versioned group (recognised by its recorded id), not adds one
        run2 = sh(PYTHON, os.path.join(HERE, "medprep_flow.py"), "run", "--nifi", f"http://127.0.0.1:{args.port}",
                  "--flow", os.path.join(REPO, XRAY), "--input", sample, "--output", os.path.join(work, "out2"),
                  "--nifi-dir", inst, "--registry-repo", gitdir, "--registry-branch", BRANCH,
                  env=env, capture_output=True, text=True)
        c.check(run2.returncode == 0 and "replacing group " + pg in run2.stdout,
                f"a second run did not replace the first run's group {pg}:\n{run2.stdout[-800:]}{run2.stderr[-800:]}")
        with open(os.path.join(inst, "medprep-run.json")) as f:
            pg = json.load(f)["groups"]["chest-xray"]
        groups = [g for g in nifi.child_groups()
                  if (g["component"].get("versionControlInformation") or {}).get("flowId") == "chest-xray"]
        c.check([g["id"] for g in groups] == [pg], f"versioned chest-xray groups after two runs: {[g['id'] for g in groups]}")
        c.check(groups and groups[0]["component"]["parameterContext"]["component"]["name"] == "chest-xray",
                "the second run's group is not bound to a context named chest-xray")
        c.check(wait_state(nifi, pg, "UP_TO_DATE") == "UP_TO_DATE", "after the second run the group is not UP_TO_DATE")
        nifi.set_group_state(pg, "STOPPED")
        nifi.wait_stopped(pg)

        # 2. a local change
        set_comments(nifi, pg, "Median 3", "e2e: a comment made in the UI")
        c.check(wait_state(nifi, pg, "LOCALLY_MODIFIED") == "LOCALLY_MODIFIED", "a changed comment is no local change")
        mods = nifi.get(f"/process-groups/{pg}/local-modifications")["componentDifferences"]
        c.check([m["componentName"] for m in mods] == ["Median 3"],
                f"local modifications other than Median 3's comments: {json.dumps(mods)[:600]}")

        # 3. Commit local changes
        tip = git(gitdir, "rev-parse", BRANCH)
        info = commit(nifi, pg, "e2e: Median 3 gets a comment")
        v2 = info["version"]
        c.check(v2 != v1 and git(gitdir, "rev-parse", BRANCH) == v2, f"no new commit on {BRANCH}: {v2}")
        logged = git(gitdir, "log", "-1", "--format=%s%n%P", v2)
        c.check(logged == f"e2e: Median 3 gets a comment\n{tip}",
                f"the commit's message or parent is not the comment / the branch's tip {tip}: {logged}")
        diff = git(gitdir, "diff", "--unified=0", v1, v2, "--", XRAY).splitlines()
        changed = [ln for ln in diff if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]
        # Median 3's comments, repeated in the ends of its connections; and the parameter values the run set
        # (NiFi stores a context's current values with every commit)
        c.check(any('"comments": "e2e: a comment made in the UI"' in ln for ln in changed)
                and all('"comments": ' in ln or '"value": ' in ln for ln in changed),
                "the commit changed more than Median 3's comments:\n    " + "\n    ".join(changed[:20]))
        stored = json.loads(git(gitdir, "show", f"{v2}:{XRAY}"))
        c.check(stored["flowContents"]["parameterContextName"] == "chest-xray"
                and list(stored["parameterContexts"]) == ["chest-xray"]
                and "value" not in [p for p in stored["parameterContexts"]["chest-xray"]["parameters"]
                                    if p["name"] == "patient.key.secret"][0],
                "the committed parameter context is not 'chest-xray' or holds the secret")
        c.check(wait_state(nifi, pg, "UP_TO_DATE") == "UP_TO_DATE", "after the commit the group is not UP_TO_DATE")
        c.check(git(clone, "status", "--porcelain") == "" and git(clone, "rev-parse", "HEAD") == head_before
                and git(clone, "symbolic-ref", "--short", "HEAD") == branch_before,
                "the clone's work tree or checked-out branch changed")
        versions = nifi.get(f"/flow/registries/{registry_id}/buckets/medprep/flows/chest-xray/versions"
                            f"?branch={BRANCH}")["versionedFlowSnapshotMetadataSet"]
        listed = {v["versionedFlowSnapshotMetadata"]["version"]: v["versionedFlowSnapshotMetadata"] for v in versions}
        c.check(v1 in listed and v2 in listed and listed[v2]["comments"] == "e2e: Median 3 gets a comment"
                and listed[v2]["author"] == "NiFi",
                f"the registry's version list lacks the commits: {sorted(listed)[:5]}")

        # 4. Change version back, then forward
        failure = version_request(nifi, "update", pg, v1)
        c.check(failure is None, f"change version to {v1[:10]} failed: {failure}")
        info = vci(nifi, pg)["versionControlInformation"]
        c.check(info["version"] == v1, f"after the change the group is at {info['version']}, not {v1}")
        c.check(wait_state(nifi, pg, "STALE") == "STALE", "a group at an older version is not STALE")
        c.check(comments(nifi, pg, "Median 3") == "", "after the change back Median 3 still has the comment")
        c.check(group_matches_file(nifi, pg, gitdir, v1, XRAY), "the group at v1 is not the file of v1")
        failure = version_request(nifi, "update", pg, v2)
        c.check(failure is None and vci(nifi, pg)["versionControlInformation"]["version"] == v2
                and comments(nifi, pg, "Median 3") == "e2e: a comment made in the UI",
                f"change version to the latest failed: {failure}")
        c.check(group_matches_file(nifi, pg, gitdir, v2, XRAY), "the group at v2 is not the file of v2")

        # 5. Revert local changes
        set_comments(nifi, pg, "Median 3", "e2e: to be reverted")
        c.check(wait_state(nifi, pg, "LOCALLY_MODIFIED") == "LOCALLY_MODIFIED", "second local change not seen")
        failure = version_request(nifi, "revert", pg)
        c.check(failure is None, f"revert failed: {failure}")
        c.check(comments(nifi, pg, "Median 3") == "e2e: a comment made in the UI"
                and wait_state(nifi, pg, "UP_TO_DATE") == "UP_TO_DATE", "revert did not restore the committed flow")
        c.check(git(gitdir, "rev-parse", BRANCH) == v2, "revert committed something")

        # 6. a stale commit is refused: another group of the same flow commits first
        other = import_versioned(nifi, registry_id, "chest-xray", BRANCH, v2, "chest-xray (e2e second copy)")["id"]
        set_comments(nifi, other, "Z-Score", "e2e: committed by the second copy")
        v3 = commit(nifi, other, "e2e: second copy's change")["version"]
        c.check(git(gitdir, "rev-parse", BRANCH) == v3, "the second copy's commit is not on the branch")
        set_comments(nifi, pg, "Median 3", "e2e: a change on a stale version")
        try:
            commit(nifi, pg, "e2e: must be refused")
            c.check(False, "a COMMIT based on a stale version was accepted")
        except NiFiError as e:
            c.check("someone committed meanwhile" in str(e) or "stale" in str(e).lower(),
                    f"stale commit refused, but not for staleness: {str(e)[:300]}")
        c.check(git(gitdir, "rev-parse", BRANCH) == v3, "the refused commit moved the branch")
        # (NiFi notices the newer version at its next background check, up to a minute later)
        c.check(vci(nifi, pg)["versionControlInformation"]["state"] in ("LOCALLY_MODIFIED", "LOCALLY_MODIFIED_AND_STALE"),
                "the refused commit lost the first group's local change")

        # 7. a remote through file:// (cache clone under NiFi's working directory, push after commit)
        types = nifi.get("/controller/registry-types")["flowRegistryClientTypes"]
        bundle = [t for t in types if t["type"] == REGISTRY_CLIENT_TYPE][0]["bundle"]
        remote_id = nifi.post("/controller/registry-clients", {"revision": {"version": 0}, "component": {
            "name": "e2e remote", "type": REGISTRY_CLIENT_TYPE, "bundle": bundle,
            "properties": {"Repository": "file://" + origin, "Default Branch": BRANCH,
                           "Commit Author Name": "e2e remote", "Commit Author Email": "e2e@example.org"}}})["id"]
        v_ct = git(origin, "log", "-1", "--format=%H", BRANCH, "--", CT)
        ct = import_versioned(nifi, remote_id, "ct", BRANCH, v_ct, "ct (e2e remote)")["id"]
        c.check(wait_state(nifi, ct, "UP_TO_DATE") == "UP_TO_DATE", "the group imported from the remote is not UP_TO_DATE")
        caches = os.listdir(os.path.join(inst, "work", "git-flow-registry"))
        c.check(any(d.startswith(remote_id) for d in caches), f"no cache clone under INSTANCE/work/git-flow-registry: {caches}")
        set_comments(nifi, ct, "Write volume", "e2e: pushed to the remote")
        v_ct2 = commit(nifi, ct, "e2e: ct change through a remote")["version"]
        c.check(git(origin, "rev-parse", BRANCH) == v_ct2
                and git(origin, "log", "-1", "--format=%an <%ae>%n%s", v_ct2)
                == "e2e remote <e2e@example.org>\ne2e: ct change through a remote",
                "the commit was not pushed to the remote's branch")
        c.check(group_matches_file(nifi, ct, origin, v_ct2, CT), "the remote's file is not the committed group")
        print(f"e2e: git registry test took {time.time() - t0:.0f} s", flush=True)
    except (NiFiError, RuntimeError, OSError, KeyError, IndexError) as e:
        c.check(False, f"{type(e).__name__}: {str(e)[:2000]}")
    finally:
        if os.path.isdir(inst):
            sh(CTL, "stop", inst)
    return finish(c)


if __name__ == "__main__":
    sys.exit(main())
