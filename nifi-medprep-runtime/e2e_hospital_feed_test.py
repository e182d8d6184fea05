#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""End-to-end test of the hospital-feed flow (flows/medprep/hospital-feed.json) in the real NiFi 2.3.0 of this
module, as ./medprep run --flow hospital-feed runs it. Run by ./medprep test.

On a temporary clone of this repository (branch medprep-flows made as ./medprep run makes it), with the mixed
DICOM input of tools/make_feed_set.py (real CR, CT, MR from Debian packages, DX radiographs projected from a real
MR volume, and four instances the feed itself must refuse), medprep_flow.py run --flow hospital-feed imports the
flow under version control, starts it and sends every file with dcmtk's storescu to its ListenDICOM. Then:
  - every file was sent and acknowledged, and NiFi recorded one RECEIVE event per instance (summary.json);
  - received/<modality>/ holds each valid instance once, its SOP Instance UID and pixels (pydicom) those sent;
  - routing: each manifest item is accounted for in the group the manifest names (chest-xray, ct, mri, or the feed
    itself), its quarantined files carry the manifest's reason; NM and OT end in the feed's quarantine with
    "modality X has no route";
  - the chest-xray outputs equal tools/seed_pipeline.py's (the Python reference: pydicom, OpenCV) on the DX inputs,
    the two radiographs of one patient in one split; the CT and MR series are each one volume of all their slices
    (merge.count), 1 mm voxels (nibabel), the MR volume 181 x 217 x 181;
  - the feed group and its three modality groups are under version control, UP_TO_DATE, the children at the latest
    commit of their files;
  - no PatientID or PatientName of the input appears in a file name, sidecar, reason, summary or NiFi's log.

