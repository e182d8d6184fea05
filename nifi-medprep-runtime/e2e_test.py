#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""End-to-end test of the chest X-ray flow on a real NiFi 2.3.0 (run by ./medprep test).

Starts a local NiFi from nifi-medprep-runtime/target/nifi-2.3.0 (failing with its log tail if REST does not answer
within 120 s), makes the sample set (real images from Debian packages in the Kaggle layout, plus corrupt and colour
files), then:
  0. checks the launcher's patient key secret file (made once with modes 0700/0600 and 64 hex digits, read back the
     same next time, MEDPREP_PATIENT_KEY_SECRET first, refused when others can read it);
  1. uploads the committed flows/medprep/chest-xray.json by hand, as a user would (REST upload, group "chest-xray"),
     checks that NiFi's download of it equals the file (ids and list order aside: the file is in NiFi's canonical
     form), sets its parameters and checks that every processor is VALID - the committed JSON must load as a valid
     flow;
  2. runs it with medprep_flow.py run --keep-running (secret in the environment) and checks:
     - inputs = outputs + quarantined, per summary.json and per files on disk;
     - every .npy is 224 x 224 float32 and equals the seed pipeline in Python + OpenCV (tools/seed_pipeline.py)
       on the same files (>= 99.9 % identical, max one 8-bit step / std): tools/compare_outputs.py;
     - each output sits in the split folder the seed's hash gives, and no patient is in two splits;
     - the quarantine holds exactly the files the seed rejects, under their input folder
       (quarantine/<folder>/<name>, so equal names from different folders are both kept), each with a reason file;
     - for every output file NiFi's provenance API gives a lineage from its first event (ListFile) to its last
       (PutFile's SEND), with exactly one event per medprep processor in between whose details carry its parameters;
  3. runs it a second time while the first run's group is still running: both runs exit 0, the hand-uploaded group
     is still there, VALID, with its own parameter context and values, only one run group is left, and both runs
     put the same files in the same split folders;
  4. runs it on inputs whose outputs collide (two files of one name, label and patient in different folders) and
     on a label whose output directory cannot be created: the colliding file and the blocked one are quarantined
     with reasons that say a file of that name already exists / the directory could not be created, and the
     quarantined copies are the inputs' own bytes; a FlowFile for a listed file that is gone (fed into
     "Fetch input file" by a GenerateFlowFile added for the test) is quarantined with FetchFile's not.found reason.
