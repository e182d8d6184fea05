#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# make_feed_set.py - the default input of the hospital-feed flow: a folder of REAL DICOM files of mixed modalities,
# as a PACS export or a modality would send them (./medprep run --flow hospital-feed sends each file with storescu
# to the flow's DICOM listener), and a manifest of where each should end up, written OUTSIDE the folder.
#
#   CR/<3 files>        python3-pydicom's real CR images (dicomdirtests/77654033/CR1..3: MONOCHROME1, rescaled)
#                       -> routed to the chest-xray group: 3 .npy outputs
#   CT/<5 files>        pydicom's real CT series CT5N (5 slices) -> routed to ct: one volume
#   CT/CT_small.dcm     pydicom's real one-slice CT -> routed to ct, refused there (1 slice, fewer than 3)
#   MR/<181 files>      mricron-data's real Colin27 T1 as an axial MR series (tools/make_mr_set.py writes it)
#                       -> routed to mri: one volume
#   MR/MR_small.dcm     pydicom's real one-slice MR -> routed to mri, refused there (1 slice)
#   other/US.dcm        pydicom's ExplVR_BigEnd.dcm (Modality US) -> no route: quarantined by the feed itself
#   other/NM.dcm        pydicom's JPEG-lossy.dcm (Modality NM) -> no route: quarantined by the feed itself
#
# Usage: /usr/bin/python3 tools/make_feed_set.py OUTDIR [--seed 7] [--manifest PATH]
# (manifest default: OUTDIR/../<OUTDIR name>.manifest.json). OUTDIR is deleted and recreated.
import argparse
import json
import os
import random
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_mr_set import CH2, PYDICOM_TEST_FILES, write_dicom_series  # noqa: E402

CR_DIR = os.path.join(PYDICOM_TEST_FILES, "dicomdirtests", "77654033")
CT5N = os.path.join(PYDICOM_TEST_FILES, "dicomdirtests", "98892001", "CT5N")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--manifest")
    args = ap.parse_args()
    for f in (CH2, CR_DIR, CT5N):
        if not os.path.exists(f):
            sys.exit(f"make_feed_set.py: {f} is missing (Debian packages mricron-data, python3-pydicom).")
    out = os.path.abspath(args.outdir)
    manifest_path = args.manifest or os.path.join(os.path.dirname(out), os.path.basename(out) + ".manifest.json")
    shutil.rmtree(out, ignore_errors=True)
    rng = random.Random(args.seed)
    items = []

    def copy(src, rel):
        dst = os.path.join(out, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(src, dst)
        return rel

    crs = [copy(os.path.join(CR_DIR, d, f), f"CR/{d}-{f}.dcm") for d in ("CR1", "CR2", "CR3")
           for f in os.listdir(os.path.join(CR_DIR, d))]
    items.append(dict(files=crs, modality="CR", group="chest-xray", expected="outputs", outputs=len(crs)))
    ct = [copy(os.path.join(CT5N, f), "CT/%08X" % rng.getrandbits(32)) for f in sorted(os.listdir(CT5N))]
    items.append(dict(files=ct, modality="CT", group="ct", expected="outputs", outputs=1))
    items.append(dict(files=[copy(os.path.join(PYDICOM_TEST_FILES, "CT_small.dcm"), "CT/CT_small.dcm")],
                      modality="CT", group="ct", expected="quarantined", reason="1 slice"))
    os.makedirs(os.path.join(out, "MR"))
    _, names, _ = write_dicom_series(CH2, os.path.join(out, "MR"), "MP-MR-0001", rng, args.seed)
    items.append(dict(files=["MR/" + n for n in names], modality="MR", group="mri", expected="outputs", outputs=1))
    items.append(dict(files=[copy(os.path.join(PYDICOM_TEST_FILES, "MR_small.dcm"), "MR/MR_small.dcm")],
                      modality="MR", group="mri", expected="quarantined", reason="1 slice"))
    for src, modality in (("ExplVR_BigEnd.dcm", "US"), ("JPEG-lossy.dcm", "NM")):
        items.append(dict(files=[copy(os.path.join(PYDICOM_TEST_FILES, src), f"other/{modality}.dcm")],
                          modality=modality, group="hospital-feed", expected="quarantined",
                          reason=f"modality {modality} has no route"))
    manifest = {"generator": "tools/make_feed_set.py", "seed": args.seed, "input_dir": out,
                "files": sum(len(i["files"]) for i in items), "items": items}
    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=1)
    print(json.dumps({"manifest": manifest_path, "files": manifest["files"],
                      "items": [{k: i.get(k) for k in ("modality", "group", "expected")} | {"files": len(i["files"])}
                                for i in items]}, indent=1))


if __name__ == "__main__":
    main()