usage: e2e_hospital_feed_test.py [--port 18160] [--dicom-port 11160] [--work DIR]
"""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "tools"))
from medprep_flow import NiFi, SECRET_ENV  # noqa: E402
from e2e_test import Checks, sh, finish, PYTHON  # noqa: E402
from e2e_gitreg_test import git, vci, wait_state  # noqa: E402

CTL = os.path.join(HERE, "nifi-ctl")
BRANCH = "medprep-flows"
FEED = "flows/medprep/hospital-feed.json"
CHILDREN = ("chest-xray", "ct", "mri")
# seed_pipeline's bound for a 16-bit input (compare_outputs.py): one 8-bit step after the z-score
MAX_DIFF = (1 / 255) / 0.236 + 1e-5


def dicom(path):
    import pydicom
    return pydicom.dcmread(path)


def files_under(root, pattern="*"):
    return sorted(p for p in glob.glob(os.path.join(root, "**", pattern), recursive=True) if os.path.isfile(p))


def same_pixels(a, b):
    """The same stored data: equal PixelData bytes in the same transfer syntax, else equal decoded arrays."""
    if a.file_meta.TransferSyntaxUID == b.file_meta.TransferSyntaxUID:
        return a.PixelData == b.PixelData
    return np.array_equal(a.pixel_array, b.pixel_array)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=int(os.environ.get("MEDPREP_E2E_FEED_PORT", "18160")))
    ap.add_argument("--dicom-port", type=int, default=int(os.environ.get("MEDPREP_E2E_FEED_DICOM_PORT", "11160")))
    ap.add_argument("--work", default=os.path.join(REPO, "work", "e2e-feed"))
    args = ap.parse_args()
    work = os.path.abspath(args.work)
    if os.path.isdir(work):
        shutil.rmtree(work)
    os.makedirs(work)
    inst, clone = os.path.join(work, "nifi"), os.path.join(work, "clone")
    inp, out = os.path.join(work, "input"), os.path.join(work, "output")
    manifest_path = os.path.join(work, "input.manifest.json")
    c = Checks()

    sh("git", "clone", "-q", "--no-hardlinks", REPO, clone, check=True)
    git(clone, "branch", BRANCH, "HEAD")
    gitdir = os.path.join(clone, ".git")
    sh(PYTHON, os.path.join(REPO, "tools", "make_feed_set.py"), inp, "--manifest", manifest_path, check=True,
       stdout=subprocess.DEVNULL)
    with open(manifest_path) as f:
        manifest = json.load(f)

    if not c.check(sh(CTL, "start", inst, str(args.port), env=dict(os.environ, NIFI_START_TIMEOUT="120"))
                   .returncode == 0, "NiFi did not start"):
        return finish(c)
    try:
        nifi = NiFi(f"http://127.0.0.1:{args.port}")
        env = dict(os.environ, **{SECRET_ENV: os.urandom(32).hex()})
        run = sh(PYTHON, os.path.join(HERE, "medprep_flow.py"), "run", "--nifi", f"http://127.0.0.1:{args.port}",
                 "--flow", os.path.join(REPO, FEED), "--input", inp, "--output", out, "--nifi-dir", inst,
                 "--registry-repo", gitdir, "--registry-branch", BRANCH, "--dicom-port", str(args.dicom_port),
                 "--timeout", "900", env=env, capture_output=True, text=True)
        print(run.stdout[-4000:], run.stderr[-2000:], flush=True)
        if not c.check(run.returncode == 0, "medprep_flow.py run --flow hospital-feed failed"):
            return finish(c)
        with open(os.path.join(out, "summary.json")) as f:
            summary = json.load(f)
        # every input file read once with pydicom: {path relative to the input: dataset}
        inputs = {rel: dicom(os.path.join(manifest["input_dir"], rel)) for i in manifest["items"] for rel in i["files"]}
        check_counts(c, manifest, summary)
        check_received(c, manifest, inputs, out)
        check_routing(c, manifest, inputs, out)
        check_chest_outputs(c, manifest, inputs, out)
        check_volumes(c, manifest, out)
        check_version_control(c, nifi, inst, gitdir)
        check_no_phi(c, inputs, out, inst)
    finally:
        sh(CTL, "stop", inst)
    return finish(c)


def check_counts(c, manifest, summary):
    n = manifest["files"]
    c.check(summary.get("inputs_sent") == n and summary.get("inputs_not_sent") == {},
            f"{n} files to send, summary: sent {summary.get('inputs_sent')}, not sent {summary.get('inputs_not_sent')}")
    c.check(summary.get("instances_received") == n,
            f"{n} instances sent, {summary.get('instances_received')} RECEIVE events")
    want = {}
    for item in manifest["items"]:
        want[item["group"]] = want.get(item["group"], 0) + len(item["files"])
    got = {g: v["inputs_accounted"] for g, v in summary.get("by_group", {}).items()}
    c.check(got == want, f"inputs accounted per group {got}, the manifest routes {want}")
    print(f"feed: {n} sent, {summary.get('instances_received')} received, per group {got}", flush=True)


def check_received(c, manifest, inputs, out):
    """Every instance the feed's validation accepts is kept once under received/<Modality>/, as it was sent."""
    sent = {}
    for item in manifest["items"]:
        for rel in item["files"]:
            sent[str(inputs[rel].SOPInstanceUID)] = (item, inputs[rel])
    received = files_under(os.path.join(out, "received"), "*.dcm")
    by_uid = {}
    for p in received:
        ds = dicom(p)
        by_uid.setdefault(str(ds.SOPInstanceUID), []).append((p, ds))
    refused_by_feed = {str(inputs[rel].SOPInstanceUID)
                       for item in manifest["items"] if item["group"] == "hospital-feed" and "no route" not in item["reason"]
                       for rel in item["files"]}
    c.check(set(by_uid) == set(sent) - refused_by_feed,
            f"received/ holds {len(by_uid)} distinct instances, {len(set(sent) - refused_by_feed)} expected; missing "
            f"{sorted(set(sent) - refused_by_feed - set(by_uid))[:3]}, extra {sorted(set(by_uid) - set(sent))[:3]}")
    dup = [u for u, v in by_uid.items() if len(v) > 1]
    c.check(not dup, f"instances received more than once: {dup[:3]}")
    bad = []
    for uid, copies in by_uid.items():
        if uid not in sent:
            continue
        item, src = sent[uid]
        p, ds = copies[0]
        folder = os.path.basename(os.path.dirname(p))
        if folder != src.Modality or not same_pixels(src, ds):
            bad.append(f"{os.path.relpath(p, out)} (sent as {item['modality']})")
    c.check(not bad, f"received instances not in received/<Modality>/ or with other pixels than sent: {bad[:5]}")
    print(f"feed: received/ {len(received)} instances checked against the sent files with pydicom", flush=True)


