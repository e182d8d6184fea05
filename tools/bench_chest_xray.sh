#!/usr/bin/env bash
# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# bench_chest_xray.sh - the chest X-ray benchmark of docs/benchmarks.md, in one run on one machine:
#   1. N CXR-sized 8-bit JPEGs (tools/make_benchmark_set.py, deterministic; about 5 % stored with 3 channels, as
#      in the public Kaggle set) in work/bench/input-N (made once);
#   2. the chest-xray flow on a local NiFi 2.3.0 (./medprep run --keep-running), RUNS times on the same NiFi
#      (a fresh JVM compiles our code during the first run: all runs are listed, the median is quoted);
#   3. the same steps in Python + OpenCV (tools/bench_python.py), 1 process and 2 processes, RUNS times each;
#   4. every NiFi output of the last run compared with the Python seed pipeline (tools/compare_outputs.py --splits).
# Prints a Markdown table: seconds per run, median, images/s, ratio to Python with 1 process, and the NiFi JVM's
# CPU milliseconds per image (from summary.json: less sensitive than wall time to other load on the machine).
#
# Usage: tools/bench_chest_xray.sh [N=1000] [RUNS=3]
# Environment: MEDPREP_NIFI_PORT (default 18080). The patient key secret is fixed ("bench-secret") so that the
# split is the seed's. To profile, start NiFi yourself first with NIFI_JAVA_OPTS="-XX:StartFlightRecording=..."
# (see docs/benchmarks.md); a running NiFi in work/nifi is used as it is and left running.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
n="${1:-1000}"
runs="${2:-3}"
py=/usr/bin/python3
input="work/bench/input-$n"
export MEDPREP_PATIENT_KEY_SECRET=bench-secret

if [ "$(find "$input" -type f 2>/dev/null | wc -l)" != "$n" ]; then
  "$py" tools/make_benchmark_set.py "$input" "$n" --color-share 0.05 | tail -1
fi

./medprep build -q >/dev/null 2>&1 || ./medprep build
started=0
if ! nifi-medprep-runtime/nifi-ctl status work/nifi >/dev/null 2>&1; then
  nifi-medprep-runtime/nifi-ctl start work/nifi "${MEDPREP_NIFI_PORT:-18080}" | tail -1
  started=1
fi

nifi_secs=() nifi_cpu=()
for i in $(seq "$runs"); do
  out="work/bench/nifi-out-$i"
  ./medprep run --input "$input" --output "$out" --keep-running >"work/bench/nifi-run-$i.log" 2>&1 \
    || { tail -30 "work/bench/nifi-run-$i.log"; exit 1; }
  read -r s c < <("$py" -c "import json,sys; d=json.load(open(sys.argv[1])); print(d['processing_seconds'], d.get('nifi_cpu_seconds', 0))" "$out/summary.json")
  nifi_secs+=("$s"); nifi_cpu+=("$c")
  echo "nifi run $i: $s s, NiFi JVM CPU $c s" >&2
done
[ "$started" = 1 ] && nifi-medprep-runtime/nifi-ctl stop work/nifi >/dev/null

py1=$("$py" tools/bench_python.py "$input" work/bench/py-out-1 --workers 1 --repeat "$runs")
py2=$("$py" tools/bench_python.py "$input" work/bench/py-out-2 --workers 2 --repeat "$runs")
"$py" tools/seed_pipeline.py "$input" work/bench/seed --salt medprep >/dev/null
compare=$("$py" tools/compare_outputs.py "work/bench/nifi-out-$runs" work/bench/seed --splits | tail -1)

"$py" - "$n" "$py1" "$py2" "$compare" "${nifi_secs[*]}" "${nifi_cpu[*]}" <<'EOF'
import json, statistics, sys
n = int(sys.argv[1]); p1, p2 = json.loads(sys.argv[2]), json.loads(sys.argv[3])
secs = [float(x) for x in sys.argv[5].split()]; cpu = [float(x) for x in sys.argv[6].split()]
med = statistics.median(secs)
base = p1["images"] / p1["seconds"]
print(f"\n{n} images; {sys.argv[4]}\n")
print("| pipeline | runs (s) | median (s) | images/s | ratio to Python, 1 process | CPU ms per image |")
print("|---|---|---|---|---|---|")
print(f"| NiFi flow chest-xray | {', '.join(f'{s:.2f}' for s in secs)} | {med:.2f} | {n / med:.1f} | "
      f"{n / med / base:.2f} x | {1000 * statistics.median(cpu) / n:.1f} (NiFi JVM) |")
for p, label in ((p1, "Python + OpenCV, 1 process"), (p2, "Python + OpenCV, 2 processes")):
    print(f"| {label} | {', '.join(f'{s:.2f}' for s in p['runs'])} | {p['seconds']:.2f} | "
          f"{p['images_per_second']:.1f} | {p['images_per_second'] / base:.2f} x | {p['cpu_ms_per_image']} |")
EOF
