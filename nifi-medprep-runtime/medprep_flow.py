#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Run a nifi-medprep flow definition on a running NiFi 2.3.0 through its REST API.

  medprep_flow.py run --nifi URL --flow FILE --input DIR --output DIR [--timeout S] [--keep-running]
      Replaces the group an earlier run of this tool left in NiFi (and only such a group: it is recognised by
      its name "<flow> (medprep run)" and the mark "created by medprep_flow.py run" in its comments; groups
      you uploaded yourself are never touched), uploads FILE as a new group with a parameter context of its
      own, sets the parameters (input/output directories; the patient key secret from the environment variable
      MEDPREP_PATIENT_KEY_SECRET, never from the command line), checks that every processor is valid, starts
      the group, waits until every input file is either an .npy under OUTPUT/{train,validation,test} or
      quarantined under OUTPUT/quarantine/<input folder>/ and all queues are empty, stops the group, counts
      provenance events and writes OUTPUT/summary.json.

  With --registry-repo GITDIR [--registry-branch BRANCH] the group is imported UNDER VERSION CONTROL instead of
      uploaded: a Git flow registry client (org.medprep.registry.GitFlowRegistryClient) named REGISTRY_CLIENT_NAME
      is created (or updated) for GITDIR with Default Branch BRANCH, and the group is imported from bucket
      "medprep", flow "<flow>", at the latest commit of BRANCH that changed flows/medprep/<flow>.json - so Commit,
      Change version and Revert work from the NiFi UI, committing to BRANCH of GITDIR. The group (named after the
      flow, as NiFi names imports) is then recognised as this tool's by its id, recorded in
      INSTANCE/medprep-run.json (--nifi-dir): a changed comment or name would be committed with the flow. When the file in the work tree differs from BRANCH's, the
      work tree's file is uploaded unversioned as without --registry-repo (and the difference is reported).

