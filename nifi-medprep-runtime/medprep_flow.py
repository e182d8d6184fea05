#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Build and run the nifi-medprep chest X-ray flow on a running NiFi 2.3.0 through its REST API.

  medprep_flow.py build-flow [--nifi URL] [--out flows/medprep/chest-xray.json]
      Creates the process group "chest-xray" with its parameter context, processors and connections in the
      running NiFi, downloads the flow definition (GET /process-groups/{id}/download), writes it, and removes
      the group and context again (use --keep to leave them).

  medprep_flow.py run --nifi URL --flow FILE --input DIR --output DIR [--timeout S] [--keep-running]
      Uploads the definition as a new group, sets the parameters (input/output dirs, a random patient key
      secret unless --secret is given), starts the group, waits until every input file is either an .npy under
      OUTPUT/{train,validation,test} or quarantined under OUTPUT/quarantine and all queues are empty, stops the
      group, counts provenance events and writes OUTPUT/summary.json.

Standard library only (Debian's /usr/bin/python3).
"""
import argparse
import collections
import json
import os
import secrets
import sys
import time
import urllib.error
import urllib.request
import uuid

STANDARD = "org.apache.nifi.processors.standard."
MEDPREP = "org.medprep.nifi."
FLOW_NAME = "chest-xray"
CLIENT_ID = "medprep-flow-" + uuid.uuid4().hex[:8]
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


class NiFiError(Exception):
    pass


class NiFi:
    def __init__(self, url):
        self.base = url.rstrip("/")
        if not self.base.endswith("/nifi-api"):
            self.base += "/nifi-api"

    def call(self, method, path, body=None, raw=False, data=None, headers=None, ok=(200, 201, 202)):
        hdrs = dict(headers or {})
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:
                payload = resp.read()
                if resp.status not in ok:
                    raise NiFiError(f"{method} {path}: HTTP {resp.status}")
        except urllib.error.HTTPError as e:
            raise NiFiError(f"{method} {path}: HTTP {e.code}: {e.read().decode(errors='replace')[:2000]}") from None
        except urllib.error.URLError as e:
            raise NiFiError(f"{method} {path}: {e.reason} (is NiFi running at {self.base}?)") from None
        if raw:
            return payload
        return json.loads(payload) if payload else None

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, body, **kw):
        return self.call("POST", path, body=body, **kw)

    def put(self, path, body, **kw):
        return self.call("PUT", path, body=body, **kw)

    def delete(self, path, **kw):
        return self.call("DELETE", path, **kw)

    def root_id(self):
        return self.get("/flow/process-groups/root")["processGroupFlow"]["id"]

    def version(self):
        return self.get("/flow/about")["about"]["version"]

    # --- groups -------------------------------------------------------------------------------------------------
    def set_group_state(self, pg, state):
        self.put(f"/flow/process-groups/{pg}", {"id": pg, "state": state})

    def group_status(self, pg):
        return self.get(f"/flow/process-groups/{pg}/status?recursive=true")["processGroupStatus"]["aggregateSnapshot"]

    def processors(self, pg):
        return self.get(f"/flow/process-groups/{pg}")["processGroupFlow"]["flow"]["processors"]

    def wait_stopped(self, pg, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            snap = self.group_status(pg)
            if snap.get("activeThreadCount", 0) == 0 and all(
                    p["component"]["state"] != "RUNNING" for p in self.processors(pg)):
                return
            time.sleep(0.5)

    def remove_group(self, pg):
        self.set_group_state(pg, "STOPPED")
        self.wait_stopped(pg)
        req = self.post(f"/process-groups/{pg}/empty-all-connections-requests", None)
        rid = req["dropRequest"]["id"]
        for _ in range(60):
            r = self.get(f"/process-groups/{pg}/empty-all-connections-requests/{rid}")
            if r["dropRequest"]["finished"]:
                break
            time.sleep(0.5)
        self.delete(f"/process-groups/{pg}/empty-all-connections-requests/{rid}")
        rev = self.get(f"/process-groups/{pg}")["revision"]["version"]
        self.delete(f"/process-groups/{pg}?version={rev}&clientId={CLIENT_ID}")

    def remove_groups_named(self, name):
        root = self.root_id()
        for g in self.get(f"/process-groups/{root}/process-groups")["processGroups"]:
            if g["component"]["name"] == name:
                self.remove_group(g["id"])

    def remove_contexts_named(self, name):
        for c in self.get("/flow/parameter-contexts")["parameterContexts"]:
            if c["component"]["name"] == name:
                rev = c["revision"]["version"]
                self.delete(f"/parameter-contexts/{c['id']}?version={rev}&clientId={CLIENT_ID}")

    # --- parameter contexts -------------------------------------------------------------------------------------
    def update_parameters(self, ctx_id, values, sensitive=()):
        ctx = self.get(f"/parameter-contexts/{ctx_id}")
        params = [{"parameter": {"name": k, "value": v, "sensitive": k in sensitive}} for k, v in values.items()]
        body = {"revision": ctx["revision"], "id": ctx_id,
                "component": {"id": ctx_id, "parameters": params}}
        req = self.post(f"/parameter-contexts/{ctx_id}/update-requests", body)
        rid = req["request"]["requestId"]
        try:
            for _ in range(240):
                r = self.get(f"/parameter-contexts/{ctx_id}/update-requests/{rid}")["request"]
                if r["complete"]:
                    if r.get("failureReason"):
                        raise NiFiError("parameter context update failed: " + r["failureReason"])
                    return
                time.sleep(0.5)
            raise NiFiError("parameter context update did not complete in 120 s")
        finally:
            self.delete(f"/parameter-contexts/{ctx_id}/update-requests/{rid}")

    # --- provenance ---------------------------------------------------------------------------------------------
    def provenance_query(self, search_terms=None, max_results=100000):
        req = {"maxResults": max_results, "summarize": True, "incrementalResults": False}
        if search_terms:
            req["searchTerms"] = {k: {"value": v, "inverse": False} for k, v in search_terms.items()}
        return self._finished("/provenance", "provenance", {"request": req})

    def lineage(self, flowfile_uuid):
        return self._finished("/provenance/lineage", "lineage",
                              {"request": {"lineageRequestType": "FLOWFILE", "uuid": flowfile_uuid}})

    def _finished(self, path, key, request):
        """Submits an asynchronous provenance request, polls it until finished (2 min at most), deletes it."""
        q = self.post(path, {key: request})[key]
        try:
            for _ in range(240):
                if q["finished"]:
                    return q["results"]
                time.sleep(0.5)
                q = self.get(f"{path}/{q['id']}")[key]
            raise NiFiError(f"{key} request did not finish")
        finally:
            self.delete(f"{path}/{q['id']}")


# ---------------------------------------------------------------------------------------------------------------
# The flow
# ---------------------------------------------------------------------------------------------------------------
PARAMETERS = [
    # name, value, sensitive, description
    ("input.dir", "/data/chest_xray", False, "Directory listed recursively (Kaggle layout DIR/{train,val,test}/{NORMAL,PNEUMONIA}/)."),
    ("output.dir", "/data/medprep-output", False, "Output root: <output.dir>/<split>/<label>/<name>.npy and <output.dir>/quarantine/."),
    ("zscore.mean", "0.482", False, "Training-set mean after scaling to [0, 1] (Z-Score with Fixed Statistics)."),
    ("zscore.std", "0.236", False, "Training-set standard deviation after scaling to [0, 1]."),
    ("split.train", "0.70", False, "Share of patients in train."),
    ("split.validation", "0.15", False, "Share of patients in validation."),
    ("split.test", "0.15", False, "Share of patients in test."),
    ("split.salt", "medprep", False, "Salt of the patient split hash: another salt draws another split."),
    ("patient.key.secret", "change-me", True, "HMAC secret of the patient pseudonyms (sensitive: not exported)."),
    ("patient.id.expression", "${filename:replaceFirst('_.*$', ''):replaceFirst('-\\d+\\.[^.]+$', '')}", False,
     "Expression Language giving the patient of a non-DICOM file from its attributes; the default maps Kaggle "
     "names to patients: person1234_bacteria_5678.jpeg -> person1234, IM-0115-0001.jpeg -> IM-0115, "
     "NORMAL2-IM-1427-0001.jpeg -> NORMAL2-IM-1427. DICOM input uses PatientID."),
]

# Label: last component of ListFile's relative `path` (e.g. train/NORMAL -> NORMAL).
LABEL_EL = "${path:replaceAll('/+$', ''):substringAfterLast('/')}"
KIND_EL = "${medprep.invalid.reason:isEmpty():ifElse('failure', 'invalid')}"
REASON_EL = ("${medprep.invalid.reason:escapeJson()}${medprep.failure.reason:escapeJson()}"
             "${medprep.invalid.reason:append(${medprep.failure.reason}):isEmpty()"
             ":ifElse('Routed to a failure relationship of a NiFi standard processor (fetching the input or "
             "writing the output failed; see the bulletins / nifi-app.log).', '')}")

# NiFi 2 draws processors 352 x 128 px; the quarantine column sits right of the main column, and failure
# connections run along a vertical bus at BUS_X (labels where they join it, level with their source processor).
COL_MAIN, COL_Q, BUS_X = 0, 800, 580
ROW = 220


def flow_spec():
    """Processors (key -> definition) and connections (source key, relationships, destination key)."""
    pixel = {"concurrentlySchedulableTaskCount": 2}
    P = {}
    P["list"] = dict(type=STANDARD + "ListFile", name="List input files", pos=(COL_MAIN, 0),
                     config={"schedulingPeriod": "1 sec", "properties": {
                         "Input Directory": "#{input.dir}", "Recurse Subdirectories": "true",
                         "listing-strategy": "timestamps", "File Filter": "[^\\.].*",
                         "Include File Attributes": "false"}})
    # ListFile's FlowFiles are empty: write {"name": <filename>, "label": <parent folder>} and read it back into
    # attributes (there is no UpdateAttribute), so quarantine and PutFile keep the original name and label
    # after the transforming processors have renamed filename (x.jpeg -> x.nii -> x.npy).
    P["srcjson"] = dict(type=STANDARD + "ReplaceText", name="Remember source name (JSON)", pos=(COL_MAIN, ROW),
                        config={"properties": {
                            "Replacement Strategy": "Always Replace", "Evaluation Mode": "Entire text",
                            "Replacement Value": '{"name":"${filename:escapeJson()}","label":"'
                                                 + LABEL_EL[:-1] + ':escapeJson()}"}'}})
    P["srcattr"] = dict(type=STANDARD + "EvaluateJsonPath", name="Set medprep.source.name and medprep.label",
                        pos=(COL_MAIN, 2 * ROW),
                        config={"properties": {"Destination": "flowfile-attribute", "Return Type": "scalar",
                                               "medprep.source.name": "$.name", "medprep.label": "$.label"}})
    P["fetch"] = dict(type=STANDARD + "FetchFile", name="Fetch input file", pos=(COL_MAIN, 3 * ROW),
                      config={"properties": {"File to Fetch": "${absolute.path}/${medprep.source.name}",
                                             "Completion Strategy": "None"}})
    P["validate"] = dict(type=MEDPREP + "ValidateImage", name="ValidateImage", pos=(COL_MAIN, 4 * ROW),
                         config={**pixel, "properties": {
                             "Patient Key Secret": "#{patient.key.secret}",
                             "Patient ID for Non-DICOM Input": "#{patient.id.expression}",
                             "Minimum Width": "64", "Minimum Height": "64",
                             "Allowed Modalities": "CR,DX"}})
    P["resize"] = dict(type=MEDPREP + "ResizeWithPadding", name="ResizeWithPadding 224x224", pos=(COL_MAIN, 5 * ROW),
                       config={**pixel, "properties": {"Width": "224", "Height": "224", "Padding Value": "0",
                                                       "Interpolation": "LINEAR", "Output Format": "NIFTI"}})
    P["denoise"] = dict(type=MEDPREP + "Denoise", name="Denoise Median 3", pos=(COL_MAIN, 6 * ROW),
                        config={**pixel, "properties": {"Filter": "Median", "Kernel Size": "3",
                                                        "Output Format": "NIFTI"}})
    P["clahe"] = dict(type=MEDPREP + "ApplyCLAHE", name="ApplyCLAHE 2.0 8x8", pos=(COL_MAIN, 7 * ROW),
                      config={**pixel, "properties": {"Clip Limit": "2.0", "Tile Grid Columns": "8",
                                                      "Tile Grid Rows": "8", "Output Format": "NIFTI"}})
    P["scale"] = dict(type=MEDPREP + "Normalize", name="Normalize: Scale by Bit Depth", pos=(COL_MAIN, 8 * ROW),
                      config={**pixel, "properties": {"Method": "Scale by Bit Depth", "Output Format": "NIFTI"}})
    P["zscore"] = dict(type=MEDPREP + "Normalize", name="Normalize: Z-Score with Fixed Statistics",
                       pos=(COL_MAIN, 9 * ROW),
                       config={**pixel, "properties": {"Method": "Z-Score with Fixed Statistics",
                                                       "Mean": "#{zscore.mean}", "Standard Deviation": "#{zscore.std}",
                                                       "Output Format": "NPY"}})
    P["split"] = dict(type=MEDPREP + "SplitByPatient", name="SplitByPatient", pos=(COL_MAIN, 10 * ROW),
                      config={"properties": {"Group Key": "${medprep.patient.key}", "Salt": "#{split.salt}",
                                             "Train Ratio": "#{split.train}",
                                             "Validation Ratio": "#{split.validation}",
                                             "Test Ratio": "#{split.test}"}})
    P["put"] = dict(type=STANDARD + "PutFile", name="Write <split>/<label>/<name>.npy", pos=(COL_MAIN, 11 * ROW),
                    config={"autoTerminatedRelationships": ["success"], "properties": {
                        "Directory": "#{output.dir}/${medprep.split}/${medprep.label}",
                        "Conflict Resolution Strategy": "fail", "Create Missing Directories": "true"}})
    # Quarantine: original file under <output>/quarantine/<original name> and <original name>.reason.txt
    P["qjson"] = dict(type=STANDARD + "ReplaceText", name="Quarantine record (JSON)", pos=(COL_Q, 4 * ROW),
                      config={"properties": {
                          "Replacement Strategy": "Always Replace", "Evaluation Mode": "Entire text",
                          "Replacement Value": '{"name":"${medprep.source.name:replaceEmpty(${filename}):escapeJson()}",'
                                               '"kind":"' + KIND_EL + '","reason":"' + REASON_EL + '"}'}})
    P["qattr"] = dict(type=STANDARD + "EvaluateJsonPath", name="Set original filename and reason",
                      pos=(COL_Q, 5 * ROW),
                      config={"properties": {"Destination": "flowfile-attribute", "Return Type": "scalar",
                                             "filename": "$.name", "medprep.quarantine.kind": "$.kind",
                                             "medprep.quarantine.reason": "$.reason"}})
    P["qfetch"] = dict(type=STANDARD + "FetchFile", name="Fetch original for quarantine", pos=(COL_Q, 6 * ROW),
                       config={"properties": {"File to Fetch": "${absolute.path}/${filename}",
                                              "Completion Strategy": "None"}})
    P["qput"] = dict(type=STANDARD + "PutFile", name="Quarantine original", pos=(COL_Q, 7 * ROW),
                     config={"properties": {"Directory": "#{output.dir}/quarantine",
                                            "Conflict Resolution Strategy": "replace",
                                            "Create Missing Directories": "true"}})
    P["rjson"] = dict(type=STANDARD + "ReplaceText", name="Reason file name (JSON)", pos=(COL_Q, 8 * ROW),
                      config={"properties": {
                          "Replacement Strategy": "Always Replace", "Evaluation Mode": "Entire text",
                          "Replacement Value": '{"name":"${filename:escapeJson()}.reason.txt"}'}})
    P["rattr"] = dict(type=STANDARD + "EvaluateJsonPath", name="Set filename <original>.reason.txt",
                      pos=(COL_Q, 9 * ROW),
                      config={"properties": {"Destination": "flowfile-attribute", "Return Type": "scalar",
                                             "filename": "$.name"}})
    P["rtext"] = dict(type=STANDARD + "ReplaceText", name="Reason text", pos=(COL_Q, 10 * ROW),
                      config={"properties": {
                          "Replacement Strategy": "Always Replace", "Evaluation Mode": "Entire text",
                          "Replacement Value": "${medprep.quarantine.kind}: ${medprep.quarantine.reason}\n"}})
    P["rput"] = dict(type=STANDARD + "PutFile", name="Quarantine reason", pos=(COL_Q, 11 * ROW),
                     config={"autoTerminatedRelationships": ["success", "failure"], "properties": {
                         "Directory": "#{output.dir}/quarantine", "Conflict Resolution Strategy": "replace",
                         "Create Missing Directories": "true"}})
    C = [
        ("list", ["success"], "srcjson"),
        ("srcjson", ["success"], "srcattr"),
        ("srcattr", ["matched"], "fetch"),
        ("fetch", ["success"], "validate"),
        ("validate", ["valid"], "resize"),
        ("resize", ["success"], "denoise"),
        ("denoise", ["success"], "clahe"),
        ("clahe", ["success"], "scale"),
        ("scale", ["success"], "zscore"),
        ("zscore", ["success"], "split"),
        ("split", ["train", "validation", "test"], "put"),
        # everything that is not an output goes to quarantine
        ("srcjson", ["failure"], "qjson"),
        ("srcattr", ["unmatched", "failure"], "qjson"),
        ("fetch", ["not.found", "permission.denied", "failure"], "qjson"),
        ("validate", ["invalid", "failure"], "qjson"),
        ("resize", ["failure"], "qjson"),
        ("denoise", ["failure"], "qjson"),
        ("clahe", ["failure"], "qjson"),
        ("scale", ["failure"], "qjson"),
        ("zscore", ["failure"], "qjson"),
        ("split", ["failure"], "qjson"),
        ("put", ["failure"], "qjson"),
        ("qjson", ["success", "failure"], "qattr"),
        ("qattr", ["matched", "unmatched", "failure"], "qfetch"),
        ("qfetch", ["success", "not.found", "permission.denied", "failure"], "qput"),
        ("qput", ["success", "failure"], "rjson"),
        ("rjson", ["success", "failure"], "rattr"),
        ("rattr", ["matched", "unmatched", "failure"], "rtext"),
        ("rtext", ["success", "failure"], "rput"),
    ]
    return P, C


def build_flow(args):
    nifi = NiFi(args.nifi)
    nifi.remove_groups_named(FLOW_NAME)
    nifi.remove_contexts_named(FLOW_NAME)
    ctx = nifi.post("/parameter-contexts", {"revision": {"version": 0}, "component": {
        "name": FLOW_NAME,
        "description": "nifi-medprep chest X-ray preprocessing (Kaggle Chest X-Ray Pneumonia layout).",
        "parameters": [{"parameter": {"name": n, "value": v, "sensitive": s, "description": d}}
                       for n, v, s, d in PARAMETERS]}})
    root = nifi.root_id()
    pg = nifi.post(f"/process-groups/{root}/process-groups", {"revision": {"version": 0}, "component": {
        "name": FLOW_NAME, "position": {"x": 0, "y": 0},
        "comments": "ListFile -> FetchFile -> ValidateImage -> ResizeWithPadding 224x224 -> Denoise Median 3 -> "
                    "ApplyCLAHE 2.0 8x8 -> Normalize (bit depth) -> Normalize (fixed z-score) -> SplitByPatient -> "
                    "PutFile <output>/<split>/<label>/<name>.npy; everything else -> <output>/quarantine/.",
        "parameterContext": {"id": ctx["id"]}}})["id"]
    P, C = flow_spec()
    ids = {}
    for key, p in P.items():
        config = {"penaltyDuration": "1 sec", **p["config"]}
        comp = {"type": p["type"], "name": p["name"], "position": {"x": p["pos"][0], "y": p["pos"][1]},
                "config": config}
        ids[key] = nifi.post(f"/process-groups/{pg}/processors", {"revision": {"version": 0}, "component": comp})["id"]
    for src, rels, dst in C:
        comp = {"source": {"id": ids[src], "groupId": pg, "type": "PROCESSOR"},
                "destination": {"id": ids[dst], "groupId": pg, "type": "PROCESSOR"},
                "selectedRelationships": rels,
                "backPressureObjectThreshold": 10000, "backPressureDataSizeThreshold": "1 GB"}
        if P[src]["pos"][0] == COL_MAIN and P[dst]["pos"][0] == COL_Q:
            comp["bends"] = [{"x": BUS_X, "y": P[src]["pos"][1] + 64}]
            if P[src]["pos"][1] != P[dst]["pos"][1]:  # then along the bus into the quarantine record's side
                comp["bends"].append({"x": BUS_X, "y": P[dst]["pos"][1] + 64})
            comp["labelIndex"] = 0
        nifi.post(f"/process-groups/{pg}/connections", {"revision": {"version": 0}, "component": comp})
    # every processor must be valid
    bad = []
    for key, pid in ids.items():
        c = nifi.get(f"/processors/{pid}")["component"]
        errors = [e for e in c.get("validationErrors") or []
                  if "Directory does not exist" not in e]  # input.dir is only a placeholder at build time
        if errors:
            bad.append(f"{c['name']}: {errors}")
    if bad:
        raise NiFiError("invalid processors:\n  " + "\n  ".join(bad))
    definition = nifi.get(f"/process-groups/{pg}/download")
    out = args.out
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(definition, f, indent=2)
        f.write("\n")
    print(f"wrote {out}: {len(P)} processors, {len(C)} connections, parameter context '{FLOW_NAME}'")
    if not args.keep:
        nifi.remove_group(pg)
        nifi.remove_contexts_named(FLOW_NAME)


# ---------------------------------------------------------------------------------------------------------------
# run
# ---------------------------------------------------------------------------------------------------------------
SPLITS = ("train", "validation", "test")


def list_files(root, pred=lambda p: True):
    found = []
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            if os.path.isfile(p) and not os.path.islink(p) and pred(p):
                found.append(p)
    return found


def input_files(root):
    # ListFile's default File Filter [^\.].* skips hidden files; count what it lists.
    return [p for p in list_files(root) if not os.path.basename(p).startswith(".")]


def outputs(out_dir):
    return {s: list_files(os.path.join(out_dir, s), lambda p: p.endswith(".npy")) for s in SPLITS}


def quarantined(out_dir):
    q = os.path.join(out_dir, "quarantine")
    originals = list_files(q, lambda p: not p.endswith(".reason.txt"))
    reasons = list_files(q, lambda p: p.endswith(".reason.txt"))
    kinds = {"invalid": [], "failure": []}
    for r in reasons:
        with open(r, errors="replace") as f:
            text = f.read()
        kinds["invalid" if text.startswith("invalid:") else "failure"].append(r)
    return originals, reasons, kinds


def log_tail(nifi_dir, n=30):
    if not nifi_dir:
        return ""
    path = os.path.join(nifi_dir, "logs", "nifi-app.log")
    try:
        with open(path, errors="replace") as f:
            lines = f.readlines()
    except OSError:
        return f"(no log at {path})"
    # WARN/ERROR records (first line each) of the log; the INFO chatter of stopping processors says nothing
    picked = [ln for ln in lines if " WARN " in ln[:60] or " ERROR " in ln[:60]]
    return "".join(picked[-n:]) or "".join(lines[-n:])


def event_time(event):
    """Seconds since the epoch of a provenance event's eventTime ("11/21/2026 23:43:45.517 UTC")."""
    try:
        import calendar
        t = time.strptime(event["eventTime"][:19], "%m/%d/%Y %H:%M:%S")
        return calendar.timegm(t) + float("0" + event["eventTime"][19:23])
    except (KeyError, ValueError):
        return float("inf")


def upload(nifi, flow_file, name):
    root = nifi.root_id()
    boundary = "----medprep" + uuid.uuid4().hex
    with open(flow_file, "rb") as f:
        content = f.read()
    parts = []
    for k, v in (("groupName", name), ("positionX", "0"), ("positionY", "0"), ("clientId", CLIENT_ID)):
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode())
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{os.path.basename(flow_file)}"'
                 f'\r\nContent-Type: application/json\r\n\r\n'.encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return nifi.call("POST", f"/process-groups/{root}/process-groups/upload", data=b"".join(parts),
                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})


