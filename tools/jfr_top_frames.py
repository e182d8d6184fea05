#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# jfr_top_frames.py - summarizes the Java execution samples of a JDK Flight Recorder file (a NiFi JVM recorded
# with NIFI_JAVA_OPTS="-XX:StartFlightRecording=filename=F.jfr,settings=profile,dumponexit=true", as
# docs/benchmarks.md does): the top frames by self time (the method on top of the stack) and the share of samples
# whose stack holds a medprep frame, by the first medprep method on the stack, and where the rest go
# (NiFi framework, provenance/Lucene, OpenCV native calls, JDK).
#
# Usage: /usr/bin/python3 tools/jfr_top_frames.py FILE.jfr [--top 25] [--jfr PATH_TO_jfr_TOOL]
# Prints Markdown tables. Needs the JDK's `jfr` tool (found next to JAVA_HOME's java, else on PATH).

import argparse
import collections
import glob
import json
import os
import shutil
import subprocess
import sys


def jfr_tool(given):
    if given:
        return given
    for home in [os.environ.get("JAVA_HOME", "")] + sorted(glob.glob("/usr/lib/jvm/*"), reverse=True):
        p = os.path.join(home, "bin", "jfr")
        if home and os.access(p, os.X_OK):
            return p
    return shutil.which("jfr") or sys.exit("no jfr tool found: set JAVA_HOME to a JDK")


def frame_name(f):
    m = f["method"]
    return m["type"]["name"].replace("/", ".") + "." + m["name"]


def category(stack):
    """The first recognisable owner of a sample, walking from the top frame down."""
    names = [frame_name(f) for f in stack]
    for n in names:
        if n.startswith("org.medprep."):
            return "medprep: " + ".".join(n.split(".")[-2:])
    for n in names:
        if "provenance" in n or n.startswith("org.apache.lucene"):
            return "NiFi provenance repository (incl. Lucene)"
        if n.startswith("org.apache.nifi.controller.repository") or n.startswith("org.wali"):
            return "NiFi FlowFile/content repositories and sessions"
        if n.startswith("org.apache.nifi.processors.standard"):
            return "NiFi standard processors (ListFile, FetchFile, PutFile, ...)"
        if n.startswith("org.apache.nifi.processors.attributes"):
            return "NiFi UpdateAttribute"
        if n.startswith("org.apache.nifi"):
            return "NiFi framework: " + ".".join(n.split(".")[-2:])
    return "other (JDK, Jetty, GC helpers, ...)"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--jfr")
    ap.add_argument("--all", action="store_true",
                    help="every sample; by default only those between the first and the last sample of a medprep "
                         "frame (the flow's processing, not NiFi's start-up or the provenance queries after it)")
    a = ap.parse_args()
    out = subprocess.run([jfr_tool(a.jfr), "print", "--json", "--stack-depth", "64", "--events",
                          "jdk.ExecutionSample", a.file], check=True, capture_output=True).stdout
    events = json.loads(out)["recording"]["events"]
    native = subprocess.run([jfr_tool(a.jfr), "print", "--json", "--stack-depth", "64", "--events",
                             "jdk.NativeMethodSample", a.file], check=True, capture_output=True).stdout
    native_events = json.loads(native)["recording"]["events"]
    if not a.all:
        def has_medprep(e):
            frames = (e["values"].get("stackTrace") or {}).get("frames") or []
            return any(frame_name(f).startswith("org.medprep.") for f in frames)
        times = [e["values"]["startTime"] for e in events + native_events if has_medprep(e)]
        if times:
            lo, hi = min(times), max(times)
            events = [e for e in events if lo <= e["values"]["startTime"] <= hi]
            native_events = [e for e in native_events if lo <= e["values"]["startTime"] <= hi]
    self_count = collections.Counter()
    cats = collections.Counter()
    n = 0
    for e in events:
        frames = (e["values"].get("stackTrace") or {}).get("frames") or []
        if not frames:
            continue
        n += 1
        self_count[frame_name(frames[0])] += 1
        cats[category(frames)] += 1
    print(f"{n} Java execution samples in {os.path.basename(a.file)}\n")
    print("| top frame (self) | samples | share |\n|---|---|---|")
    for name, c in self_count.most_common(a.top):
        print(f"| `{name}` | {c} | {100 * c / n:.1f} % |")
    print("\n| where (first medprep method on the stack, else the owner) | samples | share |\n|---|---|---|")
    for name, c in cats.most_common(a.top):
        print(f"| {name} | {c} | {100 * c / n:.1f} % |")
    # threads inside native code (libjpeg-turbo, OpenCV, zlib, file I/O) are sampled as jdk.NativeMethodSample,
    # which also counts threads blocked in native waits (sockets, sleeps): only medprep's are listed
    ncat = collections.Counter()
    for e in native_events:
        frames = (e["values"].get("stackTrace") or {}).get("frames") or []
        if frames and any(frame_name(f).startswith("org.medprep.") for f in frames):
            ncat[frame_name(frames[0]) + " (from " + category(frames).split(": ", 1)[-1] + ")"] += 1
    if ncat:
        print("\n| medprep threads in native code (top frame) | native samples |\n|---|---|")
        for name, c in ncat.most_common(a.top):
            print(f"| `{name}` | {c} |")


if __name__ == "__main__":
    main()