usage: e2e_test.py [--port 18090] [--work DIR]
"""
import argparse
import difflib
import filecmp
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from medprep_flow import NiFi, NiFiError, upload, invalid_processors, run_group_name, SECRET_ENV, CLIENT_ID  # noqa: E402

PYTHON = "/usr/bin/python3"


def pom_version():
    """The project version from the parent pom: the version every step of the real NAR must record."""
    import xml.etree.ElementTree as ET
    root = ET.parse(os.path.join(REPO, "pom.xml")).getroot()
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    return root.find("m:version", ns).text.strip()


BUNDLE_VERSION = pom_version()
FLOW = os.path.join(REPO, "flows", "medprep", "chest-xray.json")
SECRET = "e2e-patient-key-secret-0123456789"
SALT = "e2e-salt"
# Processor types between ListFile/FetchFile and PutFile, and how many of each one output's lineage must hold.
MEDPREP_STEPS = {"ValidateImage": 1, "ResizeWithPadding": 1, "Denoise": 1, "ApplyCLAHE": 1, "Normalize": 2,
                 "SplitByPatient": 1}


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print(f"e2e FAILED: {what}", flush=True)
        return ok


def sh(*cmd, **kw):
    print("e2e: $ " + " ".join(cmd), flush=True)
    return subprocess.run(cmd, **kw)


def npy_files(root):
    found = []
    for d, _, files in os.walk(root):
        found += [os.path.join(d, f) for f in files if f.endswith(".npy")]
    return sorted(found)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=int(os.environ.get("MEDPREP_E2E_PORT", "18090")))
    ap.add_argument("--work", default=os.path.join(REPO, "work", "e2e"))
    args = ap.parse_args()
    work = os.path.abspath(args.work)
    inst, sample = os.path.join(work, "nifi"), os.path.join(work, "input")
    out, seed = os.path.join(work, "output"), os.path.join(work, "seed")
    out2, hand_out = os.path.join(work, "output-second-run"), os.path.join(work, "hand-output")
    subprocess.run(["rm", "-rf", sample, out, out2, hand_out, seed], check=True)
    os.makedirs(work, exist_ok=True)
    c = Checks()
    ctl = os.path.join(HERE, "nifi-ctl")
    env = dict(os.environ, NIFI_START_TIMEOUT="120")
    if not c.check(sh(ctl, "start", inst, str(args.port), env=env).returncode == 0,
                   "NiFi did not answer within 120 s (log tail above)"):
        return finish(c)
    check_secret_file(c)
    try:
        nifi = NiFi(f"http://127.0.0.1:{args.port}")
        clear_instance(nifi)
        sh(PYTHON, os.path.join(REPO, "tools", "make_sample_set.py"), sample, check=True,
           stdout=subprocess.DEVNULL)
        hand = upload_by_hand(c, nifi, sample, os.path.join(work, "hand-output"))
        run = run_flow(args.port, inst, sample, out, keep_running=True)
        c.check(run.returncode == 0, "medprep_flow.py run failed: a file is unaccounted for or NiFi failed")
        check_outputs(c, sample, out, seed)
        check_lineage(c, nifi, out)
        second = run_flow(args.port, inst, sample, out2)
        c.check(second.returncode == 0, "a second medprep_flow.py run while the first run's group was still running "
                                        "failed")
        check_second_run(c, nifi, hand, out, out2)
        check_collisions(c, args.port, inst, os.path.join(work, "collide-input"), os.path.join(work, "collide-output"))
        check_fetch_not_found(c, nifi, os.path.join(work, "collide-output"))
    finally:
        sh(ctl, "stop", inst)
    return finish(c)


def check_secret_file(c):
    """The launcher's patient key secret: made once in ${XDG_CONFIG_HOME}/nifi-medprep/patient-key-secret (directory
    0700, file 0600, 64 hex digits), the same value on the next run, MEDPREP_PATIENT_KEY_SECRET first, a file others
    can read refused. Runs the launcher's own function (extracted from ./medprep) in bash."""
    launcher = os.path.join(REPO, "medprep")
    script = ('eval "$(sed -n \'/^patient_key_secret() {/,/^}/p\' "$1")"; say() { echo "$*" >&2; }; '
              'die() { echo "die: $*" >&2; exit 1; }; patient_key_secret; printf %s "$MEDPREP_PATIENT_KEY_SECRET"')
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if k != SECRET_ENV}
        env["XDG_CONFIG_HOME"] = os.path.join(home, "config")
        first = subprocess.run(["bash", "-c", script, "bash", launcher], env=env, capture_output=True, text=True)
        second = subprocess.run(["bash", "-c", script, "bash", launcher], env=env, capture_output=True, text=True)
        f = os.path.join(home, "config", "nifi-medprep", "patient-key-secret")
        modes = (oct(os.stat(os.path.dirname(f)).st_mode & 0o777), oct(os.stat(f).st_mode & 0o777)) \
            if os.path.exists(f) else None
        c.check(first.returncode == 0 and len(first.stdout) == 64 and all(ch in "0123456789abcdef" for ch in first.stdout)
                and f in first.stderr and modes == ("0o700", "0o600"),
                f"launcher secret file: rc {first.returncode}, {len(first.stdout)} characters, modes {modes}, "
                f"message {first.stderr.strip()!r}")
        c.check(second.returncode == 0 and second.stdout == first.stdout and "created" not in second.stderr,
                "launcher secret file: a second run did not read back the same secret")
        given = subprocess.run(["bash", "-c", script, "bash", launcher], capture_output=True, text=True,
                               env=dict(env, **{SECRET_ENV: "from-the-environment"}))
        c.check(given.stdout == "from-the-environment", f"{SECRET_ENV} does not take precedence: {given.stdout!r}")
        if os.path.exists(f):
            os.chmod(f, 0o644)
            loose = subprocess.run(["bash", "-c", script, "bash", launcher], env=env, capture_output=True, text=True)
            c.check(loose.returncode != 0 and "readable by others" in loose.stderr,
                    f"launcher accepted a secret file others can read: rc {loose.returncode} {loose.stderr.strip()!r}")


