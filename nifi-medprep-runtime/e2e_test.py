#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""End-to-end test of the chest X-ray flow on a real NiFi 2.3.0 (run by ./medprep test).

Starts a local NiFi from nifi-medprep-runtime/target/nifi-2.3.0 (failing with its log tail if REST does not answer
within 120 s), makes the sample set (real images from Debian packages in the Kaggle layout, plus corrupt files),
runs flows/medprep/chest-xray.json over it with medprep_flow.py, then checks:
  - inputs = outputs + quarantined, per summary.json and per files on disk;
  - every .npy is 224 x 224 float32 and equals the seed pipeline in Python + OpenCV (tools/seed_pipeline.py) on the
    same files (>= 99.9 % identical, max one 8-bit step / std): tools/compare_outputs.py;
  - each output sits in the split folder the seed's hash gives, and no patient is in two splits;
  - the quarantine holds exactly the files the seed rejects, each with a non-empty reason file;
  - for every output file NiFi's provenance API gives a lineage from its first event (ListFile) to its last
    (PutFile's SEND), with exactly one event per medprep processor in between whose details carry its parameters.
Prints one line per failed check and 'e2e: N passed, M failed'; exits 1 on any failure.

usage: e2e_test.py [--port 18090] [--work DIR]
"""
import argparse
import json
import os
import subprocess
import sys
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from medprep_flow import NiFi  # noqa: E402

PYTHON = "/usr/bin/python3"
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
    subprocess.run(["rm", "-rf", sample, out, seed], check=True)
    os.makedirs(work, exist_ok=True)
    c = Checks()
    ctl = os.path.join(HERE, "nifi-ctl")
    env = dict(os.environ, NIFI_START_TIMEOUT="120")
    if not c.check(sh(ctl, "start", inst, str(args.port), env=env).returncode == 0,
                   "NiFi did not answer within 120 s (log tail above)"):
        return finish(c)
    try:
        sh(PYTHON, os.path.join(REPO, "tools", "make_sample_set.py"), sample, check=True,
           stdout=subprocess.DEVNULL)
        run = sh(PYTHON, os.path.join(HERE, "medprep_flow.py"), "run", "--nifi", f"http://127.0.0.1:{args.port}",
                 "--flow", os.path.join(REPO, "flows", "medprep", "chest-xray.json"), "--input", sample,
                 "--output", out, "--secret", SECRET, "--param", f"split.salt={SALT}", "--nifi-dir", inst)
        c.check(run.returncode == 0, "medprep_flow.py run failed: a file is unaccounted for or NiFi failed")
        check_outputs(c, sample, out, seed)
        check_lineage(c, NiFi(f"http://127.0.0.1:{args.port}"), out)
    finally:
        sh(ctl, "stop", inst)
    return finish(c)


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

    seeded = sh(PYTHON, os.path.join(REPO, "tools", "seed_pipeline.py"), sample, seed, "--secret", SECRET,
                "--salt", SALT, stdout=subprocess.DEVNULL)
    c.check(seeded.returncode == 0, "tools/seed_pipeline.py failed")
    compared = sh(PYTHON, os.path.join(REPO, "tools", "compare_outputs.py"), out, seed, "--splits")
    c.check(compared.returncode == 0, "NiFi outputs differ from the seed pipeline (compare_outputs.py above)")

    ours = {os.path.relpath(p, out) for p in npy_files(out)}
    theirs = {os.path.relpath(p, seed) for p in npy_files(seed)}
    c.check(ours == theirs, f"split/label/name differ from the seed's hash split: only NiFi {sorted(ours - theirs)}, "
                            f"only seed {sorted(theirs - ours)}")

    with open(os.path.join(seed, "seed_report.json")) as f:
        report = json.load(f)
    rejected = sorted(os.path.basename(r["file"]) for r in report.get("rejected", []))
    qdir = os.path.join(out, "quarantine")
    quarantined, reasons = [], {}
    for d, _, files in os.walk(qdir):
        for name in files:
            if name.endswith(".reason.txt"):
                with open(os.path.join(d, name), errors="replace") as f:
                    reasons[name[:-len(".reason.txt")]] = f.read().strip()
            else:
                quarantined.append(name)
    quarantined.sort()
    c.check(quarantined == rejected, f"quarantine {quarantined} != files the seed rejects {rejected}")
    for name in quarantined:
        c.check(bool(reasons.get(name)), f"quarantined {name} has no reason file")
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


def finish(c):
    print(f"e2e: {c.passed} passed, {c.failed} failed", flush=True)
    return 1 if c.failed or not c.passed else 0


if __name__ == "__main__":
    sys.exit(main())
