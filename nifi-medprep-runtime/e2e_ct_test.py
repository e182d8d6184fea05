#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""End-to-end test of the CT flow (flows/medprep/ct.json) on a real NiFi 2.3.0 (run by ./medprep test).

Starts a local NiFi instance, makes a small CT export with tools/make_ct_set.py (generated series with real HU
structure, one with metal and one with a missing slice, plus pydicom's real CT5N, CT2 and CT_small; files shuffled,
random names), uploads the committed flow by hand (NiFi's download must equal the file; every processor VALID),
runs it with medprep_flow.py and checks, against ct_reference.py (pydicom + numpy + scipy) and dcm2niix:
  - every input file is in an output volume (by merge.count in its sidecar) or in the quarantine with a reason;
  - one output per valid series, named by the series pseudonym (HMAC of the SeriesInstanceUID), with a JSON sidecar
    that holds the medprep.* attributes and no patient name, PatientID or UID of the input;
  - each output opens in nibabel; its voxels equal clip(HU, -1000, 1000), smoothed on the axes whose spacing grows
    (scipy gaussian_filter1d, sigma (s'/s - 1)/2) and resampled to 1 mm by scipy's cubic B-spline
    (map_coordinates order 3, mirror) within 1e-3 of the HU range; the 8 outer corners of its extent are
    within half an output voxel of those of dcm2niix's volume for the same series;
  - metal voxels and 26-connected regions in the sidecar equal scipy.ndimage.label on HU > 3000;
  - the series the generator's manifest marks invalid (a missing slice; CT_small, one slice, below Minimum Slices)
    are refused with the manifest's reason, and their slices are in the quarantine under their input folders, byte
    for byte;
  - a patient's series share one split;
  - for every output NiFi's provenance lineage holds the ListFile events of all its slices, MergeContent's JOIN
    and one event per medprep step (ValidateImage for the series, ClipHU, ResampleSpacing, SplitByPatient) with
    its parameters, ending in PutFile's SEND.
usage: e2e_ct_test.py [--port 18090] [--work DIR]
"""
import argparse
import filecmp
import glob
import hashlib
import hmac
import json
import os
import subprocess
import sys
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import numpy as np  # noqa: E402
import nibabel as nib  # noqa: E402
import pydicom  # noqa: E402
import ct_reference as ref  # noqa: E402
from medprep_flow import NiFi, NiFiError, upload, invalid_processors, SECRET_ENV  # noqa: E402
from e2e_test import Checks, sh, clear_instance, check_canonical, finish, BUNDLE_VERSION, PYTHON  # noqa: E402

FLOW = os.path.join(REPO, "flows", "medprep", "ct.json")
SECRET = "e2e-ct-patient-key-secret-0123456789"
SALT = "e2e-salt"
HU_MIN, HU_MAX = -1000.0, 1000.0
TARGET = (1.0, 1.0, 1.0)
SERIES_STEPS = {"ClipHU": 1, "ResampleSpacing": 1, "SplitByPatient": 1}


def key(text):
    return hmac.new(SECRET.encode(), text.encode(), hashlib.sha256).hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=int(os.environ.get("MEDPREP_E2E_PORT", "18090")))
    ap.add_argument("--work", default=os.path.join(REPO, "work", "e2e-ct"))
    args = ap.parse_args()
    work = os.path.abspath(args.work)
    inst, inp, out = os.path.join(work, "nifi"), os.path.join(work, "input"), os.path.join(work, "output")
    subprocess.run(["rm", "-rf", inp, out, os.path.join(work, "dcm2niix")], check=True)
    os.makedirs(work, exist_ok=True)
    c = Checks()
    ctl = os.path.join(HERE, "nifi-ctl")
    if not c.check(sh(ctl, "start", inst, str(args.port), env=dict(os.environ, NIFI_START_TIMEOUT="120")).returncode == 0,
                   "NiFi did not answer within 120 s (log tail above)"):
        return finish(c)
    try:
        nifi = NiFi(f"http://127.0.0.1:{args.port}")
        clear_instance(nifi)
        sh(PYTHON, os.path.join(REPO, "tools", "make_ct_set.py"), "--small", "--with-real", inp, check=True,
           stdout=subprocess.DEVNULL)
        upload_by_hand(c, nifi, inp, os.path.join(work, "hand-output"))
        run = sh(PYTHON, os.path.join(HERE, "medprep_flow.py"), "run", "--nifi", f"http://127.0.0.1:{args.port}",
                 "--flow", FLOW, "--input", inp, "--output", out, "--param", f"split.salt={SALT}",
                 "--nifi-dir", inst, env=dict(os.environ, **{SECRET_ENV: SECRET}))
        c.check(run.returncode == 0, "medprep_flow.py run of the ct flow failed: a file is unaccounted for or NiFi failed")
        expected = check_outputs(c, inp, out, os.path.join(work, "dcm2niix"))
        check_lineage(c, nifi, out, expected)
    finally:
        sh(ctl, "stop", inst)
    return finish(c)


def upload_by_hand(c, nifi, inp, hand_out):
    try:
        entity = upload(nifi, FLOW, "ct")
        pg, ctx = entity["id"], entity["component"]["parameterContext"]["id"]
        check_canonical(c, nifi.get(f"/process-groups/{pg}/download"), FLOW)
        nifi.update_parameters(ctx, {"input.dir": inp, "output.dir": hand_out, "patient.key.secret": SECRET},
                               sensitive={"patient.key.secret"})
        invalid = invalid_processors(nifi, pg)
    except (NiFiError, KeyError, TypeError) as e:
        c.check(False, f"the committed flows/medprep/ct.json could not be uploaded to NiFi: {e}")
        return
    c.check(not invalid, "the committed flows/medprep/ct.json does not load as a valid flow:\n    " + "\n    ".join(invalid))


def input_files(root):
    return sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs if not f.startswith("."))


def check_outputs(c, inp, out, conv_dir):
    """Returns {output path: (series uid, slice count)} for the lineage check. What each series should become is
    in the generator's manifest (written next to the input folder), with the exact reason for a refused one."""
    with open(inp.rstrip("/") + ".manifest.json") as f:
        manifest = {m["series_uid"]: m for m in json.load(f)["series"]}
    files = input_files(inp)
    series = ref.read_series(files)
    c.check(set(series) == set(manifest), f"pydicom finds series {sorted(series)}, the manifest {sorted(manifest)}")
    with open(os.path.join(out, "summary.json")) as f:
        summary = json.load(f)
    c.check(summary.get("inputs") == len(files), f"summary.json inputs {summary.get('inputs')} != {len(files)} files")
    outputs = {os.path.basename(p)[:-len(".nii.gz")]: p for p in glob.glob(os.path.join(out, "*", "*.nii.gz"))}
    c.check(sum(summary["outputs"].values()) == len(outputs), f"summary.json outputs {summary['outputs']} != "
                                                              f"{len(outputs)} volumes on disk")
    c.check(len(outputs) == sum(1 for m in manifest.values() if m["expected"] == "valid"),
            f"{len(outputs)} volumes, the manifest expects {sum(1 for m in manifest.values() if m['expected'] == 'valid')}")
    expected, split_of_patient = {}, {}
    raw_ids = set()
    for slices in series.values():
        raw_ids |= {str(slices[0].SeriesInstanceUID), str(slices[0].StudyInstanceUID),
                    str(slices[0].get("PatientID", "")), str(slices[0].get("PatientName", ""))}
    for uid, slices in series.items():
        slices, along = ref.sort_slices(slices)
        m = manifest.get(uid, {})
        name = key("SeriesInstanceUID:" + uid)
        where = f"series {name[:12]} ({m.get('description')}, {len(slices)} slices)"
        if m.get("expected") != "valid":
            c.check(name not in outputs, f"{where} should be refused but has an output")
            check_refused_series(c, inp, out, slices, where, m.get("expected_reason") or "")
            continue
        if not c.check(name in outputs, f"{where}: no output {name}.nii.gz"):
            continue
        path = outputs[name]
        expected[path] = (uid, len(slices))
        with open(path[:-len(".nii.gz")] + ".json") as f:
            sidecar_text = f.read()
        sidecar = json.loads(sidecar_text)
        c.check(int(sidecar.get("merge.count", -1)) == len(slices),
                f"{where}: sidecar merge.count {sidecar.get('merge.count')} != {len(slices)} slices")
        leaked = [r for r in raw_ids if len(r) > 3 and r in sidecar_text]
        c.check(not leaked, f"{where}: the sidecar holds input identifiers {leaked}")
        steps = [h.get("processor") for h in sidecar.get("medprep.history") or []]
        c.check(steps[-4:] == ["ValidateImage", "ClipHU", "ResampleSpacing", "SplitByPatient"],
                f"{where}: sidecar medprep.history ends {steps[-4:]}")
        split = os.path.basename(os.path.dirname(path))
        patient = sidecar.get("medprep.patient.key")
        c.check(patient == key(str(slices[0].PatientID)), f"{where}: patient key is not the HMAC of its PatientID")
        c.check(split_of_patient.setdefault(patient, split) == split,
                f"{where}: patient {str(patient)[:12]} has series in {split} and {split_of_patient[patient]}")
        hu = ref.hounsfield(slices)
        voxels, regions = ref.metal(hu)
        c.check((int(sidecar.get("medprep.metal.voxels", -1)), int(sidecar.get("medprep.metal.regions", -1)))
                == (voxels, regions), f"{where}: metal {sidecar.get('medprep.metal.voxels')} voxels / "
                                      f"{sidecar.get('medprep.metal.regions')} regions, scipy says {voxels} / {regions}")
        c.check((voxels > 0) == bool(m.get("metal")), f"{where}: {voxels} metal voxels, manifest metal={m.get('metal')}")
        sp = ref.spacing(slices, along)
        want = ref.resample(np.clip(hu, HU_MIN, HU_MAX), sp, TARGET)  # (z, y, x)
        img = nib.load(path)
        got = np.asarray(img.dataobj, dtype=np.float64).transpose(2, 1, 0)  # NIfTI (x, y, z) -> (z, y, x)
        if c.check(got.shape == want.shape, f"{where}: shape {got.shape[::-1]} (x, y, z), scipy {want.shape[::-1]}"):
            err = float(np.max(np.abs(got - want)))
            c.check(err <= 1e-3 * (HU_MAX - HU_MIN), f"{where}: max |ours - scipy B-spline| = {err:.4g} HU "
                                                     f"> 1e-3 of the range")
            print(f"e2e-ct: {where}: {got.shape[::-1]} voxels, max |ours - scipy| {err:.3g} HU, metal "
                  f"{voxels} voxels / {regions} regions ({sidecar.get('medprep.metal.severity')})", flush=True)
        check_geometry(c, slices, img, conv_dir, name, where)
    return expected


def check_geometry(c, slices, img, conv_dir, name, where):
    """dcm2niix converts the same slices; the outer corners of the two extents must agree within half an output
    voxel (the resampled extent ends within s'/2 of the original end; its start is kept exactly)."""
    d = os.path.join(conv_dir, name[:12])
    os.makedirs(os.path.join(d, "in"), exist_ok=True)
    for i, s in enumerate(slices):  # InstanceNumber in position order: dcm2niix orders by it and skips otherwise
        ds = pydicom.dcmread(s.filename)
        ds.InstanceNumber = i + 1
        ds.save_as(os.path.join(d, "in", f"{i:04d}.dcm"))
    r = subprocess.run(["dcm2niix", "-z", "n", "-b", "n", "-f", "ref", "-o", d, os.path.join(d, "in")],
                       capture_output=True, text=True)
    conv = sorted(glob.glob(os.path.join(d, "ref*.nii")))
    if not c.check(r.returncode == 0 and len(conv) == 1, f"{where}: dcm2niix made {conv}: {r.stdout[-300:]}"):
        return
    theirs = nib.load(conv[0])
    a = ref.extent_corners(img.affine, img.shape[:3])
    b = ref.extent_corners(theirs.affine, theirs.shape[:3])
    dist = max(ref.corner_distance(a, b), ref.corner_distance(b, a))
    # per axis of our grid: every corner within half an output voxel of dcm2niix's along each axis
    off = max(ref.corner_offsets(a, b, img.affine).max(), ref.corner_offsets(b, a, img.affine).max())
    c.check(off <= 0.5 + 1e-3 / min(img.header.get_zooms()[:3]),
            f"{where}: extent corners {off:.3f} output voxels from dcm2niix's along an axis (allowed 0.5); "
            f"{dist:.4f} mm apart")
    print(f"e2e-ct: {where}: extent corners within {off:.3f} output voxels per axis ({dist:.4f} mm) of dcm2niix's",
          flush=True)


def check_refused_series(c, inp, out, slices, where, reason):
    q = os.path.join(out, "quarantine")
    reasons = []
    for s in slices:
        rel = os.path.relpath(s.filename, inp)
        qp = os.path.join(q, rel)
        ok = c.check(os.path.isfile(qp) and filecmp.cmp(qp, s.filename, shallow=False),
                     f"{where}: slice {rel} is not in the quarantine as its own bytes")
        if ok and c.check(os.path.isfile(qp + ".reason.txt"), f"{where}: no reason file for {rel}"):
            with open(qp + ".reason.txt") as f:
                reasons.append(f.read().strip())
    if reasons:
        c.check(all(reason in r for r in reasons), f"{where}: reasons do not hold the manifest's {reason!r}: {reasons[:1]}")
        print(f"e2e-ct: {where}: refused: {reasons[0][:200]}", flush=True)


class Provenance:
    """Provenance events of a NiFi, read once each, and the whole lineage of a FlowFile."""

    def __init__(self, nifi):
        self.nifi, self.cache = nifi, {}

    def event(self, ev_id):
        k = str(ev_id)
        if k not in self.cache:
            self.cache[k] = self.nifi.get(f"/provenance-events/{ev_id}")["provenanceEvent"]
        return self.cache[k]

    def sends(self, suffix):
        """{written file's real path: FlowFile uuid} of PutFile's SEND events for files ending in suffix."""
        out = {}
        for e in self.nifi.provenance_query()["provenanceEvents"]:
            if e["eventType"] == "SEND" and e.get("componentType") == "PutFile":
                uri = self.event(e["id"]).get("transitUri") or ""
                if uri.endswith(suffix):
                    out[os.path.realpath(urllib.parse.unquote(urllib.parse.urlparse(uri).path))] = e["flowFileUuid"]
        return out

    # NiFi computes a lineage over at most 100 FlowFiles ("Cannot compute lineage for more than 100 FlowFiles"), in
    # the REST API as in the UI: the parents of a JOIN of more slices are read one by one, a spread sample of them.
    LINEAGE_LIMIT, SAMPLE = 100, 8

    def lineage(self, uuid):
        """Every event behind a FlowFile. Its own lineage stops where it was made from others: at MergeContent's
        JOIN (the slices) and, when the written volume is the copy made for the sidecar branch, at the CLONE; parents
        are expanded until none is left, as a user clicking "Find parents" in the UI would. For a JOIN of more than
        NiFi's 100-FlowFile lineage limit, SAMPLE parents spread over the list are expanded one by one."""
        ids = {x["id"] for x in self.nifi.lineage(uuid)["nodes"] if x["type"] == "EVENT"}
        expanded = set()
        while True:
            todo = [i for i in ids if i not in expanded and self.event(i)["eventType"] in ("JOIN", "CLONE", "FORK")]
            if not todo:
                return [self.event(i) for i in ids]
            for i in todo:
                expanded.add(i)
                parents = self.event(i).get("parentUuids") or []
                if len(parents) <= self.LINEAGE_LIMIT:
                    ids |= {x["id"] for x in self.nifi.parents(i)["nodes"] if x["type"] == "EVENT"}
                    continue
                step = max(1, (len(parents) - 1) // (self.SAMPLE - 1))
                for p in sorted(parents)[::step][:self.SAMPLE - 1] + [sorted(parents)[-1]]:
                    ids |= {x["id"] for x in self.nifi.lineage(p)["nodes"] if x["type"] == "EVENT"}


def check_steps(c, name, evs, steps):
    """Exactly `count` events of each medprep processor, each carrying its step JSON with parameters and version."""
    for proc, count in steps.items():
        mine = [e for e in evs if e["componentType"] == proc]
        c.check(len(mine) == count, f"{name}: {len(mine)} {proc} events in lineage, expected {count}")
        for e in mine:
            try:
                step = json.loads(e.get("details") or "")
            except json.JSONDecodeError:
                step = {}
            c.check(step.get("processor") == proc and isinstance(step.get("parameters"), dict)
                    and step.get("version") == BUNDLE_VERSION,
                    f"{name}: {proc} event details lack processor/parameters/version: {e.get('details')!r}")
    c.check(any(e["eventType"] == "SEND" and e["componentType"] == "PutFile" for e in evs),
            f"{name}: no PutFile SEND in its lineage")


def check_lineage(c, nifi, out, expected):
    prov = Provenance(nifi)
    sends = prov.sends(".nii.gz")
    for path, (uid, n) in expected.items():
        name = os.path.relpath(path, out)
        uuid = sends.get(os.path.realpath(path))
        if not c.check(uuid is not None, f"no SEND provenance event for {name}"):
            continue
        evs = prov.lineage(uuid)
        types = [e["componentType"] for e in evs]
        lists = sum(1 for e in evs if e["componentType"] == "ListFile")
        c.check(lists == n, f"{name}: {lists} ListFile events in its lineage, expected one per slice ({n})")
        c.check(sum(1 for e in evs if e["eventType"] == "JOIN" and e["componentType"] == "MergeContent") == 1,
                f"{name}: no single MergeContent JOIN in its lineage: {sorted(set(types))}")
        c.check(types.count("ValidateImage") == n + 1,
                f"{name}: {types.count('ValidateImage')} ValidateImage events, expected {n} slices + 1 series")
        check_steps(c, name, evs, SERIES_STEPS)


if __name__ == "__main__":
    sys.exit(main())
