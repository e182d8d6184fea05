#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""End-to-end test of the MRI flow (flows/medprep/mri.json) on a real NiFi 2.3.0 (run by ./medprep test).

Starts a local NiFi instance, makes the flow's default input with tools/make_mr_set.py (real MR from Debian packages:
Colin27 T1 as NIfTI and as a DICOM series, nibabel's anatomical.nii, pydicom's MR700 localizer and MR_small),
uploads the committed flow by hand (NiFi's download must equal the file; every processor VALID), runs it with
medprep_flow.py and checks:
  - every input file is in an output volume (merge.count of its sidecar for a series) or quarantined with a reason;
  - one output per valid item of the manifest, named by its pseudonym: the series key (HMAC of the
    SeriesInstanceUID) for a DICOM series, the SHA-256 of the stored values (nibabel, C order z, y, x) for a NIfTI
    volume; its sidecar holds no input identifier;
  - each output opens in nibabel as float32 at 1 mm, of the size floor(n s / 1 mm + 1/2) per axis, with the outer
    corners of its extent within half an output voxel (per axis) of the input's (nibabel's affine of the NIfTI the
    item was made from);
  - the step list in the sidecar (CorrectBiasField, ResampleSpacing, Normalize WhiteStripe, SplitByPatient), and a
    WhiteStripe that found its stripe (the recorded mode lies inside the stripe, sd > 0);
  - the refused items (MR700: mixed orientations; MR_small: one slice) are quarantined file by file, byte for byte,
    with the reason; a patient's NIfTI and DICOM series share one split;
  - for every output NiFi's provenance lineage holds ListFile's event, for a series one MergeContent JOIN with one
    parent per slice (NiFi computes lineages over at most 100 FlowFiles: the parents of the 181-slice series are
    followed for a spread sample of 8), one event per medprep step with its parameters, and PutFile's SEND.
