#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Check a finished chest-xray run: check_flow_output.py OUTPUT_DIR [--nifi URL]

- every OUTPUT/{train,validation,test}/<label>/*.npy is a 224 x 224 float32 array (NumPy);
- every quarantined file (OUTPUT/quarantine/<input folder>/<name>) has a non-empty <name>.reason.txt beside it
  starting with "invalid:" or "failure:";
- summary.json agrees with the files;
- with --nifi (the run's group still in NiFi, e.g. after ./medprep run --keep-running): the provenance lineage
  of one output FlowFile has an event of every processor on the main path.
Needs Debian's python3-numpy. Exit 0 when everything holds.
"""
import argparse
import glob
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import medprep_flow as mf  # noqa: E402

MAIN_PATH = ["List input files", "Source name and label", "Fetch input file", "Validate image", "Letterbox 224x224",
             "Median 3", "CLAHE 2.0 8x8", "Scale to [0,1]", "Z-Score", "Split by patient", "Write .npy"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("output")
    ap.add_argument("--nifi")
    ap.add_argument("--flow-name", default="chest-xray")
    args = ap.parse_args()
    import numpy as np
    problems = []
    out = args.output
    npys = sorted(glob.glob(os.path.join(out, "*", "*", "*.npy")))
    for p in npys:
        a = np.load(p)
        if a.shape != (224, 224) or a.dtype != np.float32 or not np.isfinite(a).all():
            problems.append(f"{p}: shape {a.shape}, dtype {a.dtype}")
    print(f"{len(npys)} .npy files checked (224 x 224 float32, finite)")
    originals, _, _ = mf.quarantined(out)
    kinds = {"invalid": 0, "failure": 0}
    for p in originals:
        r = p + ".reason.txt"
        text = open(r).read() if os.path.exists(r) else ""
        kind = text.split(":", 1)[0]
        if kind not in kinds or len(text.strip()) <= len(kind) + 1:
            problems.append(f"{p}: reason file missing or malformed: {text!r}")
        else:
            kinds[kind] += 1
    print(f"{len(originals)} quarantined files with reason files: {kinds}")
    with open(os.path.join(out, "summary.json")) as f:
        summary = json.load(f)
    counted = {s: len(glob.glob(os.path.join(out, s, "*", "*.npy"))) for s in mf.SPLITS}
    if summary["outputs"] != counted or summary["quarantined"] != kinds \
            or summary["inputs"] != sum(counted.values()) + len(originals):
        problems.append(f"summary.json {summary} does not match the files: outputs {counted}, quarantined {kinds}")
    else:
        print("summary.json matches the files")
    if args.nifi and npys:
        nifi = mf.NiFi(args.nifi)
        root = nifi.root_id()
        pg = [g["id"] for g in nifi.get(f"/process-groups/{root}/process-groups")["processGroups"]
              if g["component"]["name"] == mf.run_group_name(args.flow_name)][0]
        procs = {p["id"]: p["component"]["name"] for p in nifi.processors(pg)}
        put = [i for i, n in procs.items() if n == MAIN_PATH[-1]][0]
        send = [e for e in nifi.provenance_query({"ProcessorID": put})["provenanceEvents"] if e["eventType"] == "SEND"]
        ev = send[0]
        lineage = nifi.lineage(ev["flowFileUuid"])
        events = sorted((n for n in lineage["nodes"] if n["type"] == "EVENT"), key=lambda n: (n["millis"], n["id"]))
        seen = []
        for n in events:
            e = nifi.get(f"/provenance-events/{n['id']}")["provenanceEvent"]
            seen.append(e["componentName"])
            print(f"  {e['eventType']:20s} {e['componentName']}")
        name = {a["name"]: a["value"] for a in nifi.get(f"/provenance-events/{ev['id']}")["provenanceEvent"]["attributes"]}
        print(f"lineage of {name.get('medprep.source.name')} (FlowFile {ev['flowFileUuid']}): {len(events)} events")
        missing = [p for p in MAIN_PATH if p not in seen]
        if missing:
            problems.append(f"lineage has no event of {missing}")
    for p in problems:
        print("PROBLEM:", p)
    print("OK" if not problems else f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
