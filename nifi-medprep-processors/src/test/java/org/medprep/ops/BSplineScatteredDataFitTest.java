/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.medprep.ops.BSplineScatteredDataFit.Lattice;

/** {@link BSplineScatteredDataFit}, {@link Radix2Fft} and {@link OtsuThreshold} on cases with known answers. */
class BSplineScatteredDataFitTest {

    @ParameterizedTest(name = "order {0}")
    @ValueSource(ints = {1, 2, 3})
    void refinementKeepsTheFunction(int order) {
        Random rnd = new Random(order);
        int[] size = {order + 2, order + 3, order + 1};
        Lattice l = Lattice.zeros(size, order);
        double[] c = l.coefficients();
        for (int i = 0; i < c.length; i++) {
            c[i] = rnd.nextGaussian();
        }
        int[] grid = {23, 17, 9};
        double[] before = new double[23 * 17 * 9];
        BSplineScatteredDataFit.evaluateGrid(l, grid, before, 1);
        Lattice r = BSplineScatteredDataFit.refine(l, new boolean[]{true, false, true});
        assertArrayEquals(new int[]{2 * size[0] - order, size[1], 2 * size[2] - order}, r.size());
        double[] after = new double[before.length];
        BSplineScatteredDataFit.evaluateGrid(r, grid, after, 2);
        for (int i = 0; i < before.length; i++) {
            assertEquals(before[i], after[i], 1e-12);
        }
    }

    @Test
    void gridEvaluationEqualsPointEvaluation() {
        Random rnd = new Random(3);
        Lattice l = Lattice.zeros(new int[]{6, 5}, 3);
        for (int i = 0; i < l.coefficients().length; i++) {
            l.coefficients()[i] = rnd.nextDouble();
        }
        int[] grid = {13, 7};
        double[] g = new double[13 * 7];
        BSplineScatteredDataFit.evaluateGrid(l, grid, g, 1);
        double[] t = new double[13 * 7 * 2];
        for (int y = 0; y < 7; y++) {
            for (int x = 0; x < 13; x++) {
                t[(y * 13 + x) * 2] = x / 12.0;
                t[(y * 13 + x) * 2 + 1] = y / 6.0;
            }
        }
        double[] p = BSplineScatteredDataFit.evaluate(l, t, new double[]{1e-3 / 12, 1e-3 / 6}, 1);
        for (int i = 0; i < g.length; i++) {
            assertEquals(g[i], p[i], 1e-12);
        }
    }

    @Test
    void multilevelFitApproximatesASmoothFunctionAndIsThreadIndependent() {
        Random rnd = new Random(7);
        int n = 4000;
        double[] t = new double[2 * n];
        double[] z = new double[n];
        double[] w = new double[n];
        for (int i = 0; i < n; i++) {
            double x = rnd.nextDouble();
            double y = rnd.nextDouble();
            t[2 * i] = x;
            t[2 * i + 1] = y;
            z[i] = Math.sin(3 * x) + Math.cos(2 * y) * x;
            w[i] = 0.5 + rnd.nextDouble();
        }
        double[] eps = {1e-6, 1e-6};
        double prev = Double.MAX_VALUE;
        for (int levels = 1; levels <= 5; levels++) {
            Lattice l = BSplineScatteredDataFit.fit(t, z, w, eps, new int[]{4, 4}, 3, new int[]{levels, levels}, 1);
            double[] fitted = BSplineScatteredDataFit.evaluate(l, t, eps, 1);
            double err = 0;
            for (int i = 0; i < n; i++) {
                err = Math.max(err, Math.abs(fitted[i] - z[i]));
            }
            assertTrue(err < prev, "more levels must fit better: " + err + " after " + prev);
            prev = err;
            Lattice l4 = BSplineScatteredDataFit.fit(t, z, w, eps, new int[]{4, 4}, 3, new int[]{levels, levels}, 4);
            assertArrayEquals(l.coefficients(), l4.coefficients(), 0.0);
        }
        assertTrue(prev < 0.1, "5 levels fit within 0.1: " + prev);
    }

    @Test
    void preparedAndOnTheFlyFitsAreIdentical() {
        Random rnd = new Random(13);
        int n = 3000;
        double[] t = new double[3 * n];
        double[] z = new double[n];
        double[] w = new double[n];
        for (int i = 0; i < n; i++) {
            for (int d = 0; d < 3; d++) {
                t[3 * i + d] = rnd.nextDouble();
            }
            z[i] = rnd.nextGaussian();
            w[i] = rnd.nextDouble();
        }
        double[] eps = {1e-4, 1e-4, 1e-4};
        int[] size = {5, 7, 4};
        var prepared = new BSplineScatteredDataFit.LevelFitter(t, w, eps, size, 3, 2);
        var onTheFly = new BSplineScatteredDataFit.LevelFitter(t, w, eps, size, 3, 1, 0);
        assertArrayEquals(prepared.fit(z, 2).coefficients(), onTheFly.fit(z, 1).coefficients(), 0.0);
    }

    @Test
    void pointsOutsideTheDomainAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> BSplineScatteredDataFit.fitLevel(new double[]{1.2},
                new double[]{1}, null, new double[]{1e-3}, new int[]{4}, 3, 1));
    }

    @Test
    void fftMatchesTheDefinition() {
        Random rnd = new Random(11);
        int n = 64;
        double[] re = new double[n];
        double[] im = new double[n];
        for (int i = 0; i < n; i++) {
            re[i] = rnd.nextGaussian();
            im[i] = rnd.nextGaussian();
        }
        double[] r2 = re.clone();
        double[] i2 = im.clone();
        Radix2Fft.forward(r2, i2);
        for (int k = 0; k < n; k++) {
            double sr = 0;
            double si = 0;
            for (int j = 0; j < n; j++) {
                double a = -2 * Math.PI * j * k / n;
                sr += re[j] * Math.cos(a) - im[j] * Math.sin(a);
                si += re[j] * Math.sin(a) + im[j] * Math.cos(a);
            }
            assertEquals(sr, r2[k], 1e-9);
            assertEquals(si, i2[k], 1e-9);
        }
        Radix2Fft.inverse(r2, i2);
        for (int i = 0; i < n; i++) {
            assertEquals(n * re[i], r2[i], 1e-9);
            assertEquals(n * im[i], i2[i], 1e-9);
        }
    }

    @Test
    void otsuSeparatesTwoModes() {
        Random rnd = new Random(5);
        double[] v = new double[20000];
        for (int i = 0; i < v.length; i++) {
            v[i] = i % 3 == 0 ? 20 + 5 * rnd.nextGaussian() : 120 + 10 * rnd.nextGaussian();
        }
        float thr = OtsuThreshold.threshold(v, 256);
        // scikit-image's threshold_otsu(v, 256) on the same distribution (NumPy's generator): 37.7
        assertTrue(thr > 33 && thr < 43, "threshold " + thr);
    }
}