def run(args):
    nifi = NiFi(args.nifi)
    version = nifi.version()
    flow_name = os.path.splitext(os.path.basename(args.flow))[0]
    in_dir, out_dir = os.path.abspath(args.input), os.path.abspath(args.output)
    if not os.path.isdir(in_dir):
        raise NiFiError(f"input directory {in_dir} does not exist")
    os.makedirs(out_dir, exist_ok=True)
    inputs = input_files(in_dir)
    if not inputs:
        raise NiFiError(f"no input files under {in_dir}")

    # fresh group and parameter context for this run
    nifi.remove_groups_named(flow_name)
    nifi.remove_contexts_named(flow_name)
    pg_entity = upload(nifi, args.flow, flow_name)
    pg = pg_entity["id"]
    ctx_id = pg_entity["component"]["parameterContext"]["id"]
    secret = args.secret or secrets.token_hex(32)
    values = {"input.dir": in_dir, "output.dir": out_dir, "patient.key.secret": secret}
    for kv in args.param or []:
        k, _, v = kv.partition("=")
        values[k] = v
    nifi.update_parameters(ctx_id, values, sensitive={"patient.key.secret"})
    invalid = [f"{p['component']['name']}: {p['component'].get('validationErrors')}"
               for p in nifi.processors(pg) if p["component"]["validationStatus"] != "VALID"]
    if invalid:
        raise NiFiError("processors are not valid after setting the parameters:\n  " + "\n  ".join(invalid))

    print(f"medprep_flow: {len(inputs)} input files under {in_dir}; group {pg} on NiFi {version}")
    t0 = time.time()
    nifi.set_group_state(pg, "RUNNING")
    deadline = t0 + args.timeout
    last_report = 0
    idle_since, last_counts = None, None
    while True:
        outs = outputs(out_dir)
        n_out = sum(len(v) for v in outs.values())
        originals, reasons, kinds = quarantined(out_dir)
        snap = nifi.group_status(pg)
        queued = snap.get("flowFilesQueued", 0)
        done = n_out + len(originals) >= len(inputs) and len(reasons) >= len(originals) and queued == 0 \
            and snap.get("activeThreadCount", 0) == 0
        now = time.time()
        if done:
            break
        if now - last_report >= 10:
            print(f"medprep_flow: {now - t0:5.0f} s: {n_out} outputs, {len(originals)} quarantined, "
                  f"{queued} queued", flush=True)
            last_report = now
        if now > deadline:
            break
        # idle: nothing queued or running and no new file for --idle-timeout s -> something is lost
        counts = (n_out, len(originals), len(reasons))
        if queued == 0 and snap.get("activeThreadCount", 0) == 0 and counts == last_counts:
            idle_since = idle_since or now
            if now - idle_since >= args.idle_timeout:
                break
        else:
            idle_since = None
        last_counts = counts
        time.sleep(1)
    nifi.set_group_state(pg, "STOPPED")
    nifi.wait_stopped(pg)

    outs = outputs(out_dir)
    originals, reasons, kinds = quarantined(out_dir)
    n_out = sum(len(v) for v in outs.values())
    written = [p for v in outs.values() for p in v] + originals + reasons
    last_mtime = max((os.path.getmtime(p) for p in written), default=t0)

    # every provenance event of this run's group (the instance may hold events of earlier runs)
    group_procs = {p["id"] for p in nifi.processors(pg)}
    prov = nifi.provenance_query(max_results=args.max_events)
    events = [e for e in prov.get("provenanceEvents", [])
              if (e.get("groupId") == pg or e.get("componentId") in group_procs) and event_time(e) >= t0 - 1]
    by_type = {}
    for e in events:
        by_type[e["eventType"]] = by_type.get(e["eventType"], 0) + 1

    summary = {
        "flow": flow_name,
        "inputs": len(inputs),
        "outputs": {s: len(outs[s]) for s in SPLITS},
        "quarantined": {"invalid": len(kinds["invalid"]), "failure": len(kinds["failure"])},
        "provenance_events": len(events),
        "processing_seconds": round(last_mtime - t0, 2),
        "nifi_version": version,
    }
    with open(os.path.join(out_dir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")

    print(f"\nflow {flow_name} on NiFi {version}: {len(inputs)} inputs in {summary['processing_seconds']} s")
    print("  outputs     train {train}, validation {validation}, test {test}".format(**summary["outputs"]))
    print("  quarantined invalid {invalid}, failure {failure}".format(**summary["quarantined"]))
    for r in sorted(reasons):
        with open(r, errors="replace") as f:
            print(f"    {os.path.basename(r)[:-len('.reason.txt')]}: {f.read().strip()[:200]}")
    print(f"  provenance  {len(events)} events ({', '.join(f'{k} {v}' for k, v in sorted(by_type.items()))})")
    print(f"  summary     {os.path.join(out_dir, 'summary.json')}")

    accounted = n_out + len(originals)
    if accounted != len(inputs) or len(reasons) != len(originals):
        # outputs are named <stem>.npy and quarantined files keep the input name: match by name, with multiplicity
        stem = lambda p: os.path.splitext(os.path.basename(p))[0]
        deficit = collections.Counter(map(stem, inputs))
        deficit.subtract(collections.Counter([stem(p) for v in outs.values() for p in v] + list(map(stem, originals))))
        missing = [os.path.relpath(p, in_dir) + ("  (this name occurs in several input folders: outputs or "
                                                 "quarantine files of the same name overwrote each other)"
                                                 if list(map(stem, inputs)).count(stem(p)) > 1 else "")
                   for p in sorted(inputs) if deficit[stem(p)] > 0]
        snap = nifi.group_status(pg)
        msg = (f"{len(inputs)} inputs but {n_out} outputs + {len(originals)} quarantined "
               f"({len(reasons)} reason files); {snap.get('flowFilesQueued', 0)} FlowFiles still queued "
               f"after {time.time() - t0:.0f} s.\n  not accounted for:\n    " + "\n    ".join(missing[:50]))
        raise NiFiError(msg)
    # the group stays (stopped) for inspection in the UI; the next run replaces it
    if args.keep_running:
        nifi.set_group_state(pg, "RUNNING")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build-flow", help="build the flow in NiFi and write its definition")
    b.add_argument("--nifi", default="http://127.0.0.1:18080")
    b.add_argument("--out", default=os.path.join(REPO, "flows", "medprep", "chest-xray.json"))
    b.add_argument("--keep", action="store_true", help="leave the group and parameter context in NiFi")
    r = sub.add_parser("run", help="upload a flow definition, run it over an input directory, summarize")
    r.add_argument("--nifi", default="http://127.0.0.1:18080")
    r.add_argument("--flow", default=os.path.join(REPO, "flows", "medprep", "chest-xray.json"))
    r.add_argument("--input", required=True)
    r.add_argument("--output", required=True)
    r.add_argument("--secret", help="patient key secret (default: random per run)")
    r.add_argument("--param", action="append", metavar="NAME=VALUE", help="set another parameter")
    r.add_argument("--timeout", type=float, default=1800, help="give up after this many seconds (default 1800)")
    r.add_argument("--idle-timeout", type=float, default=30,
                   help="give up when queues are empty and no file appeared for this many seconds (default 30)")
    r.add_argument("--max-events", type=int, default=1000000)
    r.add_argument("--nifi-dir", help="NiFi instance directory (for the log tail on errors)")
    r.add_argument("--keep-running", action="store_true", help="leave the group running")
    args = ap.parse_args()
    try:
        return build_flow(args) if args.cmd == "build-flow" else run(args)
    except NiFiError as e:
        print(f"medprep_flow: ERROR: {e}", file=sys.stderr)
        tail = log_tail(getattr(args, "nifi_dir", None))
        if tail:
            print("--- NiFi log tail ---\n" + tail, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main() or 0)
