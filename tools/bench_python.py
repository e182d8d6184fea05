#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# bench_python.py - times the Python + OpenCV seed pipeline (tools/seed_pipeline.py: read, validate,
# letterbox 224x224, median 3, CLAHE 2.0 8x8, scale by bit depth, z-score, np.save float32 .npy) over every
# file under INDIR, writing OUTDIR/<label>/<name>.npy.
#   --workers 1: one process (OpenCV keeps its own default thread count, reported as cv2_threads).
#   --workers 2: a multiprocessing pool of 2 processes (fork), each with cv2.setNumThreads(1) unless
#                --cv-threads is given, so both cores work without oversubscription: the fair comparison
#                with a NiFi flow running 2 concurrent tasks.
#   --repeat R: R timed runs; the JSON reports the median run (all run times in "runs").
# The clock covers the processing of all files (pool start-up excluded: a running NiFi has its threads
# already). Files the pipeline rejects are counted in "rejected", not in "images".
# Prints one JSON object: {"images", "seconds", "images_per_second", "workers", "cv2", "cv2_threads",
# "rejected", "runs", "cpu_ms_per_image"}; the last is the CPU time (all threads of the working processes,
# median run) per image - less sensitive than wall time to other load on the machine.
#
# Usage: /usr/bin/python3 tools/bench_python.py INDIR OUTDIR [--workers 1|2] [--repeat 3] [--cv-threads T]

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import time

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seed_pipeline as sp  # noqa: E402

_OUT = None


def _init(outdir, threads):
    global _OUT
    _OUT = outdir
    if threads is not None:
        cv2.setNumThreads(threads)


def _one(path):
    c0 = time.process_time()
    return _work(path), time.process_time() - c0


def _work(path):
    label = os.path.basename(os.path.dirname(path))
    name = os.path.splitext(os.path.basename(path))[0]
    try:
        arr, _ = sp.process(path)
    except sp.Rejected:
        return 0
    d = os.path.join(_OUT, label)
    os.makedirs(d, exist_ok=True)
    np.save(os.path.join(d, name + ".npy"), arr)
    return 1


def run(files, outdir, workers, threads):
    if workers == 1:
        _init(outdir, threads)
        t0 = time.perf_counter()
        res = [_one(f) for f in files]
        dt = time.perf_counter() - t0
        return sum(r[0] for r in res), dt, sum(r[1] for r in res)
    with multiprocessing.get_context("fork").Pool(workers, _init, (outdir, threads)) as pool:
        pool.map(int, range(workers * 4))          # make sure the workers are up before the clock starts
        t0 = time.perf_counter()
        res = list(pool.imap_unordered(_one, files, chunksize=4))
        dt = time.perf_counter() - t0
    return sum(r[0] for r in res), dt, sum(r[1] for r in res)


def main():
    ap = argparse.ArgumentParser(description="Time the Python seed pipeline")
    ap.add_argument("indir")
    ap.add_argument("outdir")
    ap.add_argument("--workers", type=int, choices=(1, 2), default=1)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--cv-threads", type=int, default=None)
    a = ap.parse_args()
    files = sp.list_files(a.indir)
    if not files:
        sys.exit("no files under %s" % a.indir)
    threads = a.cv_threads if a.cv_threads is not None else (1 if a.workers > 1 else None)
    runs, cpus = [], []
    ok = 0
    for _ in range(max(1, a.repeat)):
        ok, dt, cpu = run(files, a.outdir, a.workers, threads)
        runs.append(round(dt, 3))
        cpus.append(cpu)
    med = statistics.median(runs)
    print(json.dumps({"images": ok, "seconds": round(med, 3), "images_per_second": round(ok / med, 2),
                      "workers": a.workers, "cv2": cv2.__version__,
                      "cv2_threads": threads if threads is not None else cv2.getNumThreads(),
                      "rejected": len(files) - ok, "runs": runs,
                      "cpu_ms_per_image": round(1000 * statistics.median(cpus) / max(1, ok), 2)}))


if __name__ == "__main__":
    main()
