/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The folded long-kernel path and the σ cap of {@link GaussianSmoothing} against the direct mirror sum. */
class GaussianSmoothingTest {

    /** The direct sum with mirror indices, over the untruncated-by-length kernel (the definition). */
    private static double[] direct(double[] line, double sigma) {
        int n = line.length;
        int r = (int) (GaussianSmoothing.TRUNCATE * sigma + 0.5);
        double sum = 0;
        for (int k = -r; k <= r; k++) {
            sum += Math.exp(-0.5 * k * k / (sigma * sigma));
        }
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            for (int k = -r; k <= r; k++) {
                out[i] += Math.exp(-0.5 * k * k / (sigma * sigma)) / sum * line[Resample.mirror((long) i + k, n)];
            }
        }
        return out;
    }

    private static double[] line(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = r.nextDouble(-1000, 1000);
        }
        return v;
    }

    @Test
    void foldedKernelEqualsTheDirectSumForKernelsLongerThanThePeriod() {
        for (int n : new int[]{2, 3, 7, 33}) {
            for (double sigma : new double[]{0.6 * n, 2.0 * n, 3.9 * (n - 1)}) {
                double[] in = line(n, n * 31L);
                double[] out = new double[n];
                new GaussianSmoothing(sigma, n).apply(in, n, out);
                double[] expected = direct(in, sigma);
                for (int i = 0; i < n; i++) {
                    assertEquals(expected[i], out[i], 1e-9 * 1000, "n " + n + ", sigma " + sigma + ", sample " + i);
                }
            }
        }
    }

    /**
     * Beyond σ = 4(n − 1) every σ gives the capped result, the periodic mean within the 4σ truncation's 1e-5
     * relative; 1e300 neither overflows nor takes long.
     */
    @Test
    void hugeSigmaGivesThePeriodicMean() {
        int n = 33;
        double[] in = line(n, 7);
        double[] capped = direct(in, 4.0 * (n - 1));
        double mean = 0;
        for (int m = 0; m < 2 * (n - 1); m++) {
            mean += in[Resample.mirror(m, n)];
        }
        mean /= 2 * (n - 1);
        for (double sigma : new double[]{4.0 * (n - 1), 1e4, 1e300}) {
            double[] out = new double[n];
            new GaussianSmoothing(sigma, n).apply(in, n, out);
            for (int i = 0; i < n; i++) {
                assertEquals(capped[i], out[i], 1e-9, "sigma " + sigma);
                assertEquals(mean, out[i], 1e-5 * 1000, "sigma " + sigma);
            }
        }
        double[] one = {5};
        double[] out = new double[1];
        new GaussianSmoothing(1e300, 1).apply(one, 1, out);
        assertEquals(5, out[0]);
    }
}
