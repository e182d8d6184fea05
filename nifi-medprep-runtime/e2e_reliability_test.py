#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""End-to-end reliability test on a real NiFi 2.3.0 (run by ./medprep test after the flow tests): issue 9's crash
test and PHI check. docs/reliability.md explains what is guaranteed and what these checks measure.

1. Crash test: tools/make_benchmark_set.py makes N chest-X-ray-sized JPEGs (default 800); the committed
   flows/medprep/chest-xray.json is uploaded (as medprep_flow.py run does) and started; once some outputs exist and
   most inputs are still queued, the NiFi JVM is killed with SIGKILL (its pid from INSTANCE/run/nifi.pid), NiFi is
   started again on the same instance directory (nifi-ctl start), the group is started if it did not come back
   RUNNING, and the flow runs to the end. Asserted: every input is on disk exactly once, as an output .npy
   (<split>/<label>/<stem>.npy) or in the quarantine (quarantine/<folder>/<name> + .reason.txt): none lost, none
   in two places, no .npy twice, no reason file without its original; FlowFiles written just before the kill and
   sent again after the restart (NiFi is at-least-once between a session's last commit and the kill) are counted
   and must not have left a second copy or a false quarantine.
2. PHI check: DICOM inputs with known PatientName/PatientID/PatientBirthDate/AccessionNumber (python3-pydicom's
   real CR and CT files, CR re-used as larger DX images, and tools/make_ct_set.py --small series, all re-tagged with
   pydicom) go through the chest-xray and ct flows; then NiFi's logs, every provenance event's attributes
   (previous and updated) and details, output and quarantine file names, sidecars, reason files and output
   contents (.npy, .nii.gz decompressed) are searched for those values and their DICOM-formatted variants
   (case-insensitive): zero hits. Quarantined originals are the inputs' own bytes (so they hold the tags by
   design) and are excluded from the content search, not from the name search. Then the chest-xray flow runs
   once more with its ValidateImage's Expose Patient Identifiers = true: its provenance events must now show every
   PatientID and PatientName (the only two it exposes), so the search is shown to find what is there.
