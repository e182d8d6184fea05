/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.bench;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.medprep.image.Image;
import org.medprep.io.NiftiReader;
import org.medprep.io.ReadLimits;
import org.medprep.ops.N4BiasField;

/**
 * Times {@link N4BiasField#correct} alone (the image already in memory, as a processor has it after reading) on
 * one NIfTI volume with the settings of the ITK reference (tools/n4ref): Otsu mask, shrink 4,
 * 50 × 50 × 50 × 50, convergence threshold 1e-7, for the N4 table of docs/benchmarks.md. One warm-up run (printed,
 * not in the median) lets the JIT compile the code, as after the first FlowFile in a running NiFi.
 *
 * <p>Not a test (no assertions, never run by Surefire). Usage, from the repository root after a build:
 * <pre>
 * java -Xmx4g -cp nifi-medprep-processors/target/classes:nifi-medprep-processors/target/test-classes:$(cat work/cp.txt) \
 *   org.medprep.bench.N4Benchmark IN.nii[.gz] [runs=3] [threads=all]
 * </pre>
 * Prints one JSON line: size, threads, the seconds (wall) and cpu_seconds (whole JVM process) of each timed run,
 * the warm-up's seconds, the iterations per level and the mask voxels on the shrunk grid.
 */
public final class N4Benchmark {

    private static final com.sun.management.OperatingSystemMXBean OS =
            (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

    private N4Benchmark() {
    }

    public static void main(String[] args) throws Exception {
        Image in = NiftiReader.read(Files.readAllBytes(Path.of(args[0])), ReadLimits.DEFAULT).image();
        int runs = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        int threads = args.length > 2 ? Integer.parseInt(args[2]) : Runtime.getRuntime().availableProcessors();
        N4BiasField.Parameters p = N4BiasField.Parameters.itkDefaults().withConvergenceThreshold(1e-7);
        long w0 = System.nanoTime();
        N4BiasField.Result r = N4BiasField.correct(in, p, threads);
        double warm = (System.nanoTime() - w0) / 1e9;
        List<String> secs = new ArrayList<>();
        List<String> cpus = new ArrayList<>();
        for (int i = 0; i < runs; i++) {
            long c0 = OS.getProcessCpuTime();
            long t0 = System.nanoTime();
            r = N4BiasField.correct(in, p, threads);
            secs.add(String.format(Locale.ROOT, "%.3f", (System.nanoTime() - t0) / 1e9));
            cpus.add(String.format(Locale.ROOT, "%.3f", (OS.getProcessCpuTime() - c0) / 1e9));
        }
        System.out.printf(Locale.ROOT, "{\"file\":\"%s\",\"size\":[%d,%d,%d],\"threads\":%d,\"seconds\":%s,"
                        + "\"cpu_seconds\":%s,\"warmup_seconds\":%.3f,\"iterations\":%s,\"shrunk_mask_voxels\":%d}%n", args[0], in.width(),
                in.height(), in.depth(), threads, secs, cpus, warm, Arrays.toString(r.iterations()), r.maskVoxels());
    }
}