def check_fetch_not_found(c, nifi, out):
    """FetchFile's not.found relationship gets its own reason: a FlowFile for a file that is gone (as when a file
    is deleted between listing and fetching) is fed into the run group's "Fetch input file" by a GenerateFlowFile
    added for the test; it must end in the quarantine with a reason naming the missing path."""
    pg = [g["id"] for g in nifi.child_groups() if g["component"]["name"] == run_group_name("chest-xray")][0]
    fetch = [p["id"] for p in nifi.processors(pg) if p["component"]["name"] == "Fetch input file"][0]
    gone = "/nonexistent-medprep-e2e/NORMAL/"
    gen = nifi.post(f"/process-groups/{pg}/processors", {"revision": {"version": 0}, "component": {
        "type": "org.apache.nifi.processors.standard.GenerateFlowFile", "name": "e2e: a listed file that is gone",
        "position": {"x": -500, "y": 440}, "config": {"schedulingPeriod": "1 day", "properties": {
            "File Size": "0B", "absolute.path": gone, "path": "gone/NORMAL/",
            "medprep.source.name": "IM-0600-0001.jpeg", "filename": "IM-0600-0001.jpeg"}}}})["id"]
    nifi.post(f"/process-groups/{pg}/connections", {"revision": {"version": 0}, "component": {
        "source": {"id": gen, "groupId": pg, "type": "PROCESSOR"},
        "destination": {"id": fetch, "groupId": pg, "type": "PROCESSOR"}, "selectedRelationships": ["success"]}})
    reason_file = os.path.join(out, "quarantine", "gone", "NORMAL", "IM-0600-0001.jpeg.reason.txt")
    nifi.set_group_state(pg, "RUNNING")
    try:
        for _ in range(60):
            if os.path.exists(reason_file) and os.path.getsize(reason_file):
                break
            time.sleep(0.5)
    finally:
        nifi.set_group_state(pg, "STOPPED")
    reason = open(reason_file).read() if os.path.exists(reason_file) else ""
    c.check(reason.startswith("failure: Fetch input file (FetchFile, not.found)")
            and gone + "IM-0600-0001.jpeg was not found" in reason,
            f"a listed file that is gone should be quarantined with FetchFile's not.found reason: {reason!r}")
    print(f"e2e: fetch not.found: {reason.strip()}", flush=True)


def clear_instance(nifi):
    """The test's own NiFi instance keeps its flow between test runs: start from an empty canvas."""
    for g in nifi.child_groups():
        nifi.remove_group(g["id"])
    for ctx in nifi.get("/flow/parameter-contexts")["parameterContexts"]:
        nifi.delete(f"/parameter-contexts/{ctx['id']}?version={ctx['revision']['version']}&clientId={CLIENT_ID}")


def run_flow(port, inst, sample, out, keep_running=False):
    """medprep_flow.py run with the secret in the environment (never on the command line)."""
    cmd = [PYTHON, os.path.join(HERE, "medprep_flow.py"), "run", "--nifi", f"http://127.0.0.1:{port}",
           "--flow", FLOW, "--input", sample, "--output", out, "--param", f"split.salt={SALT}", "--nifi-dir", inst]
    if keep_running:
        cmd.append("--keep-running")
    return sh(*cmd, env=dict(os.environ, **{SECRET_ENV: SECRET}))