def quarantined_by_uid(area):
    """{SOP Instance UID: reason text} of the DICOM originals in an area's quarantine (not its subgroups')."""
    found = {}
    qdir = os.path.join(area, "quarantine")
    for p in files_under(qdir):
        if p.endswith(".reason.txt") or p.endswith(".json"):
            continue
        try:
            uid = str(dicom(p).SOPInstanceUID)
        except Exception:  # noqa: BLE001 - a non-DICOM item, not ours to match
            continue
        found[uid] = None
        if os.path.exists(p + ".reason.txt"):
            with open(p + ".reason.txt") as f:
                found[uid] = f.read().strip()
    return found


def check_routing(c, manifest, inputs, out):
    areas = {"hospital-feed": out, **{g: os.path.join(out, g) for g in CHILDREN}}
    quarantine = {g: quarantined_by_uid(a) for g, a in areas.items()}
    for item in manifest["items"]:
        if item["expected"] != "quarantined":
            continue
        uids = [str(inputs[rel].SOPInstanceUID) for rel in item["files"]]
        here = quarantine[item["group"]]
        wrong = [u for u in uids if u not in here or not here[u] or item["reason"] not in here[u]]
        c.check(not wrong, f"{item['modality']} {item['files'][0]}: expected quarantined by {item['group']} with "
                           f"'{item['reason']}', found {[here.get(u) for u in wrong][:2]}")
        elsewhere = [g for g, q in quarantine.items() if g != item["group"] and any(u in q for u in uids)]
        c.check(not elsewhere, f"{item['files'][0]} also quarantined by {elsewhere}")
    print("feed: quarantine reasons per group: " + "; ".join(
        f"{g} {len(q)}" for g, q in quarantine.items()), flush=True)


def check_chest_outputs(c, manifest, inputs, out):
    from seed_pipeline import process
    items = [i for i in manifest["items"] if i["group"] == "chest-xray" and i["expected"] == "outputs"]
    npys = files_under(os.path.join(out, "chest-xray"), "*.npy")
    want = sum(i["outputs"] for i in items)
    c.check(len(npys) == want, f"chest-xray wrote {len(npys)} .npy files, {want} expected")
    arrays = {p: np.load(p) for p in npys}
    c.check(all(a.shape == (224, 224) and a.dtype == np.float32 for a in arrays.values()),
            f"chest-xray outputs not 224 x 224 float32: {[(a.shape, a.dtype) for a in arrays.values()]}")
    split_of_patient = {}
    for item in items:
        for rel in item["files"]:
            path = os.path.join(manifest["input_dir"], rel)
            ref, _ = process(path)
            diffs = {p: float(np.max(np.abs(a - ref))) for p, a in arrays.items() if a.shape == ref.shape}
            best = min(diffs, key=diffs.get) if diffs else None
            ok = best is not None and diffs[best] <= MAX_DIFF
            c.check(ok, f"{rel}: no chest-xray output within {MAX_DIFF:.4f} of seed_pipeline.py's "
                        f"(closest {diffs.get(best)})")
            if ok:
                print(f"feed: {rel} = {os.path.relpath(best, out)} (max |diff| {diffs[best]:.2e})", flush=True)
                arrays.pop(best)
                split = os.path.relpath(best, os.path.join(out, "chest-xray")).split(os.sep)[0]
                split_of_patient.setdefault(str(inputs[rel].PatientID), set()).add(split)
    c.check(all(len(s) == 1 for s in split_of_patient.values()),
            f"a patient's radiographs in two splits: {split_of_patient}")


