#!/usr/bin/env bash
# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# bench_resample.sh - the resampling benchmark of docs/benchmarks.md ("Resampling (ResampleSpacing)"), in one run:
#   1. a synthetic CT-like int16 volume, 512 x 512 x 300 at 0.7 x 0.7 x 2.5 mm (tools/make_ct_volume.py,
#      deterministic), in work/bench/ct-512x512x300.nii (made once);
#   2. resampled to TARGET (default 1 mm isotropic: 358 x 358 x 750 voxels), linear and cubic B-spline, RUNS times
#      each, by: our org.medprep.ops.Resample (org.medprep.bench.ResampleBenchmark, all runs in one JVM with a
#      fixed 8 GB heap, after one warm-up run per kernel that lets the JIT compile it; the warm-up is printed);
#      scipy.ndimage.affine_transform order 1 / 3, mode mirror, prefilter (tools/bench_resample_scipy.py);
#      ITK 5.2 ResampleImageFilter with Linear / BSpline order 3 interpolators (tools/itk-resample) on 1 and on
#      2 threads. Each times the resampling alone, the volume already in memory (B-spline prefilters included);
#   3. prints a Markdown table: runs (s), median (s), median / our median, and whether ours beats the fastest
#      of the others per kernel.
# All outputs land on the same grid (the rule of Resample.plan); ResampleItkReferenceTest and ResampleTest check
# that the values agree.
#
# Usage: tools/bench_resample.sh [RUNS=3] [TARGET=1,1,1]      (about 10 minutes on 2 cores)
# Needs the build's JDK (21+), Maven, /usr/bin/python3 with numpy, scipy, nibabel, and ITK 5.2 + cmake + g++
# (./medprep test installs them all).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
runs="${1:-3}"
target="${2:-1,1,1}"
py=/usr/bin/python3
vol=work/bench/ct-512x512x300.nii
out=work/bench/resample
mkdir -p "$out"

[ -f "$vol" ] || "$py" tools/make_ct_volume.py "$vol" >&2

# our code: the processors module's classes and test classes (compiled here, nothing installed into ~/.m2),
# and the classpath to run them
java=""
for cand in "${JAVA_HOME:-}" /usr/lib/jvm/*; do
  [ -n "$cand" ] && [ -x "$cand/bin/java" ] || continue
  v=$("$cand/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
  if [ -n "$v" ] && [ "${v%%.*}" -ge 21 ] 2>/dev/null; then java="$cand/bin/java"; export JAVA_HOME="$cand"; break; fi
done
[ -n "$java" ] || { echo "bench_resample.sh: no JDK 21 or newer found (set JAVA_HOME)" >&2; exit 1; }
export PATH="$JAVA_HOME/bin:$PATH"
mvnq() { mvn -B -ntp -q -o "$@" >"$out/build.log" 2>&1 || mvn -B -ntp -q "$@" >"$out/build.log" 2>&1 \
           || { tail -30 "$out/build.log" >&2; exit 1; }; }
mvnq -pl nifi-medprep-processors test-compile
mvnq -pl nifi-medprep-processors dependency:build-classpath -Dmdep.outputFile="$here/work/cp.txt"
itk=$(tools/itk-resample/build.sh | tail -1)

echo "resampling $vol to $target mm, $runs runs each" >&2
"$java" -Xms8g -Xmx8g --enable-native-access=ALL-UNNAMED \
  -cp "nifi-medprep-processors/target/classes:nifi-medprep-processors/target/test-classes:$(cat work/cp.txt)" \
  org.medprep.bench.ResampleBenchmark "$vol" "$target" linear,bspline "$runs" | tee "$out/ours.json" >&2
"$py" tools/bench_resample_scipy.py "$vol" "$target" 1,3 "$runs" | tee "$out/scipy.json" >&2
: >"$out/itk.json"
for threads in 1 2; do
  for kernel in linear bspline; do
    "$itk" "$vol" "$out/itk-$kernel-$threads.nii" "$target" "$kernel" "$threads" "$runs" | tee -a "$out/itk.json" >&2
    rm -f "$out/itk-$kernel-$threads.nii"
  done
done

"$py" - "$out" "$runs" "$target" <<'PYEOF'
import json, os, statistics, sys
out, runs, target = sys.argv[1], sys.argv[2], sys.argv[3]
load = lambda f: [json.loads(l) for l in open(os.path.join(out, f)) if l.strip().startswith('{')]
rows = {'linear': [], 'bspline': []}
for r in load('ours.json'):
    rows[r['kernel']].append((f"nifi-medprep `Resample` (Java; warm-up run {r['warmup_seconds']:.2f} s)", r))
for r in load('scipy.json'):
    rows['linear' if r['order'] == 1 else 'bspline'].append(
        (f"scipy.ndimage.affine_transform order {r['order']} (1 thread)", r))
for r in load('itk.json'):
    rows[r['kernel']].append((f"ITK 5.2 ResampleImageFilter, {r['threads']} thread{'s' if r['threads'] > 1 else ''}", r))
cpu = next((l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')), '?')
load1 = open('/proc/loadavg').read().split()[:3]
print(f"\n{os.cpu_count()} cores ({cpu}), load average at the end {' '.join(load1)}; target {target} mm; "
      f"{runs} runs each; output size {' x '.join(map(str, rows['linear'][0][1]['size']))} (x, y, z)\n")
print("| kernel | implementation | wall time of each run (s) | median wall (s) | median CPU (s) | median wall ÷ ours |")
print("|---|---|---|---|---|---|")
verdict = []
for kernel, label in (('linear', 'linear'), ('bspline', 'cubic B-spline')):
    ours = rows[kernel][0][1]
    om = statistics.median(ours['seconds'])
    for name, r in rows[kernel]:
        assert r['size'] == ours['size'], f"{name}: output size {r['size']} differs from ours {ours['size']}"
        m = statistics.median(r['seconds'])
        print(f"| {label} | {name} | {', '.join(f'{s:.2f}' for s in r['seconds'])} | {m:.2f} | "
              f"{statistics.median(r['cpu_seconds']):.2f} | {m / om:.2f} |")
    name, best = min(rows[kernel][1:], key=lambda x: statistics.median(x[1]['seconds']))
    bm = statistics.median(best['seconds'])
    overlap = max(ours['seconds']) >= min(best['seconds']) and min(ours['seconds']) <= max(best['seconds'])
    verdict.append(f"{label}: ours {om:.2f} s, the fastest other ({name}) {bm:.2f} s: ours is "
                   f"{'faster' if om < bm else 'NOT faster'} ({bm / om:.2f} x)"
                   + ("; the runs overlap, so within the noise" if overlap else ""))
print()
for v in verdict:
    print('- ' + v)
PYEOF
