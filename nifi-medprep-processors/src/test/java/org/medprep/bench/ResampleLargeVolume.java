/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.bench;

import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.Locale;
import org.medprep.image.Geometry;
import org.medprep.image.Image;
import org.medprep.image.ImageMetadata;
import org.medprep.image.VoxelType;
import org.medprep.ops.Resample;

/**
 * A CT-sized resampling run, meant for a JVM whose heap is limited (-Xmx): a synthetic int16 CT phantom of
 * 512 × 512 × DEPTH voxels at 0.7 × 0.7 × 1.25 mm (air −1000, an elliptic body 40 HU with a noise texture,
 * lungs −850, a spine 700 HU) resampled to 1 × 1 × 1 mm with Linear and B-Spline, anti-aliasing on (the
 * processor's default), for each thread count given. Prints one line per run: kernel, threads, wall
 * milliseconds (best of REPEATS), process CPU milliseconds of that run, output size, input and output MB, and
 * whether the result equals the first thread count's (bit for bit, by a hash of the float bits, so only one
 * output is held at a time). Arguments: DEPTH THREADS[,THREADS...] [REPEATS=1].
 *
 * <p>Used by {@link org.medprep.ops.ResampleLargeVolumeTest} in a forked JVM with -Xmx = 3 × (input + output);
 * by hand: {@code java -Xmx2100m -cp ... org.medprep.bench.ResampleLargeVolume 600 2} or
 * {@code ... ResampleLargeVolume 300 1,2} for the single- vs two-thread timing.
 */
public final class ResampleLargeVolume {

    private ResampleLargeVolume() {
    }

    public static void main(String[] args) {
        int depth = Integer.parseInt(args[0]);
        int[] threads = Arrays.stream(args[1].split(",")).mapToInt(Integer::parseInt).toArray();
        int repeats = args.length > 2 ? Integer.parseInt(args[2]) : 1;
        Image ct = phantom(512, 512, depth);
        double[] target = {1, 1, 1};
        for (Resample.Interpolation k : new Resample.Interpolation[]{Resample.Interpolation.LINEAR,
                Resample.Interpolation.BSPLINE}) {
            long firstHash = 0;
            for (int ti = 0; ti < threads.length; ti++) {
                long best = Long.MAX_VALUE;
                long cpu = 0;
                long hash = 0;
                Image out = null;
                for (int r = 0; r < repeats; r++) {
                    out = null;
                    long c0 = cpuNanos();
                    long t0 = System.nanoTime();
                    out = Resample.apply(ct, target, k, true, threads[ti], Long.MAX_VALUE);
                    long ms = (System.nanoTime() - t0) / 1_000_000;
                    if (ms < best) {
                        best = ms;
                        cpu = (cpuNanos() - c0) / 1_000_000;
                    }
                    hash = Arrays.hashCode((float[]) out.data());
                }
                if (ti == 0) {
                    firstHash = hash;
                }
                System.out.printf(Locale.ROOT, "%s threads=%d ms=%d cpuMs=%d out=%dx%dx%d inMB=%.1f outMB=%.1f identical=%b%n",
                        k, threads[ti], best, cpu, out.width(), out.height(), out.depth(), ct.size() * 2 / 1e6,
                        out.size() * 4 / 1e6, hash == firstHash);
            }
        }
    }

    /** CPU time of the whole process (all threads, GC included), ns. */
    static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    /** Synthetic CT in HU (int16), deterministic. */
    static Image phantom(int w, int h, int d) {
        short[] v = new short[w * h * d];
        long seed = 12345;
        for (int z = 0; z < d; z++) {
            for (int y = 0; y < h; y++) {
                double yy = (y - h / 2.0) / (h * 0.35);
                for (int x = 0; x < w; x++) {
                    double xx = (x - w / 2.0) / (w * 0.45);
                    double hu = -1000;
                    if (xx * xx + yy * yy < 1) {
                        seed = seed * 6364136223846793005L + 1442695040888963407L;
                        hu = 40 + ((seed >>> 40) % 41) - 20;
                        double lx = Math.abs(xx) - 0.45;
                        double ly = yy + 0.1;
                        if (lx * lx / 0.09 + ly * ly / 0.3 < 1) {
                            hu = -850 + ((seed >>> 20) % 31) - 15;
                        }
                        double sx = xx;
                        double sy = yy - 0.6;
                        if (sx * sx + sy * sy < 0.02) {
                            hu = 700;
                        }
                    }
                    v[(z * h + y) * w + x] = (short) hu;
                }
            }
        }
        Geometry g = new Geometry(new double[]{0.7, 0.7, 1.25}, new double[]{-179, -179, -300},
                new double[]{1, 0, 0, 0, 1, 0, 0, 0, 1});
        return new Image(VoxelType.INT16, w, h, d, 1, v, g, new ImageMetadata("synthetic", "CT", "MONOCHROME2", 16,
                true, 1, 0, Double.NaN, Double.NaN, null, null, null));
    }
}