The flow definition (flows/medprep/<flow>.json) is the single source of truth: it is what NiFi's
GET /process-groups/{id}/download returns; edit the flow in NiFi and download it again to change it.
Standard library only (Debian's /usr/bin/python3).
"""
import argparse
import collections
import json
import os
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

SECRET_ENV = "MEDPREP_PATIENT_KEY_SECRET"
# How this tool marks what it creates, so that a later run replaces its own group and nothing else.
RUN_MARK = "created by medprep_flow.py run"
CLIENT_ID = "medprep-flow-" + uuid.uuid4().hex[:8]
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
REGISTRY_CLIENT_TYPE = "org.medprep.registry.GitFlowRegistryClient"
REGISTRY_CLIENT_NAME = "medprep flows (git)"
REGISTRY_BUCKET = "medprep"
STATE_FILE = "medprep-run.json"   # in the instance directory: the groups this tool imported, per flow


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

    def all_processors(self, pg):
        """The processors of the group and of every group inside it."""
        return self.get(f"/process-groups/{pg}/processors?includeDescendantGroups=true")["processors"]

    def descendant_groups(self, pg):
        """Every group inside PG (children, their children, ...)."""
        found = []
        for g in self.child_groups(pg):
            found += [g] + self.descendant_groups(g["id"])
        return found

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

    def child_groups(self, parent=None):
        parent = parent or self.root_id()
        return self.get(f"/process-groups/{parent}/process-groups")["processGroups"]

    def set_group_comments(self, pg, comments):
        entity = self.get(f"/process-groups/{pg}")
        self.put(f"/process-groups/{pg}", {"revision": entity["revision"], "id": pg,
                                             "component": {"id": pg, "comments": comments}})

    def remove_context_if_unused(self, ctx_id):
        """Deletes a parameter context unless a process group still references it; returns True if deleted."""
        try:
            ctx = self.get(f"/parameter-contexts/{ctx_id}")
        except NiFiError:
            return False  # already gone
        if ctx["component"].get("boundProcessGroups"):
            return False
        rev = ctx["revision"]["version"]
        self.delete(f"/parameter-contexts/{ctx_id}?version={rev}&clientId={CLIENT_ID}")
        return True

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

    def parents(self, event_id):
        """The lineage of the parents of a JOIN/FORK/CLONE event (what the UI's "Find parents" shows)."""
        return self._finished("/provenance/lineage", "lineage",
                              {"request": {"lineageRequestType": "PARENTS", "eventId": int(event_id)}})

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
    """What ListFile lists: regular files, also through symbolic links to files and folders (it follows links;
    a link whose target is gone is not listed), except hidden ones (the flow's File Filter [^\\.].*)."""
    found = []
    for d, _, files in os.walk(root, followlinks=True):
        found += [os.path.join(d, f) for f in files
                  if not f.startswith(".") and os.path.isfile(os.path.join(d, f))]
    return found


OUTPUT_EXTENSIONS = (".npy", ".nii.gz")


def is_output(p):
    return p.endswith(OUTPUT_EXTENSIONS) and not os.path.basename(p).startswith(".")


def outputs(out_dir):
    """Output images per split: .npy (chest-xray) or .nii.gz volumes (ct), not PutFile's in-progress dot files."""
    return {s: list_files(os.path.join(out_dir, s), is_output) for s in SPLITS}


def sidecar_of(path):
    """The JSON sidecar next to an output or quarantined volume (<name>.json), or None."""
    for ext in OUTPUT_EXTENSIONS + (".nii", ".zip"):
        if path.endswith(ext):
            side = path[:-len(ext)] + ".json"
            return side if os.path.isfile(side) else None
    return None


def inputs_covered(path):
    """How many input files one output or quarantined item stands for: the slice count MergeContent wrote
    (merge.count in its sidecar) for a series volume, else 1. None while a volume's sidecar is not written yet."""
    if not path.endswith((".nii.gz", ".nii", ".zip")):
        return 1
    side = sidecar_of(path)
    if side is None:
        return None
    try:
        with open(side) as f:
            return int(json.load(f).get("merge.count", 1))
    except (OSError, ValueError):
        return None


def quarantined(out_dir):
    """Quarantined originals and reason files under OUTPUT/quarantine/<input folder>/ (PutFile's in-progress
    dot files are not counted)."""
    q = os.path.join(out_dir, "quarantine")
    visible = lambda p: not os.path.basename(p).startswith(".")
    # a series refused after it became a volume leaves the volume, its reason and a JSON sidecar in quarantine/series/
    originals = list_files(q, lambda p: visible(p) and not p.endswith(".reason.txt")
                           and not (p.endswith(".json") and os.path.dirname(p) == os.path.join(q, "series")))
    reasons = list_files(q, lambda p: visible(p) and p.endswith(".reason.txt"))
    kinds = {"invalid": [], "failure": []}
    for r in reasons:
        with open(r, errors="replace") as f:
            text = f.read()
        kinds["invalid" if text.startswith("invalid:") else "failure"].append(r)
    return originals, reasons, kinds


def collect(areas):
    """outputs() and quarantined() summed over output roots (a hospital feed has one per modality group)."""
    outs, originals, reasons, kinds = {s: [] for s in SPLITS}, [], [], {"invalid": [], "failure": []}
    for area in areas:
        for s, found in outputs(area).items():
            outs[s] += found
        o, r, k = quarantined(area)
        originals += o
        reasons += r
        for kind in kinds:
            kinds[kind] += k[kind]
    return outs, originals, reasons, kinds


def listens_for_dicom(definition):
    """True when the flow's input is the DICOM network (a ListenDICOM), not a directory it lists."""
    return any(p["type"].endswith(".ListenDICOM") for p in definition["flowContents"].get("processors") or [])


def context_names(group):
    """The parameter context names of a group definition and of the groups inside it."""
    names = [group["parameterContextName"]] if group.get("parameterContextName") else []
    for child in group.get("processGroups") or []:
        names += context_names(child)
    return names


def is_dicom_part10(path):
    try:
        with open(path, "rb") as f:
            return f.read(132)[128:132] == b"DICM"
    except OSError:
        return False


def transfer_syntax(path):
    """The Transfer Syntax UID (0002,0010) of a DICOM Part 10 file's meta group (explicit VR little endian, as
    PS3.10 defines it), or None when it cannot be read."""
    try:
        with open(path, "rb") as f:
            data = f.read(132 + 4096)
    except OSError:
        return None
    pos = 132
    while pos + 8 <= len(data):
        group, element = struct.unpack_from("<HH", data, pos)
        if group != 0x0002:
            return None
        vr = data[pos + 4:pos + 6]
        if vr in (b"OB", b"OW", b"OF", b"SQ", b"UT", b"UN"):
            length, value = struct.unpack_from("<I", data, pos + 8)[0], pos + 12
        else:
            length, value = struct.unpack_from("<H", data, pos + 6)[0], pos + 8
        if element == 0x0010:
            return data[value:value + length].rstrip(b"\0 ").decode("ascii", "replace")
        pos = value + length
    return None


# dcmtk storescu proposes uncompressed transfer syntaxes only, unless told which compressed one to propose (one per
# call): a file stored compressed is sent with the option naming its transfer syntax, so it arrives as it is
STORESCU_PROPOSAL = {
    "1.2.840.10008.1.2.4.50": "-xy",   # JPEG baseline (8 bit)
    "1.2.840.10008.1.2.4.51": "-xx",   # JPEG extended (12 bit)
    "1.2.840.10008.1.2.4.57": "-xs",   # JPEG lossless
    "1.2.840.10008.1.2.4.70": "-xs",   # JPEG lossless, first-order prediction
    "1.2.840.10008.1.2.4.80": "-xt",   # JPEG-LS lossless
    "1.2.840.10008.1.2.4.81": "-xu",   # JPEG-LS near-lossless
    "1.2.840.10008.1.2.4.90": "-xv",   # JPEG 2000 lossless
    "1.2.840.10008.1.2.4.91": "-xw",   # JPEG 2000
    "1.2.840.10008.1.2.5": "-xr",      # RLE lossless
    "1.2.840.10008.1.2.1.99": "-xd",   # deflated explicit VR little endian
}


def send_instances(files, port, called_ae, calling_ae="MEDPREP-RUN", timeout=60):
    """Sends FILES to 127.0.0.1:PORT with dcmtk's storescu (a standard C-STORE SCU), after echoscu has had an
    answer (the listener starts with the group). Files go in one association per transfer syntax and per 200 files
    (storescu proposes the file's compressed syntax only when told which). storescu stops at a file it cannot send:
    the files after it go in a new association, so one file refused stops no other and none is sent twice.

    Returns {file: reason} of the files that were not stored (the C-STORE response or storescu's error); every
    other file's C-STORE was acknowledged with success or a warning. Raises NiFiError when the listener does not answer C-ECHO."""
    deadline = time.time() + timeout
    while True:
        echo = subprocess.run(["echoscu", "-aet", calling_ae, "-aec", called_ae, "127.0.0.1", str(port)],
                              capture_output=True, text=True)
        if echo.returncode == 0:
            break
        if time.time() > deadline:
            raise NiFiError(f"the DICOM listener on 127.0.0.1:{port} (AE {called_ae}) did not answer C-ECHO in "
                            f"{timeout} s: {echo.stderr.strip()[-300:]}")
        time.sleep(1)

    def store(option, paths):
        """One storescu association over PATHS: (files whose C-STORE succeeded, {file: why} of those that failed,
        the last error line). storescu stops at a file it cannot send; the files after it are in neither."""
        r = subprocess.run(["storescu", "-v", option, "--required", "-aet", calling_ae, "-aec", called_ae,
                            "127.0.0.1", str(port), *paths], capture_output=True, text=True)
        lines = (r.stdout + r.stderr).splitlines()
        errors = [ln[3:] for ln in lines if ln[:3] in ("E: ", "F: ")]
        stored, failed, current = set(), {}, None
        for ln in lines:
            if ln.startswith("I: Sending file: "):
                current = ln[len("I: Sending file: "):]
            elif current and "Received Store Response" in ln:
                if "(Success" in ln or "(Warning" in ln:
                    stored.add(current)
                else:
                    failed[current] = ln.split("Received ", 1)[1]
                current = None
        if current:   # the file storescu was sending when it gave up
            failed[current] = errors[-1] if errors else "storescu failed"
        return stored, failed, (errors[-1] if errors else f"storescu exited with {r.returncode}")

    by_option = {}
    for path in files:
        by_option.setdefault(STORESCU_PROPOSAL.get(transfer_syntax(path), "-x="), []).append(path)
    not_sent = {}
    for option, paths in sorted(by_option.items()):
        for i in range(0, len(paths), 200):
            remaining = paths[i:i + 200]
            while remaining:
                stored, failed, error = store(option, remaining)
                not_sent.update(failed)
                rest = [p for p in remaining if p not in stored and p not in failed]
                if not rest:
                    break
                if not stored and not failed:   # no file was tried: the association itself failed
                    not_sent.update({p: error for p in rest})
                    break
                remaining = rest   # go on after the file storescu stopped at; nothing is sent twice
    return not_sent


def accounted(outs, originals):
    """(input files accounted for by outputs and quarantined items, items whose sidecar is still missing)."""
    total, pending = 0, 0
    for p in [p for v in outs.values() for p in v] + originals:
        n = inputs_covered(p)
        if n is None:
            pending += 1
        else:
            total += n
    return total, pending


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


def upload(nifi, flow_file, name, content=None):
    """POST /process-groups/{root}/process-groups/upload, as the UI's "Upload flow definition" does."""
    root = nifi.root_id()
    boundary = "----medprep" + uuid.uuid4().hex
    if content is None:
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


def nifi_cpu_seconds(nifi_dir):
    """User + system CPU seconds of the NiFi JVM of INSTANCE (its run/nifi.pid), or None when unknown."""
    try:
        with open(os.path.join(nifi_dir, "run", "nifi.pid")) as f:
            pid = int(f.read().strip())
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, TypeError):
        return None


def run_group_name(flow_name):
    return f"{flow_name} (medprep run)"


def load_state(nifi_dir):
    try:
        with open(os.path.join(nifi_dir, STATE_FILE)) as f:
            return json.load(f)
    except (OSError, ValueError, TypeError):
        return {}


def save_state(nifi_dir, state):
    if nifi_dir:
        with open(os.path.join(nifi_dir, STATE_FILE), "w") as f:
            json.dump(state, f, indent=2)
            f.write("\n")


def remove_earlier_runs(nifi, flow_name, nifi_dir=None):
    """Removes the groups earlier runs of this tool created for this flow (name and comment mark, or name and the
    id recorded in INSTANCE/medprep-run.json for a group imported under version control), after stopping
    them and emptying their queues, and their parameter contexts when no other group references them. Groups
    uploaded by hand, and contexts they use, are left alone."""
    recorded = (load_state(nifi_dir).get("groups") or {}).get(flow_name) if nifi_dir else None
    for g in nifi.child_groups():
        comp = g["component"]
        marked = comp["name"] == run_group_name(flow_name) and RUN_MARK in (comp.get("comments") or "")
        # a versioned group bears the flow's own name (NiFi names an import after the flow, and a new name would be
        # committed with it): the recorded id is the mark
        if not marked and g["id"] != recorded:
            continue
        # the contexts of the group and of the groups inside it (the hospital feed's modality groups have their own)
        contexts = [(x["component"].get("parameterContext") or {}).get("id") for x in [g] + nifi.descendant_groups(g["id"])]
        print(f"medprep_flow: replacing group {g['id']} of an earlier run (stopping it, emptying its queues)")
        nifi.remove_group(g["id"])
        for ctx in dict.fromkeys(c for c in contexts if c):
            if not nifi.remove_context_if_unused(ctx):
                print(f"medprep_flow: parameter context {ctx} is still used by another group: kept")


def definition_for_run(flow_file, flow_name):
    """The flow definition with its parameter context renamed for this run. NiFi 2.3.0's upload binds a
    definition's context to an existing context OF THE SAME NAME when there is one (it reuses it rather than
    creating a new one), so uploading under the file's own name would make this run share - and overwrite -
    the parameters of a group the user uploaded by hand. A run's context gets a name of its own."""
    with open(flow_file) as f:
        definition = json.load(f)
    contexts = definition.get("parameterContexts") or {}
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    renamed = {}
    for old, ctx in contexts.items():
        new = f"{old} (medprep run {stamp})"
        ctx["name"] = new
        renamed[old] = new
    definition["parameterContexts"] = {renamed[k]: v for k, v in contexts.items()}

    def rebind(group):
        if group.get("parameterContextName") in renamed:
            group["parameterContextName"] = renamed[group["parameterContextName"]]
        for child in group.get("processGroups") or []:
            rebind(child)
    rebind(definition["flowContents"])
    for ctx in definition["parameterContexts"].values():
        ctx["inheritedParameterContexts"] = [renamed.get(n, n) for n in ctx.get("inheritedParameterContexts") or []]
    return json.dumps(definition).encode()


def git(gitdir, *args):
    r = subprocess.run(["git", f"--git-dir={gitdir}", *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise NiFiError(f"git {' '.join(args)} in {gitdir} failed: {r.stderr.strip()}")
    return r.stdout


def canonical_flow(definition):
    """A flow definition without what differs between two copies of one flow (the e2e test's comparison):
    instance ids, the group's own identifier, the order of list items."""
    gid = definition["flowContents"].get("identifier")

    def norm(o):
        if isinstance(o, dict):
            return {k: norm(v) for k, v in o.items() if k != "instanceIdentifier"}
        if isinstance(o, list):
            return sorted((norm(x) for x in o), key=lambda x: json.dumps(x, sort_keys=True))
        return "<group>" if o == gid else o
    return norm(definition)


def ensure_registry_client(nifi, gitdir, branch):
    """The Git flow registry client REGISTRY_CLIENT_NAME for GITDIR and BRANCH: created, or updated when its
    Repository or Default Branch differ. Returns its id."""
    props = {"Repository": gitdir, "Repository Path": "flows", "Default Branch": branch}
    for c in nifi.get("/controller/registry-clients")["registries"]:
        comp = c["component"]
        if comp["name"] != REGISTRY_CLIENT_NAME or comp.get("type") != REGISTRY_CLIENT_TYPE:
            continue
        have = comp.get("properties") or {}
        if any(have.get(k) != v for k, v in props.items()):
            nifi.put(f"/controller/registry-clients/{c['id']}", {"revision": c["revision"], "id": c["id"],
                     "component": {"id": c["id"], "properties": props}})
        return c["id"]
    types = [t for t in nifi.get("/controller/registry-types")["flowRegistryClientTypes"]
             if t["type"] == REGISTRY_CLIENT_TYPE]
    if not types:
        raise NiFiError(f"NiFi has no {REGISTRY_CLIENT_TYPE} (the nifi-medprep-registry-nar is not in extensions/)")
    c = nifi.post("/controller/registry-clients", {"revision": {"version": 0}, "component": {
        "name": REGISTRY_CLIENT_NAME, "type": REGISTRY_CLIENT_TYPE, "bundle": types[0]["bundle"],
        "description": f"Flows of {gitdir}, folder flows/, branch {branch} by default (made by ./medprep run)",
        "properties": props}})
    return c["id"]


def import_versioned(nifi, registry_id, flow_name, branch, version, name, context_names=()):
    """POST /process-groups/{root}/process-groups with versionControlInformation, as the UI's "Import from
    Registry" does (NiFi names the group after the flow's stored name, whatever NAME says; renaming it is no local
    change but the next commit would store the new name, so it is left as it is). The flow's parameter context keeps its name (a commit stores the name the group's context has)
    unless a context of that name is in use by another group: then the group gets a new one, "<name> (n)"
    (parameterContextHandlingStrategy=REPLACE), so the other group's parameters are never overwritten."""
    root = nifi.root_id()
    query = ""
    for ctx in nifi.get("/flow/parameter-contexts")["parameterContexts"]:
        comp = ctx.get("component") or {}
        if comp.get("name") in context_names and comp.get("boundProcessGroups") and not query:
            print(f"medprep_flow: the parameter context '{comp['name']}' is used by another group: this import "
                  f"gets new ones, and a commit from the UI would store their names")
            query = "?parameterContextHandlingStrategy=REPLACE"
    return nifi.post(f"/process-groups/{root}/process-groups{query}", {
        "revision": {"version": 0, "clientId": CLIENT_ID},
        "component": {"name": name, "position": {"x": 0, "y": 0}, "versionControlInformation": {
            "registryId": registry_id, "bucketId": REGISTRY_BUCKET, "flowId": flow_name,
            "version": version, "branch": branch}}})


def versioned_source(args, flow_name):
    """(version, None) when the group can be imported from the registry: the latest commit of the registry
    branch that changed flows/medprep/<flow>.json, whose file is the work tree's (canonically); else (None, why).
    (A commit from the UI stores the parameters' current values - the run's input and output directories - as
    NiFi does for every versioned flow; sensitive values such as the patient key secret are never stored.)"""
    rel = f"flows/{REGISTRY_BUCKET}/{flow_name}.json"
    if os.path.abspath(args.flow) != os.path.join(REPO, rel):
        return None, f"{args.flow} is not {rel} of this repository"
    version = git(args.registry_repo, "log", "-1", "--format=%H", args.registry_branch, "--", rel).strip()
    if not version:
        return None, f"branch {args.registry_branch} holds no {rel}"
    stored = json.loads(git(args.registry_repo, "show", f"{version}:{rel}"))
    with open(args.flow) as f:
        here = json.load(f)
    if canonical_flow(stored) != canonical_flow(here):
        return None, (f"{rel} in the work tree differs from branch {args.registry_branch} (version {version[:10]}); "
                      f"commit it to {args.registry_branch} (or merge) to run it under version control")
    return version, None


def invalid_processors(nifi, pg, wait=20):
    """Names and validation errors of the group's processors that are not VALID (waits while NiFi is still
    VALIDATING)."""
    deadline = time.time() + wait
    while True:
        procs = nifi.all_processors(pg)
        states = [p["component"]["validationStatus"] for p in procs]
        if "VALIDATING" not in states or time.time() > deadline:
            return [f"{p['component']['name']} ({p['component']['type'].rsplit('.', 1)[-1]}): "
                    + "; ".join(p["component"].get("validationErrors") or [p["component"]["validationStatus"]])
                    for p in procs if p["component"]["validationStatus"] != "VALID"]
        time.sleep(0.5)


def run(args):
    nifi = NiFi(args.nifi)
    version = nifi.version()
    flow_name = os.path.splitext(os.path.basename(args.flow))[0]
    in_dir, out_dir = os.path.abspath(args.input), os.path.abspath(args.output)
    if not os.path.isdir(in_dir):
        raise NiFiError(f"input directory {in_dir} does not exist")
    secret = os.environ.get(SECRET_ENV, "")
    if not secret:
        raise NiFiError(f"the patient key secret is not set: put it in the environment variable {SECRET_ENV} "
                        f"(./medprep run does, from its secret file)")
    os.makedirs(out_dir, exist_ok=True)
    with open(args.flow) as f:
        definition = json.load(f)
    feed = listens_for_dicom(definition)
    inputs = input_files(in_dir)
    if feed:
        # a hospital feed receives DICOM over the network: the input directory's DICOM files are sent to it
        not_dicom = [p for p in inputs if not is_dicom_part10(p)]
        inputs = sorted(p for p in inputs if p not in set(not_dicom))
        if not_dicom:
            print(f"medprep_flow: {len(not_dicom)} files under {in_dir} are not DICOM Part 10 files and are not sent, "
                  f"e.g. {os.path.relpath(not_dicom[0], in_dir)}")
    if not inputs:
        raise NiFiError(f"no input files under {in_dir}" + (" that are DICOM Part 10 files" if feed else ""))

    # replace this tool's own group of an earlier run; import (under version control) or upload the definition as
    # a new group with its own context
    remove_earlier_runs(nifi, flow_name, args.nifi_dir)
    vc_version, why_not = (None, None)
    if args.registry_repo:
        vc_version, why_not = versioned_source(args, flow_name)
        if why_not:
            print(f"medprep_flow: NOT under version control: {why_not}; uploading the work tree's file instead")
    if feed and not vc_version:
        raise NiFiError(f"the {flow_name} flow's modality groups are versioned flows of the Git flow registry (bucket "
                        f"{REGISTRY_BUCKET}): it runs only imported from the registry, which needs "
                        + ("--registry-repo (./medprep run passes it in a Git checkout)" if not args.registry_repo
                           else f"the work tree's file on branch {args.registry_branch}"))
    if vc_version:
        registry_id = ensure_registry_client(nifi, args.registry_repo, args.registry_branch)
        pg_entity = import_versioned(nifi, registry_id, flow_name, args.registry_branch, vc_version,
                                     run_group_name(flow_name), context_names(definition["flowContents"]))
        pg = pg_entity["id"]
        state = load_state(args.nifi_dir)
        state.setdefault("groups", {})[flow_name] = pg
        save_state(args.nifi_dir, state)
        print(f"medprep_flow: group {pg} under version control: registry client '{REGISTRY_CLIENT_NAME}' "
              f"({args.registry_repo}), branch {args.registry_branch}, bucket {REGISTRY_BUCKET}, flow {flow_name}, "
              f"version {vc_version[:10]}")
    else:
        pg_entity = upload(nifi, args.flow, run_group_name(flow_name), definition_for_run(args.flow, flow_name))
        pg = pg_entity["id"]
        comments = pg_entity["component"].get("comments") or ""
        nifi.set_group_comments(pg, f"{RUN_MARK} on {time.strftime('%Y-%m-%d %H:%M:%S')} (the next run replaces "
                                    f"this group and its parameter context).\n{comments}")
    ctx_id = pg_entity["component"]["parameterContext"]["id"]
    values = {"input.dir": in_dir, "output.dir": out_dir, "patient.key.secret": secret}
    for kv in args.param or []:
        k, _, v = kv.partition("=")
        if k == "patient.key.secret":
            raise NiFiError(f"the patient key secret is not taken from the command line: set {SECRET_ENV}")
        values[k] = v
    areas = [out_dir]
    if feed:
        # this group keeps received instances and quarantines what it refuses; each modality group (a versioned
        # child with a context of its own) writes under OUTPUT/<its flow>/ and lists an empty directory: its input
        # is its "Files in" port
        values.pop("input.dir")
        values.update({"received.dir": os.path.join(out_dir, "received"), "dicom.port": str(args.dicom_port)})
        no_input = os.path.join(out_dir, ".no-input")
        os.makedirs(no_input, exist_ok=True)
        for child in nifi.child_groups(pg):
            comp = child["component"]
            name = (comp.get("versionControlInformation") or {}).get("flowId") or comp["name"]
            areas.append(os.path.join(out_dir, name))
            nifi.update_parameters(comp["parameterContext"]["id"],
                                   {"input.dir": no_input, "output.dir": areas[-1], "patient.key.secret": secret},
                                   sensitive={"patient.key.secret"})
            print(f"medprep_flow: modality group {name}: version {(comp.get('versionControlInformation') or {}).get('version', '?')[:10]}, "
                  f"output {areas[-1]}")
    nifi.update_parameters(ctx_id, values, sensitive={"patient.key.secret"})
    invalid = invalid_processors(nifi, pg)
    if invalid:
        raise NiFiError(f"the flow definition {args.flow} does not load as a valid flow in NiFi {version} (after "
                        f"setting input.dir, output.dir and the secret, these processors are not VALID; fix the "
                        f"flow in NiFi and download it again):\n  " + "\n  ".join(invalid))

    print(f"medprep_flow: {len(inputs)} input files under {in_dir}; group {pg} on NiFi {version}")
    t0 = time.time()
    cpu0 = nifi_cpu_seconds(args.nifi_dir)
    nifi.set_group_state(pg, "RUNNING")
    if feed:
        ae = next((p["value"] for p in definition["parameterContexts"][definition["flowContents"]["parameterContextName"]]
                   ["parameters"] if p["name"] == "dicom.ae.title"), "MEDPREP")
        not_sent = send_instances(inputs, args.dicom_port, ae)
        inputs = [p for p in inputs if p not in not_sent]
        print(f"medprep_flow: {len(inputs)} instances sent with storescu to 127.0.0.1:{args.dicom_port} (AE {ae}), "
              f"each acknowledged", flush=True)
        for path, why in sorted(not_sent.items()):
            print(f"medprep_flow: NOT sent: {os.path.relpath(path, in_dir)}: {why}", flush=True)
        if not inputs:
            raise NiFiError(f"none of the {len(not_sent)} DICOM files under {in_dir} could be sent to the listener")
    deadline = t0 + args.timeout
    last_report = 0
    idle_since, last_counts = None, None
    while True:
        outs, originals, reasons, kinds = collect(areas)
        n_out = sum(len(v) for v in outs.values())
        snap = nifi.group_status(pg)
        queued = snap.get("flowFilesQueued", 0)
        covered, pending = accounted(outs, originals)
        done = covered >= len(inputs) and not pending and len(reasons) >= len(originals) and queued == 0 \
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
    cpu1 = nifi_cpu_seconds(args.nifi_dir)
    nifi.set_group_state(pg, "STOPPED")
    nifi.wait_stopped(pg)

    outs, originals, reasons, kinds = collect(areas)
    n_out = sum(len(v) for v in outs.values())
    written = [p for v in outs.values() for p in v] + originals + reasons
    last_mtime = max((os.path.getmtime(p) for p in written), default=t0)

    # every provenance event of this run's group (the instance may hold events of earlier runs)
    group_procs = {p["id"] for p in nifi.all_processors(pg)}
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
    if feed:
        summary["inputs_sent"] = summary.pop("inputs")
        summary["inputs_not_sent"] = {os.path.relpath(p, in_dir): why for p, why in sorted(not_sent.items())}
        summary["instances_received"] = by_type.get("RECEIVE", 0)
        summary["by_group"] = {}
        for area in areas:
            o, q, _, k = collect([area])
            summary["by_group"][os.path.basename(area) if area != out_dir else "hospital-feed"] = {
                "inputs_accounted": accounted(o, q)[0], "outputs": sum(len(v) for v in o.values()),
                "quarantined": {"invalid": len(k["invalid"]), "failure": len(k["failure"])}}
    if cpu0 is not None and cpu1 is not None:
        # CPU time of the whole NiFi JVM (all threads) while the flow ran: a load-independent cost figure
        summary["nifi_cpu_seconds"] = round(cpu1 - cpu0, 2)
    with open(os.path.join(out_dir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")

    print(f"\nflow {flow_name} on NiFi {version}: {len(inputs)} inputs in {summary['processing_seconds']} s")
    if feed:
        print(f"  received    {summary['instances_received']} instances (RECEIVE events); per group: "
              + ", ".join(f"{g} {v['inputs_accounted']} ({v['outputs']} outputs, "
                          f"{sum(v['quarantined'].values())} quarantined)" for g, v in summary["by_group"].items()))
    print("  outputs     train {train}, validation {validation}, test {test}".format(**summary["outputs"]))
    print("  quarantined invalid {invalid}, failure {failure}".format(**summary["quarantined"]))
    # one line per distinct reason (the slices of a refused series share one), naming its first file
    by_reason = collections.defaultdict(list)
    for r in sorted(reasons):
        with open(r, errors="replace") as f:
            by_reason[f.read().strip()[:300]].append(os.path.relpath(r, out_dir).replace("/quarantine/", ": ", 1)
                                                     .removeprefix("quarantine/")[:-len(".reason.txt")])
    for text, names in sorted(by_reason.items(), key=lambda kv: kv[1][0]):
        more = f" and {len(names) - 1} more" if len(names) > 1 else ""
        print(f"    {names[0]}{more}: {text}")
    print(f"  provenance  {len(events)} events ({', '.join(f'{k} {v}' for k, v in sorted(by_type.items()))})")
    print(f"  summary     {os.path.join(out_dir, 'summary.json')}")

    covered, pending = accounted(outs, originals)
    if covered != len(inputs) or pending or len(reasons) != len(originals):
        # quarantined files keep the input's folder and name; outputs are <split>/<label>/<stem>.npy, matched by
        # stem with multiplicity
        qdir = os.path.join(out_dir, "quarantine")
        in_quarantine = {os.path.relpath(p, qdir) for p in originals}
        stem = lambda p: os.path.splitext(os.path.basename(p))[0]
        unmatched_outputs = collections.Counter(stem(p) for v in outs.values() for p in v)
        missing = []
        for p in sorted(inputs):
            rel = os.path.relpath(p, in_dir)
            if feed or rel in in_quarantine:   # a feed's items are named by pseudonyms: counts only
                continue
            if unmatched_outputs[stem(p)] > 0:
                unmatched_outputs[stem(p)] -= 1
            else:
                missing.append(rel)
        no_reason = sorted(os.path.relpath(p, qdir) for p in originals if p + ".reason.txt" not in set(reasons))
        snap = nifi.group_status(pg)
        msg = (f"{len(inputs)} inputs but {covered} accounted for by {n_out} outputs + {len(originals)} quarantined "
               f"({pending} volumes without a sidecar) "
               f"({len(reasons)} reason files); {snap.get('flowFilesQueued', 0)} FlowFiles still queued "
               f"after {time.time() - t0:.0f} s.\n  not accounted for:\n    " + "\n    ".join(missing[:50])
               + ("\n  quarantined without a reason file:\n    " + "\n    ".join(no_reason[:50]) if no_reason else ""))
        raise NiFiError(msg)
    # the group stays (stopped) for inspection in the UI; the next run replaces it
    if args.keep_running:
        nifi.set_group_state(pg, "RUNNING")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="upload a flow definition, run it over an input directory, summarize")
    r.add_argument("--nifi", default="http://127.0.0.1:18080")
    r.add_argument("--flow", default=os.path.join(REPO, "flows", "medprep", "chest-xray.json"))
    r.add_argument("--input", required=True)
    r.add_argument("--output", required=True)
    r.add_argument("--param", action="append", metavar="NAME=VALUE",
                   help="set another parameter (not the patient key secret: that comes from " + SECRET_ENV + ")")
    r.add_argument("--timeout", type=float, default=1800, help="give up after this many seconds (default 1800)")
    r.add_argument("--idle-timeout", type=float, default=30,
                   help="give up when queues are empty and no file appeared for this many seconds (default 30)")
    r.add_argument("--max-events", type=int, default=1000000)
    r.add_argument("--nifi-dir", help="NiFi instance directory (for the log tail on errors)")
    r.add_argument("--keep-running", action="store_true", help="leave the group running")
    r.add_argument("--dicom-port", type=int, default=int(os.environ.get("MEDPREP_DICOM_PORT", "11112")),
                   help="a hospital feed's DICOM listener port, where the input's DICOM files are sent with storescu "
                        "(default $MEDPREP_DICOM_PORT, else 11112)")
    r.add_argument("--registry-repo", metavar="GITDIR",
                   help="import the flow under version control from this Git repository (a git directory or work "
                        "tree) through the Git flow registry client, instead of uploading it")
    r.add_argument("--registry-branch", default="medprep-flows",
                   help="the registry branch (default medprep-flows; never a branch checked out in a work tree)")
    args = ap.parse_args()
    try:
        return run(args)
    except NiFiError as e:
        print(f"medprep_flow: ERROR: {e}", file=sys.stderr)
        tail = log_tail(getattr(args, "nifi_dir", None))
        if tail:
            print("--- NiFi log tail ---\n" + tail, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main() or 0)