def upload_by_hand(c, nifi, sample, hand_out):
    """Uploads the committed definition as a user would (group "chest-xray", the file's own context), fills in
    its parameters and checks every processor is VALID. Returns (group id, context id, input, output), or None."""
    try:
        entity = upload(nifi, FLOW, "chest-xray")
        pg, ctx = entity["id"], entity["component"]["parameterContext"]["id"]
        check_canonical(c, nifi.get(f"/process-groups/{pg}/download"))
        nifi.update_parameters(ctx, {"input.dir": sample, "output.dir": hand_out, "patient.key.secret": SECRET},
                               sensitive={"patient.key.secret"})
        invalid = invalid_processors(nifi, pg)
    except (NiFiError, KeyError, TypeError) as e:
        c.check(False, f"the committed {os.path.relpath(FLOW, REPO)} could not be uploaded to NiFi: {e}")
        return None
    c.check(not invalid, f"the committed {os.path.relpath(FLOW, REPO)} does not load as a valid flow in NiFi 2.3.0: "
                         f"after uploading it and setting input.dir, output.dir and the secret these processors are "
                         f"not VALID (fix the flow in NiFi, download it again and commit that):\n    "
                         + "\n    ".join(invalid))
    return pg, ctx, sample, hand_out


def canonical(definition):
    """A flow definition without what differs from one upload to the next: instance ids, the group's own
    identifier, and the order of list items."""
    gid = definition["flowContents"]["identifier"]

    def norm(o):
        if isinstance(o, dict):
            return {k: norm(v) for k, v in o.items() if k != "instanceIdentifier"}
        if isinstance(o, list):
            return sorted((norm(x) for x in o), key=lambda x: json.dumps(x, sort_keys=True))
        return "<group>" if o == gid else o
    return norm(definition)


def check_canonical(c, downloaded, flow=FLOW):
    """The committed JSON must be what NiFi's own download gives for it (edited in NiFi, not by hand)."""
    with open(flow) as f:
        committed = json.load(f)
    a = json.dumps(canonical(committed), indent=1, sort_keys=True).splitlines()
    b = json.dumps(canonical(downloaded), indent=1, sort_keys=True).splitlines()
    diff = list(difflib.unified_diff(a, b, "committed", "NiFi's download", lineterm="", n=1))
    c.check(not diff, f"the committed {os.path.relpath(flow, REPO)} is not what NiFi downloads for it (upload it, "
                      f"download it - GET /process-groups/{{id}}/download - run tools/normalize_flow.py on it and commit "
                      f"that):\n    "
                      + "\n    ".join(diff[:30]))


def split_layout(out):
    return sorted(os.path.relpath(p, out) for p in npy_files(out))


def check_second_run(c, nifi, hand, out, out2):
    groups = nifi.child_groups()
    runs = [g for g in groups if g["component"]["name"] == run_group_name("chest-xray")]
    c.check(len(runs) == 1, f"{len(runs)} run groups after two runs, expected 1 (the first one replaced)")
    c.check(split_layout(out) == split_layout(out2) and split_layout(out),
            f"the two runs' split assignments differ: only first {sorted(set(split_layout(out)) - set(split_layout(out2)))}, "
            f"only second {sorted(set(split_layout(out2)) - set(split_layout(out)))}")
    if hand is None:
        return
    pg, ctx, sample, hand_out = hand
    mine = [g for g in groups if g["id"] == pg]
    if not c.check(bool(mine), "the hand-uploaded group was deleted by a run"):
        return
    bound = (mine[0]["component"].get("parameterContext") or {}).get("id")
    c.check(bound == ctx, f"the hand-uploaded group's parameter context changed from {ctx} to {bound}")
    try:
        context = nifi.get(f"/parameter-contexts/{ctx}")["component"]
        values = {p["parameter"]["name"]: p["parameter"].get("value") for p in context["parameters"]}
    except NiFiError as e:
        c.check(False, f"the hand-uploaded group's parameter context is gone: {e}")
        return
    c.check(values.get("input.dir") == sample and values.get("output.dir") == hand_out,
            f"a run changed the hand-uploaded group's parameters: {values}")
    invalid = invalid_processors(nifi, pg)
    c.check(not invalid, "the hand-uploaded group is no longer VALID after two runs:\n    " + "\n    ".join(invalid))