usage: e2e_reliability_test.py [--port 18110] [--work DIR] [--images 800] [--only crash|phi]
"""
import argparse
import collections
import glob
import gzip
import json
import os
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import medprep_flow as mf  # noqa: E402
from medprep_flow import NiFi, NiFiError, SECRET_ENV  # noqa: E402
from e2e_test import Checks, sh, clear_instance, finish, PYTHON  # noqa: E402

CXR_FLOW = os.path.join(REPO, "flows", "medprep", "chest-xray.json")
CT_FLOW = os.path.join(REPO, "flows", "medprep", "ct.json")
SECRET = "e2e-reliability-patient-key-secret-0123456789"
CTL = os.path.join(HERE, "nifi-ctl")
PYDICOM = "/usr/lib/python3/dist-packages/pydicom/data/test_files"

# Distinctive identifiers, never produced by anything else; each PHI input gets its patient's set.
PATIENTS = [
    {"name": "Quarnby^Zelphine^Odette", "id": "PHIQZ7734921", "birth": "19230417", "accession": "ACCQZ88216"},
    {"name": "Vexmoor^Thaddric", "id": "PHIVX5502168", "birth": "19370902", "accession": "ACCVX40973"},
]


def variants(p):
    """The strings whose presence anywhere counts as a leak: each value and its usual renderings."""
    parts = [x for x in p["name"].split("^") if x]
    b = p["birth"]
    out = {p["name"], p["name"].replace("^", " "), ", ".join(parts[:2]), " ".join(reversed(parts[:2])),
           p["id"], p["accession"], b, f"{b[:4]}-{b[4:6]}-{b[6:]}", f"{b[4:6]}/{b[6:]}/{b[:4]}",
           f"{b[6:]}.{b[4:6]}.{b[:4]}"}
    out |= {x for x in parts if len(x) >= 5}
    return sorted(out, key=len, reverse=True)


NEEDLES = sorted({v for p in PATIENTS for v in variants(p)}, key=len, reverse=True)
NEEDLE_RE = re.compile("|".join(re.escape(n) for n in NEEDLES).encode(), re.IGNORECASE)


def hits(data):
    """The needles found in bytes (case-insensitive; also in UTF-16 as Java might write it)."""
    found = {m.group(0).decode(errors="replace") for m in NEEDLE_RE.finditer(data)}
    if b"\x00" in data:
        found |= {m.group(0).decode(errors="replace") for m in NEEDLE_RE.finditer(data.replace(b"\x00", b""))}
    return found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=int(os.environ.get("MEDPREP_E2E_RELIABILITY_PORT", "18110")))
    ap.add_argument("--work", default=os.path.join(REPO, "work", "e2e-reliability"))
    ap.add_argument("--images", type=int, default=800)
    ap.add_argument("--only", choices=("crash", "phi"))
    args = ap.parse_args()
    work = os.path.abspath(args.work)
    inst = os.path.join(work, "nifi")
    os.makedirs(work, exist_ok=True)
    c = Checks()
    try:
        if args.only in (None, "crash"):
            crash_test(c, args.port, inst, work, args.images)
            sh(CTL, "stop", inst)
        if args.only in (None, "phi"):
            phi_test(c, args.port, os.path.join(work, "nifi-phi"), work)
    finally:
        for i in (inst, os.path.join(work, "nifi-phi")):
            if os.path.isdir(i):
                sh(CTL, "stop", i)
    return finish(c)


# ---------------------------------------------------------------------------------------------------------------
# shared
# ---------------------------------------------------------------------------------------------------------------
def start_nifi(c, inst, port):
    return c.check(sh(CTL, "start", inst, str(port), env=dict(os.environ, NIFI_START_TIMEOUT="120")).returncode == 0,
                   "NiFi did not answer within 120 s (log tail above)")


def start_flow(nifi, flow, inp, out, params=None, before_start=None):
    """What medprep_flow.py run does before it waits: upload the definition as a run group with its own parameter
    context, set input/output/secret (+ params), check every processor is VALID, start it. Returns the group id."""
    name = os.path.splitext(os.path.basename(flow))[0]
    entity = mf.upload(nifi, flow, mf.run_group_name(name), mf.definition_for_run(flow, name))
    pg, ctx = entity["id"], entity["component"]["parameterContext"]["id"]
    values = {"input.dir": inp, "output.dir": out, "patient.key.secret": SECRET}
    values.update(params or {})
    nifi.update_parameters(ctx, values, sensitive={"patient.key.secret"})
    invalid = mf.invalid_processors(nifi, pg)
    if invalid:
        raise NiFiError(f"{flow} is not valid: " + "; ".join(invalid))
    if before_start:
        before_start(pg)
    nifi.set_group_state(pg, "RUNNING")
    return pg


def wait_done(nifi, pg, n_inputs, out, timeout, idle=30):
    """Waits until every input is accounted for (medprep_flow.py's accounting) and nothing is queued or running;
    returns the seconds waited, or None on timeout / idle without progress."""
    t0, idle_since, last = time.time(), None, None
    while time.time() - t0 < timeout:
        outs = mf.outputs(out)
        originals, reasons, _ = mf.quarantined(out)
        covered, pending = mf.accounted(outs, originals)
        snap = nifi.group_status(pg)
        queued, active = snap.get("flowFilesQueued", 0), snap.get("activeThreadCount", 0)
        if covered >= n_inputs and not pending and len(reasons) >= len(originals) and queued == 0 and active == 0:
            return time.time() - t0
        counts = (covered, len(reasons))
        if queued == 0 and active == 0 and counts == last:
            idle_since = idle_since or time.time()
            if time.time() - idle_since > idle:
                return None
        else:
            idle_since = None
        last = counts
        time.sleep(1)
    return None


# ---------------------------------------------------------------------------------------------------------------
# 1. crash test
# ---------------------------------------------------------------------------------------------------------------
def nifi_pid(inst):
    with open(os.path.join(inst, "run", "nifi.pid")) as f:
        pid = int(f.read().strip())
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        if b"org.apache.nifi.NiFi" not in f.read():
            raise NiFiError(f"pid {pid} of {inst}/run/nifi.pid is not a NiFi JVM")
    return pid


def crash_test(c, port, inst, work, n_images):
    inp, out = os.path.join(work, "crash-input"), os.path.join(work, "crash-output")
    subprocess.run(["rm", "-rf", out], check=True)
    # the set is deterministic: made once, kept between runs
    if len(mf.input_files(inp)) != n_images:
        sh(PYTHON, os.path.join(REPO, "tools", "make_benchmark_set.py"), inp, str(n_images), check=True,
           stdout=subprocess.DEVNULL)
    inputs = mf.input_files(inp)
    if not start_nifi(c, inst, port):
        return
    nifi = NiFi(f"http://127.0.0.1:{port}")
    clear_instance(nifi)
    pg = start_flow(nifi, CXR_FLOW, inp, out)
    t0 = time.time()
    # kill once a quarter of the inputs have an output (some written, most still queued)
    target = max(10, len(inputs) // 4)
    at_kill = None
    while time.time() - t0 < 120:
        n_out = sum(len(v) for v in mf.outputs(out).values())
        if n_out >= target:
            snap = nifi.group_status(pg)
            pid = nifi_pid(inst)
            os.kill(pid, signal.SIGKILL)
            at_kill = {"seconds": round(time.time() - t0, 1), "outputs": n_out,
                       "quarantined": len(mf.quarantined(out)[0]), "queued": snap.get("flowFilesQueued", 0)}
            for _ in range(100):
                if not os.path.exists(f"/proc/{pid}"):
                    break
                time.sleep(0.1)
            break
        time.sleep(0.2)
    if not c.check(at_kill is not None, f"crash test: fewer than {target} outputs after 120 s; NiFi was not killed"):
        return
    print(f"reliability: SIGKILL after {at_kill['seconds']} s: {at_kill['outputs']} outputs, "
          f"{at_kill['quarantined']} quarantined, {at_kill['queued']} FlowFiles queued", flush=True)
    before = {p: os.path.getmtime(p) for v in mf.outputs(out).values() for p in v}
    in_progress = glob.glob(os.path.join(out, "**", ".*"), recursive=True)
    t_restart = time.time()
    if not start_nifi(c, inst, port):
        return
    restart_s = time.time() - t_restart
    state = {p["component"]["state"] for p in nifi.processors(pg)}
    print(f"reliability: NiFi answered again {restart_s:.1f} s after nifi-ctl start; processor states after the "
          f"restart: {sorted(state)}; {nifi.group_status(pg).get('flowFilesQueued', 0)} FlowFiles queued", flush=True)
    c.check(nifi.group_status(pg).get("flowFilesQueued", 0) > 0,
            "crash test: nothing was queued after the restart: the FlowFile repository lost the queues")
    if state != {"RUNNING"}:
        nifi.set_group_state(pg, "RUNNING")
    waited = wait_done(nifi, pg, len(inputs), out, timeout=240)
    c.check(waited is not None, "crash test: the flow did not finish within 240 s after the restart")
    nifi.set_group_state(pg, "STOPPED")
    nifi.wait_stopped(pg)
    check_exactly_once(c, inp, out, inputs, before, in_progress, at_kill, waited, state)


def check_exactly_once(c, inp, out, inputs, before, in_progress, at_kill, waited, state):
    outs = [p for v in mf.outputs(out).values() for p in v]
    originals, reasons, kinds = mf.quarantined(out)
    qdir = os.path.join(out, "quarantine")
    stem = lambda p: os.path.splitext(os.path.basename(p))[0]
    # an input's identity: its folder (= label) and stem; an output is <split>/<label>/<stem>.npy
    key_in = lambda p: (os.path.basename(os.path.dirname(p)), stem(p))
    want = collections.Counter(key_in(p) for p in inputs)
    got = collections.Counter((os.path.basename(os.path.dirname(p)), stem(p)) for p in outs)
    quar = collections.Counter(key_in(os.path.join(inp, os.path.relpath(p, qdir))) for p in originals)
    seen = got + quar
    lost = sorted(k for k in want if seen[k] < want[k])
    # The one duplicate NiFi's at-least-once delivery can make: PutFile renamed its .npy into place, the JVM died
    # before the session committed, the FlowFile was sent again after the restart, found its own file there
    # (Conflict Resolution Strategy fail) and was quarantined as "a file of that name already exists". Such an
    # input is in both places, the .npy is older than the kill and complete; it is counted, not hidden.
    exists = set()
    for r in reasons:
        with open(r, errors="replace") as f:
            if "already exists" in f.read():
                orig = r[:-len(".reason.txt")]
                exists.add(key_in(os.path.join(inp, os.path.relpath(orig, qdir))))
    npy_of = {(os.path.basename(os.path.dirname(p)), stem(p)): p for p in outs}
    resent = sorted(k for k in exists if got[k] == 1 and quar[k] == 1 and want[k] == 1 and npy_of[k] in before)
    dup = sorted(k for k in seen if seen[k] > want.get(k, 0) and k not in resent)
    # PutFile writes .<name>, then renames it: a kill between the two leaves a hidden file that nothing lists
    # (ListFile's filter and the accounting skip dot files); any other one left at the end is a fault
    stray = [p for p in glob.glob(os.path.join(out, "**", ".*"), recursive=True) if p not in in_progress]
    orphan_reasons = [r for r in reasons if not os.path.isfile(r[:-len(".reason.txt")])]
    c.check(not lost, f"crash test: {len(lost)} inputs lost (neither output nor quarantined): {lost[:10]}")
    c.check(not dup, f"crash test: {len(dup)} inputs on disk more than once: {dup[:10]}")
    c.check(not orphan_reasons, f"crash test: reason files without their original: {orphan_reasons[:5]}")
    c.check(not stray, f"crash test: PutFile's in-progress dot files left behind: {stray[:5]}")
    # the .npy files written before the kill are untouched (Conflict Resolution Strategy fail: a FlowFile sent again
    # finds its file there and is routed by "Is the .npy already there?")
    changed = [p for p, t in before.items() if not os.path.exists(p) or os.path.getmtime(p) != t]
    c.check(not changed, f"crash test: {len(changed)} outputs written before the kill were replaced or removed")
    c.check(len(exists) == len(resent), f"crash test: {len(exists) - len(resent)} inputs quarantined as 'a file of "
                                        f"that name already exists' that are not re-sends of a file written before "
                                        f"the kill")
    figures = {"inputs": len(inputs), "killed_after_s": at_kill["seconds"], "outputs_at_kill": at_kill["outputs"],
               "quarantined_at_kill": at_kill["quarantined"], "queued_at_kill": at_kill["queued"],
               "dot_files_at_kill": len(in_progress), "states_after_restart": sorted(state),
               "finished_after_restart_s": round(waited, 1) if waited else None,
               "outputs": len(outs), "quarantined": {k: len(v) for k, v in kinds.items()},
               "lost": len(lost), "duplicated": len(dup), "resent_after_restart": len(resent)}
    with open(os.path.join(out, "crash-figures.json"), "w") as f:
        json.dump(figures, f, indent=2)
    print("reliability: crash test figures " + json.dumps(figures), flush=True)


# ---------------------------------------------------------------------------------------------------------------
# 2. PHI check
# ---------------------------------------------------------------------------------------------------------------
def retag(ds, p):
    ds.PatientName = p["name"]
    ds.PatientID = p["id"]
    ds.PatientBirthDate = p["birth"]
    ds.AccessionNumber = p["accession"]


def make_phi_inputs(work):
    """chest-xray input (Kaggle layout; label = folder): the three real 16 x 16 CR files (quarantined: too small),
    CT_small (quarantined: Normalize refuses signed data) and four DX images made from the CR dataset with 512 x 512
    pixels of a real photograph (outputs); ct input: make_ct_set.py --small series. All re-tagged."""
    import numpy as np
    import pydicom
    from pydicom.uid import generate_uid
    sys.path.insert(0, os.path.join(REPO, "tools"))
    from skimage_gray import skimage_gray
    cxr, ct = os.path.join(work, "phi-cxr-input"), os.path.join(work, "phi-ct-input")
    subprocess.run(["rm", "-rf", cxr, ct], check=True)
    for d in ("NORMAL", "PNEUMONIA"):
        os.makedirs(os.path.join(cxr, "train", d))
    crs = [os.path.join(PYDICOM, "dicomdirtests", "77654033", cr) for cr in ("CR1/6154", "CR2/6247", "CR3/6278")]
    for i, src in enumerate(crs):
        ds = pydicom.dcmread(src)
        retag(ds, PATIENTS[i % 2])
        ds.save_as(os.path.join(cxr, "train", "NORMAL", f"IM-7001-{i + 1:04d}.dcm"))
    ds = pydicom.dcmread(os.path.join(PYDICOM, "CT_small.dcm"))
    retag(ds, PATIENTS[0])
    ds.save_as(os.path.join(cxr, "train", "PNEUMONIA", "person7002_bacteria_1.dcm"))
    for i, src in enumerate(["camera.png", "moon.png", "coins.png", "page.png"]):
        ds = pydicom.dcmread(crs[0])
        img = skimage_gray(src)
        img = np.asarray(img, dtype=np.float64)
        h, w = img.shape[:2]
        img = img[:min(h, 512), :min(w, 512)]
        img = np.pad(img, ((0, 512 - img.shape[0]), (0, 512 - img.shape[1])), mode="edge")
        px = (img / max(img.max(), 1) * 4095).astype(np.uint16)
        ds.Modality = "DX"
        ds.Rows, ds.Columns = px.shape
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.SamplesPerPixel = 1
        ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
        ds.PixelData = px.tobytes()
        ds.SOPInstanceUID = generate_uid(entropy_srcs=["phi", str(i)])
        retag(ds, PATIENTS[i % 2])
        ds.save_as(os.path.join(cxr, "train", "PNEUMONIA" if i % 2 else "NORMAL",
                                f"person{7100 + i}_virus_1.dcm" if i % 2 else f"IM-7100-{i + 1:04d}.dcm"), write_like_original=False)
    sh(PYTHON, os.path.join(REPO, "tools", "make_ct_set.py"), "--small", "--with-real", ct,
       "--manifest", os.path.join(work, "phi-ct.manifest.json"), check=True, stdout=subprocess.DEVNULL)
    by_patient = {}
    for f in mf.input_files(ct):
        ds = pydicom.dcmread(f)
        k = by_patient.setdefault(str(ds.get("PatientID", "")), len(by_patient) % 2)
        retag(ds, PATIENTS[k])
        ds.save_as(f)
    return cxr, ct


def phi_test(c, port, inst, work):
    cxr_in, ct_in = make_phi_inputs(work)
    cxr_out, ct_out = os.path.join(work, "phi-cxr-output"), os.path.join(work, "phi-ct-output")
    subprocess.run(["rm", "-rf", cxr_out, ct_out], check=True)
    # the instance is new each time, so its logs and provenance hold only this check's runs
    subprocess.run(["rm", "-rf", inst], check=True)
    # the inputs really carry the values (else zero hits proves nothing)
    for f in mf.input_files(cxr_in) + mf.input_files(ct_in):
        with open(f, "rb") as fh:
            if not c.check(hits(fh.read()), f"PHI check: input {f} does not carry the test's identifiers"):
                return
    if not start_nifi(c, inst, port):
        return
    nifi = NiFi(f"http://127.0.0.1:{port}")
    for flow, inp, out in ((CXR_FLOW, cxr_in, cxr_out), (CT_FLOW, ct_in, ct_out)):
        pg = start_flow(nifi, flow, inp, out)
        waited = wait_done(nifi, pg, len(mf.input_files(inp)), out, timeout=180)
        c.check(waited is not None, f"PHI check: {os.path.basename(flow)} did not finish")
        nifi.set_group_state(pg, "STOPPED")
        nifi.wait_stopped(pg)
        n_out = sum(len(v) for v in mf.outputs(out).values())
        n_q = len(mf.quarantined(out)[0])
        print(f"reliability: PHI run of {os.path.basename(flow)}: {len(mf.input_files(inp))} inputs -> {n_out} "
              f"outputs, {n_q} quarantined", flush=True)
        c.check(n_out > 0, f"PHI check: {os.path.basename(flow)} wrote no output: nothing to search")
    leaks, searched = [], collections.Counter()

    def look(where, data, kind):
        searched[kind] += 1
        found = hits(data if isinstance(data, bytes) else data.encode())
        if found:
            leaks.append(f"{where}: {sorted(found)}")

    # file names and contents under both outputs; quarantined originals are the inputs' own bytes
    for out in (cxr_out, ct_out):
        qdir = os.path.join(out, "quarantine")
        originals = set(mf.quarantined(out)[0])
        for d, dirs, files in os.walk(out):
            for n in dirs + files:
                look(os.path.join(d, n), n, "names")
            for n in files:
                p = os.path.join(d, n)
                if p in originals and p.startswith(qdir):
                    continue
                with open(p, "rb") as fh:
                    data = fh.read()
                if n.endswith(".gz"):
                    data = gzip.decompress(data)
                look(p, data, "files")
    # NiFi's logs
    for p in glob.glob(os.path.join(inst, "logs", "*")):
        with open(p, "rb") as fh:
            look(p, fh.read(), "logs")
    # every provenance event, in full
    events = nifi.provenance_query()["provenanceEvents"]
    for e in events:
        full = nifi.get(f"/provenance-events/{e['id']}")["provenanceEvent"]
        look(f"provenance event {e['id']} ({full.get('componentName')}, {full.get('eventType')})",
             json.dumps({k: full.get(k) for k in ("attributes", "details", "transitUri", "alternateIdentifierUri",
                                                  "sourceSystemFlowFileId", "relationship", "filename")}),
             "provenance events")
    print(f"reliability: PHI search of {len(NEEDLES)} strings over {dict(searched)}", flush=True)
    c.check(len(events) > 100, f"PHI check: only {len(events)} provenance events to search")
    c.check(not leaks, f"PHI check: {len(leaks)} places hold a patient identifier:\n    " + "\n    ".join(leaks[:20]))
    check_expose(c, nifi, cxr_in, work, {e["id"] for e in events})


def check_expose(c, nifi, cxr_in, work, seen_events):
    """The counter-check: the chest-xray flow again over the same inputs, with its ValidateImage's Expose Patient
    Identifiers = true. PatientID and PatientName must now be in the provenance events' attributes (as
    medprep.patient.id / medprep.patient.name), so the search above is shown to find a leak when there is one.
    Where else they appear is printed (the chest-xray flow's sidecars, if it writes them, leave them out)."""
    out = os.path.join(work, "phi-expose-output")
    subprocess.run(["rm", "-rf", out], check=True)

    def expose(pg):
        for p in nifi.processors(pg):
            if p["component"]["type"].endswith(".ValidateImage"):
                nifi.put(f"/processors/{p['id']}", {"revision": p["revision"], "component": {
                    "id": p["id"], "config": {"properties": {"Expose Patient Identifiers": "true"}}}})
    pg = start_flow(nifi, CXR_FLOW, cxr_in, out, before_start=expose)
    c.check(wait_done(nifi, pg, len(mf.input_files(cxr_in)), out, timeout=120) is not None,
            "PHI check: the chest-xray flow with Expose Patient Identifiers = true did not finish")
    nifi.set_group_state(pg, "STOPPED")
    nifi.wait_stopped(pg)
    found = collections.Counter()
    for _ in range(15):  # the provenance index may lag the run by a few seconds
        for e in nifi.provenance_query()["provenanceEvents"]:
            if e["id"] in seen_events:
                continue
            seen_events.add(e["id"])
            full = nifi.get(f"/provenance-events/{e['id']}")["provenanceEvent"]
            for h in hits(json.dumps(full.get("attributes") or []).encode()):
                found[h] += 1
        if found:
            break
        time.sleep(1)
    where = collections.Counter()
    for d, _, files in os.walk(out):
        for n in files:
            p = os.path.join(d, n)
            if p in set(mf.quarantined(out)[0]):
                continue
            with open(p, "rb") as fh:
                if hits(fh.read()):
                    where[os.path.splitext(n)[1] or n] += 1
    print(f"reliability: with Expose Patient Identifiers = true: identifiers in provenance attributes "
          f"{dict(found)}; output files holding one, by extension: {dict(where)}", flush=True)
    ids = {p["id"] for p in PATIENTS}
    names = {p["name"] for p in PATIENTS}
    c.check(ids <= set(found) and names <= set(found),
            f"PHI check: with Expose Patient Identifiers = true the provenance attributes do not show every "
            f"PatientID and PatientName (found {sorted(found)}): the search could not see a leak")


if __name__ == "__main__":
    sys.exit(main())
