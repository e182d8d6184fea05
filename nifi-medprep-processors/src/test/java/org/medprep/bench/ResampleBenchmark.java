/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.bench;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.medprep.image.Image;
import org.medprep.io.NiftiReader;
import org.medprep.io.ReadLimits;
import org.medprep.ops.Resample;

/**
 * Times {@link Resample#apply} alone (the image already in memory, as ResampleSpacing has it after reading) on
 * one NIfTI volume, for tools/bench_resample.sh and the "Resampling (ResampleSpacing)" table of
 * docs/benchmarks.md. All runs happen in one JVM. Before the timed runs of each kernel, one warm-up run (printed as
 * {@code warmup_seconds}, not in the median) lets the JIT compile Resample, as it is compiled after the first
 * FlowFile in a running NiFi.
 *
 * <p>Not a test (no assertions, never run by Surefire). Usage, from the repository root after a build:
 * <pre>
 * java -Xms8g -Xmx8g -cp nifi-medprep-processors/target/classes:nifi-medprep-processors/target/test-classes:$(cat work/cp.txt) \
 *   org.medprep.bench.ResampleBenchmark IN.nii SX,SY,SZ linear,bspline [runs=3]
 * </pre>
 * Prints one JSON line per kernel: kernel, output size (x, y, z), seconds (wall time) and cpu_seconds (the JVM
 * process's CPU time: all threads, garbage collector and JIT compiler included) of each timed run, the warm-up
 * run's wall time, and the processors the JVM sees.
 */
public final class ResampleBenchmark {

    private static final com.sun.management.OperatingSystemMXBean OS =
            (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

    private ResampleBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        Image in = NiftiReader.read(Files.readAllBytes(Path.of(args[0])), ReadLimits.DEFAULT).image();
        String[] t = args[1].split(",");
        double[] target = {Double.parseDouble(t[0]), Double.parseDouble(t[1]), Double.parseDouble(t[2])};
        int runs = args.length > 3 ? Integer.parseInt(args[3]) : 3;
        for (String kernel : args[2].split(",")) {
            Resample.Interpolation k = Resample.Interpolation.valueOf(kernel.toUpperCase(Locale.ROOT));
            List<String> seconds = new ArrayList<>();
            List<String> cpu = new ArrayList<>();
            System.gc();
            long w0 = System.nanoTime();
            Image out = Resample.apply(in, target, k, Long.MAX_VALUE);
            double warmup = (System.nanoTime() - w0) / 1e9;
            for (int r = 0; r < runs; r++) {
                out = null;
                System.gc();
                long c0 = OS.getProcessCpuTime();
                long t0 = System.nanoTime();
                out = Resample.apply(in, target, k, Long.MAX_VALUE);
                seconds.add(String.format(Locale.ROOT, "%.3f", (System.nanoTime() - t0) / 1e9));
                cpu.add(String.format(Locale.ROOT, "%.3f", (OS.getProcessCpuTime() - c0) / 1e9));
            }
            System.out.printf(Locale.ROOT, "{\"kernel\": \"%s\", \"size\": [%d, %d, %d], \"seconds\": [%s], "
                            + "\"cpu_seconds\": [%s], \"warmup_seconds\": %.3f, \"processors\": %d}%n", kernel,
                    out.width(), out.height(), out.depth(), String.join(", ", seconds), String.join(", ", cpu), warmup,
                    Runtime.getRuntime().availableProcessors());
        }
    }
}