def check_collisions(c, port, inst, inp, out):
    """Outputs that collide, and an output directory that cannot be created, end in the quarantine with the
    reason."""
    subprocess.run(["rm", "-rf", inp, out], check=True)
    sample = os.path.join(os.path.dirname(inp), "input")
    # two different real images, same name, label and patient (IM-0300), different input folders
    files = {"train/NORMAL/IM-0300-0001.jpeg": "train/NORMAL/IM-0117-0001.jpeg",
             "test/NORMAL/IM-0300-0001.jpeg": "train/NORMAL/IM-0119-0001.jpeg",
             "val/BLOCKED/IM-0400-0001.jpeg": "val/NORMAL/IM-0121-0001.jpeg"}
    for dst, src in files.items():
        os.makedirs(os.path.dirname(os.path.join(inp, dst)), exist_ok=True)
        shutil.copyfile(os.path.join(sample, src), os.path.join(inp, dst))
    for split in ("train", "validation", "test"):  # a regular file where the label directory would be
        os.makedirs(os.path.join(out, split))
        with open(os.path.join(out, split, "BLOCKED"), "w") as f:
            f.write("not a directory\n")
    run = run_flow(port, inst, inp, out)
    c.check(run.returncode == 0, "medprep_flow.py run on colliding inputs failed")
    outs = npy_files(out)
    c.check([os.path.basename(p) for p in outs] == ["IM-0300-0001.npy"],
            f"colliding inputs: expected one IM-0300-0001.npy, found {[os.path.relpath(p, out) for p in outs]}")
    qdir = os.path.join(out, "quarantine")
    collided = [r for r in ("train/NORMAL/IM-0300-0001.jpeg", "test/NORMAL/IM-0300-0001.jpeg")
                if os.path.exists(os.path.join(qdir, r))]
    expect = {"val/BLOCKED/IM-0400-0001.jpeg": "could not be created or is not writable"}
    if c.check(len(collided) == 1, f"colliding inputs: expected one of the two IM-0300-0001.jpeg quarantined, "
                                   f"found {collided}"):
        expect[collided[0]] = "a file of that name already exists there"
    for rel, words in expect.items():
        q = os.path.join(qdir, rel)
        reason = ""
        if os.path.exists(q + ".reason.txt"):
            with open(q + ".reason.txt") as f:
                reason = f.read()
        c.check(reason.startswith("failure: Write .npy") and words in reason,
                f"quarantine/{rel}.reason.txt should say the .npy {words}: {reason!r}")
        c.check(os.path.exists(q) and filecmp.cmp(q, os.path.join(inp, rel), shallow=False),
                f"quarantine/{rel} is not the input's own bytes")
    print("e2e: collisions: " + "; ".join(f"{k}: {open(os.path.join(qdir, k + '.reason.txt')).read().strip()[:140]}"
                                          for k in sorted(expect) if os.path.exists(os.path.join(qdir, k + ".reason.txt"))),
          flush=True)


def check_outputs(c, sample, out, seed):
    with open(os.path.join(out, "summary.json")) as f:
        summary = json.load(f)
    n_in = summary["inputs"]
    n_out = sum(summary["outputs"].values())
    n_quarantined = sum(summary["quarantined"].values())
    c.check(n_in == n_out + n_quarantined and n_out > 0,
            f"inputs {n_in} != outputs {n_out} + quarantined {n_quarantined}: {summary}")
    c.check(len(npy_files(out)) == n_out, f"{len(npy_files(out))} .npy files on disk, summary says {n_out}")
    c.check(summary["provenance_events"] > 0 and summary["nifi_version"] == "2.3.0", f"summary: {summary}")

    seeded = sh(PYTHON, os.path.join(REPO, "tools", "seed_pipeline.py"), sample, seed, "--salt", SALT,
                stdout=subprocess.DEVNULL, env=dict(os.environ, MEDPREP_PATIENT_KEY_SECRET=SECRET))
    c.check(seeded.returncode == 0, "tools/seed_pipeline.py failed")
    compared = sh(PYTHON, os.path.join(REPO, "tools", "compare_outputs.py"), out, seed, "--splits")
    c.check(compared.returncode == 0, "NiFi outputs differ from the seed pipeline (compare_outputs.py above)")

    ours = {os.path.relpath(p, out) for p in npy_files(out)}
    theirs = {os.path.relpath(p, seed) for p in npy_files(seed)}
    c.check(ours == theirs, f"split/label/name differ from the seed's hash split: only NiFi {sorted(ours - theirs)}, "
                            f"only seed {sorted(theirs - ours)}")

    with open(os.path.join(seed, "seed_report.json")) as f:
        report = json.load(f)
    # the quarantine keeps each input's folder: compare relative paths (input folder + name)
    rejected = sorted(r["file"] for r in report.get("rejected", []))
    qdir = os.path.join(out, "quarantine")
    quarantined, reasons = [], {}
    for d, _, files in os.walk(qdir):
        for name in files:
            rel = os.path.relpath(os.path.join(d, name), qdir)
            if name.endswith(".reason.txt"):
                with open(os.path.join(d, name), errors="replace") as f:
                    reasons[rel[:-len(".reason.txt")]] = f.read().strip()
            elif not name.startswith("."):
                quarantined.append(rel)
    quarantined.sort()
    c.check(quarantined == rejected, f"quarantine {quarantined} != files the seed rejects {rejected}")
    for name in quarantined:
        c.check(bool(reasons.get(name)), f"quarantined {name} has no reason file")
        c.check(filecmp.cmp(os.path.join(qdir, name), os.path.join(sample, name), shallow=False),
                f"quarantine/{name} is not the bytes of the input {name}")
    same_name = [q for q in quarantined if os.path.basename(q) == "IM-0125-0001.jpeg"]
    c.check(len(same_name) == 2, f"two inputs named IM-0125-0001.jpeg in different folders must both be "
                                 f"quarantined, found {same_name}")
    print(f"e2e: {n_in} inputs, {n_out} outputs, {len(quarantined)} quarantined: "
          + "; ".join(f"{k}: {v[:90]}" for k, v in sorted(reasons.items())), flush=True)


