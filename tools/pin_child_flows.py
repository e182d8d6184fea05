#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Pins the versioned child groups of a flow definition to the latest committed version of their flows.

A flow such as flows/medprep/hospital-feed.json holds other flows of this repository (chest-xray, ct, mri) as
versioned child groups: each carries versionedFlowCoordinates (bucket, flow, version = a commit of the Git flow
registry client) and no contents of its own; NiFi fetches the child's snapshot at that version when the parent is
imported. After a child flow's file changes and is committed, run this so the parent imports the new version:

  - each child's version becomes the last commit on HEAD that touched flows/<bucket>/<flow>.json (the version
    the Git flow registry client lists for it), and "latest" is set;
  - connections of the parent into (or out of) a child's ports carry that port's name and comments as the child's
    file has them (NiFi writes them so in a download);
  - the file is rewritten in the registry client's stored format (tools/normalize_flow.py).

The child's file must be committed first (a work tree change is no version). Exits 1 naming a child whose file is
missing or uncommitted.

usage: tools/pin_child_flows.py FILE...   (rewrites each FILE in place; run it from the repository)
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from normalize_flow import normalize, dump  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def git(*args):
    return subprocess.run(["git", "-C", ROOT, *args], check=True, capture_output=True, text=True).stdout.strip()


def child_file(coords):
    return os.path.join("flows", coords["bucketId"], coords["flowId"] + ".json")


def ports_of(rel):
    with open(os.path.join(ROOT, rel)) as f:
        contents = json.load(f)["flowContents"]
    return {p["identifier"]: p for p in contents.get("inputPorts", []) + contents.get("outputPorts", [])}


def pin(path):
    with open(path, encoding="utf-8") as f:
        definition = json.load(f)
    ports, changes = {}, []
    groups = definition["flowContents"].get("processGroups", [])
    for group in groups:
        coords = group.get("versionedFlowCoordinates")
        if not coords:
            continue
        rel = child_file(coords)
        if not os.path.exists(os.path.join(ROOT, rel)):
            sys.exit(f"pin_child_flows: {path}: child group {group['name']} names {rel}, which does not exist")
        if git("status", "--porcelain", "--", rel):
            sys.exit(f"pin_child_flows: {rel} has uncommitted changes: commit it first (a version is a commit)")
        version = git("log", "-1", "--format=%H", "HEAD", "--", rel)
        if coords.get("version") != version:
            changes.append(f"{group['name']} {str(coords.get('version'))[:10]} -> {version[:10]}")
        coords["version"], coords["latest"] = version, True
        ports.update(ports_of(rel))
    for connection in definition["flowContents"].get("connections", []):
        for end in (connection["source"], connection["destination"]):
            port = ports.get(end["id"])
            if port:
                end["name"], end["comments"] = port["name"], port.get("comments", "")
    normalize(definition)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(dump(definition))
    print(f"pin_child_flows: {path}: " + ("; ".join(changes) if changes else "children already at their latest"))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for p in sys.argv[1:]:
        pin(p)