def check_volumes(c, manifest, out):
    import nibabel as nib
    for group in ("ct", "mri"):
        items = [i for i in manifest["items"] if i["group"] == group and i["expected"] == "outputs"]
        vols = files_under(os.path.join(out, group), "*.nii.gz")
        vols = [v for v in vols if "/quarantine/" not in v]
        c.check(len(vols) == sum(i["outputs"] for i in items), f"{group}: {len(vols)} volumes written")
        for v in vols:
            with open(v[:-len(".nii.gz")] + ".json") as f:
                sidecar = json.load(f)
            slices = int(sidecar.get("merge.count", 0))
            c.check(slices in {len(i["files"]) for i in items},
                    f"{group}: {os.path.basename(v)} merged {slices} slices, the series have "
                    f"{[len(i['files']) for i in items]}")
            img = nib.load(v)
            c.check(np.allclose(img.header.get_zooms()[:3], (1, 1, 1)), f"{group}: voxel size {img.header.get_zooms()}")
            if group == "mri":
                c.check(img.shape[:3] == (181, 217, 181), f"mri: volume shape {img.shape}, Colin27's is 181 x 217 x 181")
            print(f"feed: {group} volume of {slices} slices, shape {img.shape}", flush=True)


def check_version_control(c, nifi, inst, gitdir):
    with open(os.path.join(inst, "medprep-run.json")) as f:
        pg = json.load(f)["groups"]["hospital-feed"]
    info = vci(nifi, pg)["versionControlInformation"]
    c.check(info["flowId"] == "hospital-feed" and info["version"] == git(gitdir, "log", "-1", "--format=%H", BRANCH,
                                                                           "--", FEED),
            f"the feed group's version control: {info}")
    # UP_TO_DATE with no local modifications: NiFi found the group equal to the committed hospital-feed.json (the
    # registry's form of it: children as coordinates; a download would inline the children's contents instead)
    c.check(wait_state(nifi, pg, "UP_TO_DATE") == "UP_TO_DATE", "the feed group is not UP_TO_DATE after the run")
    mods = nifi.get(f"/process-groups/{pg}/local-modifications")["componentDifferences"]
    c.check(not mods, f"the feed group differs from the committed file: {json.dumps(mods)[:600]}")
    children = {}
    for child in nifi.child_groups(pg):
        ci = (child["component"].get("versionControlInformation") or {})
        children[ci.get("flowId")] = child["id"], ci.get("version")
    c.check(sorted(children) == sorted(CHILDREN), f"the feed's versioned modality groups: {sorted(children)}")
    for flow, (gid, version) in children.items():
        rel = f"flows/medprep/{flow}.json"
        latest = git(gitdir, "log", "-1", "--format=%H", BRANCH, "--", rel)
        c.check(version == latest, f"modality group {flow} at version {version}, the latest commit of {rel} is {latest}")
        c.check(wait_state(nifi, gid, "UP_TO_DATE") == "UP_TO_DATE", f"modality group {flow} is not UP_TO_DATE")


def check_no_phi(c, inputs, out, inst):
    """No PatientID or PatientName of the input in names, sidecars, reasons, summary or NiFi's log (the DICOM files
    kept under received/ and quarantine/ are the instances as sent, identity included: not searched)."""
    values = set()
    for ds in inputs.values():
        for kw in ("PatientID", "PatientName"):
            v = str(ds.get(kw, "") or "").strip()
            if len(v) >= 3:
                values.add(v)
                values.update(part for part in v.split("^") if len(part) >= 4)
    hits = []
    texts = [p for p in files_under(out) if p.endswith((".json", ".txt"))]
    texts += files_under(os.path.join(inst, "logs"), "nifi-app*.log")
    for p in files_under(out):
        hits += [f"file name {os.path.relpath(p, out)}: {v}" for v in values if v in os.path.relpath(p, out)]
    for p in texts:
        with open(p, errors="replace") as f:
            text = f.read()
        hits += [f"{os.path.relpath(p, os.path.dirname(out))}: {v}" for v in values if v in text]
    c.check(not hits, f"patient identity found: {hits[:5]}")
    print(f"feed: {len(values)} identifying values searched in {len(texts)} text files and every name: "
          f"{len(hits)} hits", flush=True)


if __name__ == "__main__":
    sys.exit(main())
