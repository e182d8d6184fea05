/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.medprep.bench.ResampleLargeVolume;
import org.medprep.image.Geometry;

/**
 * The memory requirement: a 512 × 512 × 600 int16 CT (0.7 × 0.7 × 1.25 mm) resampled to 1 mm with
 * Linear and B-Spline (anti-aliasing on) runs in a heap of 3 × (input + output) bytes. Runs
 * {@link ResampleLargeVolume} in a forked JVM with exactly that -Xmx, and checks the analytic peak of
 * {@link Resample} (input + max(I1 + I2, I2 + output)) against the same bound.
 *
 * <p>Part of every test run (about 20 s on 2 cores; the forked JVM allocates up to 2 GB). Alone:
 * {@code mvn -o -q -pl nifi-medprep-processors test -Dtest=ResampleLargeVolumeTest}.
 */
class ResampleLargeVolumeTest {

    @Test
    void ctOf512x512x600To1mmRunsInAHeapOfThreeTimesInputPlusOutput() throws Exception {
        int w = 512;
        int h = 512;
        int d = 600;
        Geometry g = new Geometry(new double[]{0.7, 0.7, 1.25}, new double[3], new double[]{1, 0, 0, 0, 1, 0, 0, 0, 1});
        Resample.Plan plan = Resample.plan(w, h, d, g, new double[]{1, 1, 1});
        assertEquals(358, plan.width());
        assertEquals(750, plan.depth());
        long in = 2L * w * h * d;
        long out = 4L * plan.voxels();
        long i1 = 4L * plan.width() * h * d;
        long i2 = 4L * plan.width() * plan.height() * d;
        long peak = in + Math.max(i1 + i2, i2 + out);
        long heap = 3 * (in + out);
        System.out.printf("input %.1f MB, output %.1f MB, analytic peak %.1f MB, heap limit %.1f MB%n", in / 1e6,
                out / 1e6, peak / 1e6, heap / 1e6);
        assertTrue(peak < heap, "analytic peak within 3 x (in + out)");

        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = List.of(java, "-Xmx" + (heap / 1024) + "k", "-cp", System.getProperty("java.class.path")
                + File.pathSeparator + System.getProperty("surefire.test.class.path", ""),
                ResampleLargeVolume.class.getName(), Integer.toString(d),
                Integer.toString(Runtime.getRuntime().availableProcessors()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), "timed out");
        System.out.print(text);
        assertEquals(0, p.exitValue(), "forked run failed:\n" + text);
        assertTrue(text.contains("LINEAR") && text.contains("BSPLINE"), text);
        assertTrue(!text.contains("OutOfMemoryError"), text);
    }
}