usage: e2e_mri_test.py [--port 18090] [--work DIR]
"""
import argparse
import filecmp
import glob
import hashlib
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import numpy as np  # noqa: E402
import nibabel as nib  # noqa: E402
import ct_reference as ref  # noqa: E402
from medprep_flow import NiFi, NiFiError, upload, invalid_processors, SECRET_ENV  # noqa: E402
from e2e_test import Checks, sh, clear_instance, check_canonical, finish, PYTHON  # noqa: E402
from e2e_ct_test import Provenance, check_steps, key  # noqa: E402

FLOW = os.path.join(REPO, "flows", "medprep", "mri.json")
SECRET = "e2e-ct-patient-key-secret-0123456789"  # the same as e2e_ct_test's: key() uses it
STEPS = {"CorrectBiasField": 1, "ResampleSpacing": 1, "Normalize": 1, "SplitByPatient": 1}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=int(os.environ.get("MEDPREP_E2E_PORT", "18090")))
    ap.add_argument("--work", default=os.path.join(REPO, "work", "e2e-mri"))
    args = ap.parse_args()
    work = os.path.abspath(args.work)
    inst, inp, out = os.path.join(work, "nifi"), os.path.join(work, "input"), os.path.join(work, "output")
    subprocess.run(["rm", "-rf", inp, out], check=True)
    os.makedirs(work, exist_ok=True)
    c = Checks()
    ctl = os.path.join(HERE, "nifi-ctl")
    if not c.check(sh(ctl, "start", inst, str(args.port), env=dict(os.environ, NIFI_START_TIMEOUT="120")).returncode == 0,
                   "NiFi did not answer within 120 s (log tail above)"):
        return finish(c)
    try:
        nifi = NiFi(f"http://127.0.0.1:{args.port}")
        clear_instance(nifi)
        sh(PYTHON, os.path.join(REPO, "tools", "make_mr_set.py"), inp, check=True, stdout=subprocess.DEVNULL)
        try:
            entity = upload(nifi, FLOW, "mri")
            check_canonical(c, nifi.get(f"/process-groups/{entity['id']}/download"), FLOW)
            nifi.update_parameters(entity["component"]["parameterContext"]["id"],
                                   {"input.dir": inp, "output.dir": os.path.join(work, "hand-output"),
                                    "patient.key.secret": SECRET}, sensitive={"patient.key.secret"})
            invalid = invalid_processors(nifi, entity["id"])
            c.check(not invalid, "the committed flows/medprep/mri.json does not load as a valid flow:\n    "
                    + "\n    ".join(invalid))
        except (NiFiError, KeyError, TypeError) as e:
            c.check(False, f"the committed flows/medprep/mri.json could not be uploaded to NiFi: {e}")
        run = sh(PYTHON, os.path.join(HERE, "medprep_flow.py"), "run", "--nifi", f"http://127.0.0.1:{args.port}",
                 "--flow", FLOW, "--input", inp, "--output", out, "--nifi-dir", inst,
                 env=dict(os.environ, **{SECRET_ENV: SECRET}))
        c.check(run.returncode == 0, "medprep_flow.py run of the mri flow failed: a file is unaccounted for or NiFi failed")
        outputs = check_outputs(c, inp, out)
        prov = Provenance(nifi)
        sends = prov.sends(".nii.gz")
        for path in outputs:
            uuid = sends.get(os.path.realpath(path))
            if c.check(uuid is not None, f"no SEND provenance event for {os.path.relpath(path, out)}"):
                evs = prov.lineage(uuid)
                name = os.path.relpath(path, out)
                c.check(any(e["componentType"] == "ListFile" for e in evs), f"{name}: no ListFile event in its lineage")
                with open(path[:-len(".nii.gz")] + ".json") as f:
                    slices = int(json.load(f).get("merge.count", 0))
                joins = [e for e in evs if e["eventType"] == "JOIN" and e["componentType"] == "MergeContent"]
                if slices:  # a DICOM series: one JOIN whose parents are its slices (>100: sampled, see Provenance)
                    c.check(len(joins) == 1 and len(joins[0].get("parentUuids") or []) == slices,
                            f"{name}: expected one MergeContent JOIN of {slices} slices: "
                            f"{[len(j.get('parentUuids') or []) for j in joins]}")
                check_steps(c, os.path.relpath(path, out), evs, STEPS)
    finally:
        sh(ctl, "stop", inst)
    return finish(c)


def stored_sha256(path):
    data = np.asarray(nib.load(path).dataobj)
    return hashlib.sha256(np.ascontiguousarray(data.transpose(2, 1, 0)).astype(data.dtype.newbyteorder("<"))
                          .tobytes()).hexdigest()


def check_outputs(c, inp, out):
    with open(inp.rstrip("/") + ".manifest.json") as f:
        manifest = json.load(f)
    with open(os.path.join(out, "summary.json")) as f:
        summary = json.load(f)
    c.check(summary.get("inputs") == manifest["files"], f"summary inputs {summary.get('inputs')} != {manifest['files']}")
    outputs = {os.path.basename(p)[:-len(".nii.gz")]: p for p in glob.glob(os.path.join(out, "*", "*.nii.gz"))}
    valid = [i for i in manifest["items"] if i["expected"] == "valid"]
    c.check(len(outputs) == len(valid), f"{len(outputs)} volumes, the manifest expects {len(valid)}")
    split_of = {}
    for item in manifest["items"]:
        where = f"{item['kind']} {item['files'][0]} ({len(item['files'])} files)"
        if item["expected"] != "valid":
            q = os.path.join(out, "quarantine")
            for rel in item["files"]:
                qp = os.path.join(q, rel)
                ok = c.check(os.path.isfile(qp) and filecmp.cmp(qp, os.path.join(inp, rel), shallow=False),
                             f"{where}: {rel} is not in the quarantine as its own bytes")
                if ok and c.check(os.path.isfile(qp + ".reason.txt"), f"{where}: no reason file for {rel}"):
                    with open(qp + ".reason.txt") as f:
                        reason = f.read()
                    words = item["expected_reason"].split(" (")[0]
                    c.check(words in reason, f"{where}: reason {reason.strip()!r} does not say {words!r}")
            print(f"e2e-mri: {where}: refused as expected", flush=True)
            continue
        name = key("SeriesInstanceUID:" + item["series_uid"]) if item["kind"] == "DICOM series" \
            else stored_sha256(os.path.join(inp, item["files"][0]))
        if not c.check(name in outputs, f"{where}: no output {name}.nii.gz"):
            continue
        path = outputs[name]
        with open(path[:-len(".nii.gz")] + ".json") as f:
            text = f.read()
        side = json.loads(text)
        c.check(int(side.get("merge.count", 1)) == len(item["files"]),
                f"{where}: sidecar merge.count {side.get('merge.count')} != {len(item['files'])}")
        c.check(item["patient"] not in text and "COLIN27" not in text, f"{where}: the sidecar holds the patient name/ID")
        steps = [h["processor"] for h in side.get("medprep.history", [])]
        c.check(steps[-4:] == ["CorrectBiasField", "ResampleSpacing", "Normalize", "SplitByPatient"],
                f"{where}: steps {steps}")
        norm = next((h for h in side.get("medprep.history", []) if h["processor"] == "Normalize"), {})
        p = norm.get("parameters", {})
        stripe, mode = p.get("Stripe") or [np.nan, np.nan], p.get("White Matter Mode", np.nan)
        c.check(p.get("Method") == "WhiteStripe" and stripe[0] <= mode <= stripe[1]
                and p.get("Stripe Standard Deviation", 0) > 0 and p.get("Stripe Voxels", 0) > 0,
                f"{where}: WhiteStripe found no stripe around its mode: {p}")
        print(f"e2e-mri: {where}: WhiteStripe mode {mode:.4g} in stripe {stripe}, {p.get('Stripe Voxels')} voxels",
              flush=True)
        split = os.path.basename(os.path.dirname(path))
        c.check(split_of.setdefault(item["patient"], split) == split,
                f"{where}: patient {item['patient']} has volumes in {split} and {split_of[item['patient']]}")
        img = nib.load(path)
        src = nib.load(item["source"])
        c.check(img.get_data_dtype() == np.float32, f"{where}: output type {img.get_data_dtype()}, not float32")
        c.check(np.allclose(img.header.get_zooms()[:3], 1.0), f"{where}: spacing {img.header.get_zooms()[:3]}")
        want = tuple(max(1, int(np.floor(n * s + 0.5))) for n, s in zip(src.shape[:3], src.header.get_zooms()[:3]))
        c.check(tuple(sorted(img.shape[:3])) == tuple(sorted(want)), f"{where}: shape {img.shape} vs {want}")
        a, b = ref.extent_corners(img.affine, img.shape[:3]), ref.extent_corners(src.affine, src.shape[:3])
        off = max(ref.corner_offsets(a, b, img.affine).max(), ref.corner_offsets(b, a, img.affine).max())
        c.check(off <= 0.5 + 1e-3, f"{where}: extent corners {off:.3f} output voxels from the input's")
        data = np.asarray(img.dataobj)
        c.check(np.isfinite(data).all(), f"{where}: non-finite values in the output")
        print(f"e2e-mri: {where}: {img.shape} at 1 mm, corners within {off:.3f} voxels, split {split}", flush=True)
    return list(outputs.values())


if __name__ == "__main__":
    sys.exit(main())