def check_lineage(c, nifi, out):
    events = nifi.provenance_query()["provenanceEvents"]
    details_cache = {}
    sends = {}
    for e in events:
        if e["eventType"] == "SEND" and e.get("componentType") == "PutFile":
            # the summarized query leaves out the transit URI: read the whole event
            full = details_cache.setdefault(str(e["id"]), nifi.get(f"/provenance-events/{e['id']}")["provenanceEvent"])
            uri = full.get("transitUri") or ""
            if uri.endswith(".npy"):
                sends[os.path.realpath(urllib.parse.unquote(urllib.parse.urlparse(uri).path))] = e["flowFileUuid"]
    for path in npy_files(out):
        uuid = sends.get(os.path.realpath(path))
        if not c.check(uuid is not None, f"no SEND provenance event for {path}"):
            continue
        nodes = [n for n in nifi.lineage(uuid)["nodes"] if n["type"] == "EVENT"]
        nodes.sort(key=lambda n: (n["millis"], int(n["id"])))
        evs = []
        for n in nodes:
            key = str(n["id"])
            if key not in details_cache:
                details_cache[key] = nifi.get(f"/provenance-events/{n['id']}")["provenanceEvent"]
            evs.append(details_cache[key])
        types = [e["componentType"] for e in evs]
        name = os.path.relpath(path, out)
        c.check(bool(evs) and evs[0]["componentType"] == "ListFile", f"{name}: lineage starts at {types[:1]}")
        sends_at = [i for i, e in enumerate(evs) if e["eventType"] == "SEND"]
        c.check(bool(sends_at) and evs[sends_at[-1]]["componentType"] == "PutFile",
                f"{name}: no PutFile SEND in lineage {types}")
        for proc, count in MEDPREP_STEPS.items():
            mine = [e for e in evs if e["componentType"] == proc]
            c.check(len(mine) == count, f"{name}: {len(mine)} {proc} events in lineage, expected {count}: {types}")
            for e in mine:
                try:
                    step = json.loads(e.get("details") or "")
                except json.JSONDecodeError:
                    step = {}
                c.check(step.get("processor") == proc and isinstance(step.get("parameters"), dict),
                        f"{name}: {proc} event details carry no parameters: {e.get('details')!r}")
                c.check(step.get("version") == BUNDLE_VERSION,
                        f"{name}: {proc} event records version {step.get('version')!r}, not the NAR's {BUNDLE_VERSION}")


def finish(c):
    print(f"e2e: {c.passed} passed, {c.failed} failed", flush=True)
    return 1 if c.failed or not c.passed else 0


if __name__ == "__main__":
    sys.exit(main())
