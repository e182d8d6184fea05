#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Rewrites flow definitions (NiFi's "Download flow definition" JSON) in the format the Git flow registry client
stores them (docs/git-registry.md), so that a download committed to flows/ diffs cleanly against the commits NiFi
makes through the client:

  - instanceIdentifier and instanceGroupId left out (they name one NiFi's copy of a component);
  - an empty externalControllerServiceReferences left out;
  - NiFi's unordered collections sorted: components (processors, connections, labels, funnels, ports, controller
    services, groups, remote groups) by identifier, parameters by name, relationship names and resource types
    alphabetically;
  - two-space indentation, one array element per line, "key": value, LF, a final newline.

It gives the bytes org.medprep.registry.FlowSnapshotJson writes (a unit test of nifi-medprep-git-registry checks
flows/medprep/*.json are in this format). Only the content's form changes: e2e_test.py's canonical comparison of a
file before and after is equal.

usage: tools/normalize_flow.py FILE...   (rewrites each FILE in place)
"""
import json
import sys

BY_IDENTIFIER = {"processors", "connections", "labels", "funnels", "inputPorts", "outputPorts",
                 "controllerServices", "processGroups", "remoteProcessGroups"}
STRING_SETS = {"selectedRelationships", "autoTerminatedRelationships", "retriedRelationships", "resourceTypes"}


def normalize(node):
    if isinstance(node, dict):
        node.pop("instanceIdentifier", None)
        node.pop("instanceGroupId", None)
        if node.get("externalControllerServiceReferences") == {}:
            del node["externalControllerServiceReferences"]
        for key, value in node.items():
            normalize(value)
            if isinstance(value, list):
                if key in BY_IDENTIFIER:
                    value.sort(key=lambda n: str(n.get("identifier", "")))
                elif key == "parameters":
                    value.sort(key=lambda n: str(n.get("name", "")))
                elif key in STRING_SETS:
                    value.sort(key=str)
    elif isinstance(node, list):
        for item in node:
            normalize(item)


def dump(definition):
    """The stored text of a normalized definition."""
    return json.dumps(definition, indent=2, ensure_ascii=False) + "\n"


def main(paths):
    for path in paths:
        with open(path, encoding="utf-8") as f:
            definition = json.load(f)
        if "flowContents" not in definition:
            sys.exit(f"{path}: not a flow definition (no flowContents)")
        normalize(definition)
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write(dump(definition))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]) if len(sys.argv) > 1 else __doc__)
