#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""End-to-end test of ListenDICOM and PutDICOM in the real NiFi 2.3.0 of this module (not nifi-mock).

A group is built through the REST API: ListenDICOM -> PutDICOM (to dcmtk's storescp, started here) and
ListenDICOM -> PutFile (a copy on disk). dcmtk's storescu sends pydicom's CT_small, MR_small and JPEG2000 (proposing
JPEG 2000 too) and echoscu checks C-ECHO. Checked:
  - echoscu and storescu succeed (every C-STORE acknowledged);
  - each instance is on disk twice (PutFile's copy, storescp's file) with pydicom's pixel_array equal to the file sent,
    and the JPEG 2000 one still in its transfer syntax (nothing transcoded);
  - NiFi's provenance holds one RECEIVE per instance (transit URI dicom://MODALITY1@127.0.0.1:port) from ListenDICOM
    and one SEND per instance to dicom://ARCHIVE@127.0.0.1:port from PutDICOM;
  - storescu from an AE title not allowed is refused and adds nothing;
  - a study goes storescu -> ListenDICOM -> ValidateImage -> ClipHU (Output Format DICOM) -> PutDICOM -> Orthanc (a
    PACS, Debian's orthanc, started here on 127.0.0.1): Orthanc's REST API shows exactly the derived CT object (the
    MR and NM instances are not CT: ClipHU refuses them), and the file Orthanc stored is DERIVED, de-identified,
    references its source, holds the source's HU clipped to -1000..1000 (pydicom, within half the rescale slope) and
    passes dciodvfy (dicom3tools) without an error.

usage: e2e_dicomnet_test.py [--port 18130] [--work DIR]
"""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from medprep_flow import NiFi  # noqa: E402
from e2e_test import Checks, sh, finish, PYTHON  # noqa: E402

CTL = os.path.join(HERE, "nifi-ctl")
FILES = ["CT_small.dcm", "MR_small.dcm", "JPEG2000.dcm"]
PYDICOM = "/usr/lib/python3/dist-packages/pydicom/data/test_files"

COMPARE = r"""
import json, sys, glob, os, numpy, pydicom
src = {}
for f in sys.argv[2:]:
    d = pydicom.dcmread(f)
    src[d.SOPInstanceUID] = d
out = {}
for p in sorted(glob.glob(os.path.join(sys.argv[1], "*"))):
    if os.path.isdir(p):
        continue
    d = pydicom.dcmread(p)
    s = src.get(d.SOPInstanceUID)
    out[os.path.basename(p)] = {"uid": d.SOPInstanceUID, "ts": str(d.file_meta.TransferSyntaxUID),
                                "known": s is not None,
                                "equal": bool(s is not None and numpy.array_equal(d.pixel_array, s.pixel_array)),
                                "source_ts": str(s.file_meta.TransferSyntaxUID) if s is not None else None}
print(json.dumps(out))
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def processor_types(nifi):
    return {t["type"].split(".")[-1]: t for t in nifi.get("/flow/processor-types")["processorTypes"]}


def add(nifi, types, pg, kind, name, props, y, auto=()):
    t = types[kind]
    return nifi.post(f"/process-groups/{pg}/processors", {"revision": {"version": 0}, "component": {
        "type": t["type"], "bundle": t["bundle"], "name": name, "position": {"x": 0, "y": y},
        "config": {"properties": props, "autoTerminatedRelationships": list(auto)}}})


def connect(nifi, pg, src, rels, dst):
    nifi.post(f"/process-groups/{pg}/connections", {"revision": {"version": 0}, "component": {
        "source": {"id": src["id"], "groupId": pg, "type": "PROCESSOR"},
        "destination": {"id": dst["id"], "groupId": pg, "type": "PROCESSOR"},
        "selectedRelationships": rels}})


def provenance(nifi, component_id, want, timeout=60):
    """The events of one component once at least `want` are indexed (NiFi indexes asynchronously)."""
    deadline = time.time() + timeout
    events = []
    while time.time() < deadline:
        q = nifi.post("/provenance", {"provenance": {"request": {"maxResults": 1000, "searchTerms": {
            "ProcessorID": {"value": component_id}}}}})
        qid = q["provenance"]["id"]
        for _ in range(60):
            q = nifi.get(f"/provenance/{qid}")
            if q["provenance"]["finished"]:
                break
            time.sleep(0.5)
        events = q["provenance"]["results"]["provenanceEvents"]
        nifi.delete(f"/provenance/{qid}")
        if len(events) >= want:
            return events
        time.sleep(2)
    return events


DERIVED_CHECK = r"""
import json, subprocess, sys, numpy, pydicom
derived, source = pydicom.dcmread(sys.argv[1]), pydicom.dcmread(sys.argv[2])
slope, intercept = float(derived.RescaleSlope), float(derived.RescaleIntercept)
values = derived.pixel_array.astype(numpy.float64).reshape(source.Rows, source.Columns) * slope + intercept
hu = source.pixel_array.astype(numpy.float64) * float(source.RescaleSlope) + float(source.RescaleIntercept)
expected = numpy.clip(hu, -1000, 1000)
errors = [ln for ln in subprocess.run(["dciodvfy", sys.argv[1]], capture_output=True, text=True).stderr.splitlines()
          if ln.startswith("Error")]
print(json.dumps({
    "image_type": list(derived.ImageType), "new_uid": derived.SOPInstanceUID != source.SOPInstanceUID,
    "patient_name": str(derived.get("PatientName", "")), "patient_id_kept": derived.PatientID == source.PatientID,
    "identity_removed": str(derived.get("PatientIdentityRemoved", "")),
    "source_reference": len(derived.get("SourceImageSequence", [])),
    "max_diff": float(numpy.max(numpy.abs(values - expected))), "half_slope": slope / 2,
    "dciodvfy_errors": errors}))
"""


def start_orthanc(work):
    """Orthanc (Debian orthanc) on 127.0.0.1 with its own storage under WORK: (process, DICOM port, HTTP port)."""
    home = os.path.join(work, "orthanc")
    os.makedirs(home)
    dicom_port, http_port = free_port(), free_port()
    config = os.path.join(home, "orthanc.json")
    with open(config, "w") as f:
        json.dump({"Name": "medprep-e2e", "StorageDirectory": os.path.join(home, "storage"),
                   "IndexDirectory": os.path.join(home, "index"), "DicomAet": "ORTHANC", "DicomPort": dicom_port,
                   "HttpPort": http_port, "RemoteAccessAllowed": False, "AuthenticationEnabled": False,
                   "DicomCheckCalledAet": True, "Plugins": []}, f)
    proc = subprocess.Popen(["/usr/sbin/Orthanc", config], stdout=open(os.path.join(home, "orthanc.log"), "w"),
                            stderr=subprocess.STDOUT)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            orthanc_get(http_port, "/system")
            return proc, dicom_port, http_port
        except OSError:
            time.sleep(0.5)
    return proc, dicom_port, None


def orthanc_get(http_port, path, raw=False):
    with urllib.request.urlopen(f"http://127.0.0.1:{http_port}{path}", timeout=10) as r:
        body = r.read()
    return body if raw else json.loads(body)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=int(os.environ.get("MEDPREP_E2E_DICOMNET_PORT", "18130")))
    ap.add_argument("--work", default=os.path.join(REPO, "work", "e2e-dicomnet"))
    args = ap.parse_args()
    work = os.path.abspath(args.work)
    inst = os.path.join(work, "nifi")
    if os.path.isdir(work):
        shutil.rmtree(work)
    os.makedirs(work)
    copies, archive = os.path.join(work, "copies"), os.path.join(work, "storescp")
    os.makedirs(archive)
    c = Checks()
    scp = orthanc = None
    try:
        if not c.check(sh(CTL, "start", inst, str(args.port), env=dict(os.environ, NIFI_START_TIMEOUT="120"))
                       .returncode == 0, "NiFi did not answer within 120 s"):
            return finish(c)
        nifi = NiFi(f"http://127.0.0.1:{args.port}")
        scp_port, listen_port = free_port(), free_port()
        scp = subprocess.Popen(["storescp", "+xa", "-aet", "ARCHIVE", "-od", archive, "-fe", ".dcm", str(scp_port)],
                               stdout=open(os.path.join(work, "storescp.log"), "w"), stderr=subprocess.STDOUT)
        types = processor_types(nifi)
        root = nifi.get("/flow/process-groups/root")["processGroupFlow"]["id"]
        pg = nifi.post(f"/process-groups/{root}/process-groups", {"revision": {"version": 0}, "component": {
            "name": "e2e-dicomnet", "position": {"x": 0, "y": 0}}})["id"]
        listen = add(nifi, types, pg, "ListenDICOM", "Listen", {
            "Port": str(listen_port), "AE Title": "MEDPREP", "Allowed Calling AE Titles": "MODALITY1"}, 0)
        put = add(nifi, types, pg, "PutDICOM", "Send to archive", {
            "Hostname": "127.0.0.1", "Port": str(scp_port), "Called AE Title": "ARCHIVE"}, 300,
            auto=("success", "retry", "failure"))
        copy = add(nifi, types, pg, "PutFile", "Copy", {"Directory": copies}, 600, auto=("success", "failure"))
        connect(nifi, pg, listen, ["success"], put)
        connect(nifi, pg, listen, ["success"], copy)
        # ListenDICOM -> ValidateImage -> ClipHU (derived DICOM) -> PutDICOM -> Orthanc
        orthanc, orthanc_dicom, orthanc_http = start_orthanc(work)
        c.check(orthanc_http is not None, "Orthanc did not answer on its HTTP port within 60 s")
        validate = add(nifi, types, pg, "ValidateImage", "Validate", {"Patient Key Secret": os.urandom(16).hex()},
                       0, auto=("invalid", "failure"))
        clip = add(nifi, types, pg, "ClipHU", "Clip HU, derived DICOM out", {"Output Format": "DICOM"}, 300,
                   auto=("failure",))
        to_pacs = add(nifi, types, pg, "PutDICOM", "Send to PACS", {
            "Hostname": "127.0.0.1", "Port": str(orthanc_dicom), "Called AE Title": "ORTHANC"}, 600,
            auto=("success", "retry", "failure"))
        connect(nifi, pg, listen, ["success"], validate)
        connect(nifi, pg, validate, ["valid"], clip)
        connect(nifi, pg, clip, ["success"], to_pacs)
        nifi.put(f"/flow/process-groups/{pg}", {"id": pg, "state": "RUNNING"})
        time.sleep(3)

        echo = sh("echoscu", "-aet", "MODALITY1", "-aec", "MEDPREP", "127.0.0.1", str(listen_port),
                  capture_output=True, text=True)
        c.check(echo.returncode == 0, f"echoscu failed: {echo.stderr[-500:]}")
        sources = [os.path.join(PYDICOM, f) for f in FILES]
        store = sh("storescu", "-xw", "-aet", "MODALITY1", "-aec", "MEDPREP", "127.0.0.1", str(listen_port),
                   *sources, capture_output=True, text=True)
        c.check(store.returncode == 0, f"storescu failed: {store.stderr[-800:]}")
        refused = sh("storescu", "-aet", "INTRUDER", "-aec", "MEDPREP", "127.0.0.1", str(listen_port), sources[0],
                     capture_output=True, text=True)
        c.check(refused.returncode != 0, "storescu from INTRUDER (not allowed) succeeded")

        deadline = time.time() + 60
        while time.time() < deadline and (len(os.listdir(copies) if os.path.isdir(copies) else []) < len(FILES)
                                          or len(os.listdir(archive)) < len(FILES)):
            time.sleep(1)
        for where, folder in (("PutFile copy", copies), ("storescp (via PutDICOM)", archive)):
            got = json.loads(subprocess.run([PYTHON, "-c", COMPARE, folder, *sources], capture_output=True,
                                            text=True, check=True).stdout)
            c.check(len(got) == len(FILES), f"{where}: {len(got)} files, expected {len(FILES)}: {sorted(got)}")
            for name, g in got.items():
                c.check(g["known"] and g["equal"], f"{where}: {name} is not an instance sent with equal pixels: {g}")
                c.check(g["ts"] == g["source_ts"], f"{where}: {name} arrived as {g['ts']}, sent as {g['source_ts']}")
            print(f"e2e-dicomnet: {where}: " + ", ".join(f"{g['uid'][-12:]} {g['ts']} equal={g['equal']}"
                                                        for g in got.values()), flush=True)
        check_orthanc(c, orthanc_http, work, os.path.join(PYDICOM, "CT_small.dcm"))
        # Besides RECEIVE and SEND, NiFi records CLONE (success goes to two connections), ATTRIBUTES_MODIFIED and DROP
        # (auto-terminated success): only the two kinds ours emit are counted.
        received = [e for e in provenance(nifi, listen["id"], 2 * len(FILES)) if e["eventType"] == "RECEIVE"]
        c.check(len(received) == len(FILES), f"ListenDICOM: {len(received)} RECEIVE events, expected {len(FILES)}")
        c.check(all(e.get("transitUri", "").startswith("dicom://MODALITY1@127.0.0.1:") for e in received),
                f"RECEIVE transit URIs: {[e.get('transitUri') for e in received]}")
        sent = [e for e in provenance(nifi, put["id"], 3 * len(FILES)) if e["eventType"] == "SEND"]
        c.check(len(sent) == len(FILES), f"PutDICOM: {len(sent)} SEND events, expected {len(FILES)}")
        c.check(all(e.get("transitUri") == f"dicom://ARCHIVE@127.0.0.1:{scp_port}" for e in sent),
                f"SEND transit URIs: {[e.get('transitUri') for e in sent]}")
    finally:
        for proc in (scp, orthanc):
            if proc is not None:
                proc.kill()
        if os.path.isdir(inst):
            sh(CTL, "stop", inst)
    return finish(c)


def check_orthanc(c, http_port, work, ct_source):
    """What arrived in Orthanc through ListenDICOM -> ValidateImage -> ClipHU (DICOM out) -> PutDICOM."""
    if http_port is None:
        return
    deadline = time.time() + 60
    ids = []
    while time.time() < deadline:
        ids = orthanc_get(http_port, "/instances")
        if ids:
            time.sleep(2)   # anything else on its way
            ids = orthanc_get(http_port, "/instances")
            break
        time.sleep(1)
    if not c.check(len(ids) == 1, f"Orthanc holds {len(ids)} instances, expected the one derived CT object: {ids}"):
        return
    tags = orthanc_get(http_port, f"/instances/{ids[0]}/simplified-tags")
    c.check(tags.get("SeriesDescription") == "nifi-medprep ClipHU" and "DERIVED" in tags.get("ImageType", ""),
            f"Orthanc's tags of the arrived object: SeriesDescription {tags.get('SeriesDescription')!r}, "
            f"ImageType {tags.get('ImageType')!r}")
    path = os.path.join(work, "orthanc-derived.dcm")
    with open(path, "wb") as f:
        f.write(orthanc_get(http_port, f"/instances/{ids[0]}/file", raw=True))
    got = json.loads(subprocess.run([PYTHON, "-c", DERIVED_CHECK, path, ct_source], capture_output=True, text=True,
                                    check=True).stdout)
    print(f"e2e-dicomnet: Orthanc: {json.dumps(got)}", flush=True)
    c.check(got["image_type"][:1] == ["DERIVED"] and got["new_uid"] and got["source_reference"] == 1,
            f"the object in Orthanc is not a new DERIVED object referencing its source: {got}")
    c.check(got["patient_name"] == "" and not got["patient_id_kept"] and got["identity_removed"] == "YES",
            f"the object in Orthanc is not de-identified: {got}")
    c.check(got["max_diff"] <= got["half_slope"] + 1e-6,
            f"Orthanc's object holds other values than the source's HU clipped to -1000..1000: {got}")
    c.check(not got["dciodvfy_errors"], f"dciodvfy errors on the object in Orthanc: {got['dciodvfy_errors']}")


if __name__ == "__main__":
    sys.exit(main())
