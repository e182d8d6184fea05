/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.ops;

/**
 * The cubic B-spline prefilter: turns samples f(k) of one line into the coefficients c(k) of the cubic B-spline
 * that interpolates them, {@code Σ_k c(k) β³(x − k) = f(x)} at every integer x. Without it a cubic B-spline
 * sum smooths the image instead of interpolating it.
 *
 * <p>The filter is the inverse of the sampled cubic B-spline kernel (1/6, 4/6, 1/6), factored into a causal and
 * an anti-causal first-order recursive filter with the pole {@code z = √3 − 2} and the gain
 * {@code (1 − z)(1 − 1/z) = 6} (M. Unser, A. Aldroubi, M. Eden, "B-spline signal processing: Part II —
 * efficient design and applications", IEEE Trans. Signal Processing 41(2), 1993; M. Unser, "Splines: a perfect
 * fit for signal and image processing", IEEE Signal Processing Magazine 16(6), 1999, Box 2).
 *
 * <p>Boundary: <b>mirror</b> (whole-sample symmetric) extension, {@code f(−k) = f(k)} and
 * {@code f(n − 1 + k) = f(n − 1 − k)}: the extension of Unser 1999, ITK's BSplineDecompositionImageFilter and
 * SciPy's {@code mode='mirror'}. The causal filter starts from its exact value on that extension
 * (no truncated horizon):
 * {@code c⁺(0) = (f(0) + z^(n−1) f(n−1) + Σ_{k=1}^{n−2} (z^k + z^(2n−2−k)) f(k)) / (1 − z^(2n−2))};
 * the anti-causal one from {@code c(n−1) = z / (z² − 1) · (c⁺(n−1) + z c⁺(n−2))}.
 */
public final class BSplinePrefilter {

    /** The pole of the cubic B-spline prefilter, √3 − 2. */
    public static final double POLE = Math.sqrt(3) - 2;

    private BSplinePrefilter() {
    }

    /**
     * Replaces {@code line[0 .. n−1]} by its cubic B-spline coefficients (mirror boundary), in place. A line of
     * one sample is its own coefficient.
     *
     * @param line samples, overwritten with coefficients
     * @param n    number of samples used (≤ line.length)
     */
    public static void apply(double[] line, int n) {
        if (n < 2) {
            return;
        }
        double z = POLE;
        double gain = (1 - z) * (1 - 1 / z);
        for (int k = 0; k < n; k++) {
            line[k] *= gain;
        }
        // causal initialisation on the mirror extension, exact
        double zn1 = Math.pow(z, n - 1);
        double sum = line[0] + zn1 * line[n - 1];
        double zk = z;
        for (int k = 1; k < n - 1; k++) {
            sum += zk * (line[k] + zn1 * line[n - 1 - k]);
            zk *= z;
        }
        line[0] = sum / (1 - zn1 * zn1);
        for (int k = 1; k < n; k++) {
            line[k] += z * line[k - 1];
        }
        // anti-causal
        line[n - 1] = z / (z * z - 1) * (line[n - 1] + z * line[n - 2]);
        for (int k = n - 2; k >= 0; k--) {
            line[k] = z * (line[k + 1] - line[k]);
        }
    }
}
