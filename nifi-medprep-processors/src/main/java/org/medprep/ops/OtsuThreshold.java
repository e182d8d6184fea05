/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.ops;

/**
 * Otsu's threshold (Otsu, "A threshold selection method from gray-level histograms", IEEE Trans. SMC 9(1):62–66,
 * 1979) with the semantics of ITK 5.2's {@code OtsuThresholdImageFilter} on a float image, which N4 users take as
 * the foreground mask:
 * <ul>
 *   <li>histogram of {@code bins} equal bins (ITK's default 256) from the minimum to the maximum value, the
 *       maximum raised by {@code (max − min)/bins/100} (ITK's marginal scale 100) so it falls in the last bin;</li>
 *   <li>a bin's measurement is its midpoint; the threshold index t runs 0..bins − 2 (class 0 = bins 0..t),
 *       the first t of largest between-class variance {@code Σ_c N_c·μ_c²/N} wins (a later t must exceed it by
 *       more than one ulp);</li>
 *   <li>the threshold is that bin's upper edge (ITK 5's {@code ReturnBinMidpoint = false}), as float32;</li>
 *   <li>foreground = values <em>above</em> the threshold (ITK: values ≤ threshold get the inside value, which the
 *       N4 tools set to 0).</li>
 * </ul>
 */
public final class OtsuThreshold {

    /** ITK's default histogram size for OtsuThresholdImageFilter. */
    public static final int ITK_BINS = 256;

    private OtsuThreshold() {
    }

    /**
     * The threshold of {@code values}.
     *
     * @return the float32 threshold; values strictly above it are foreground. NaN values are not allowed.
     * @throws IllegalArgumentException for no values or fewer than 2 bins
     */
    public static float threshold(double[] values, int bins) {
        if (values.length == 0 || bins < 2) {
            throw new IllegalArgumentException("Otsu needs values and at least 2 bins");
        }
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        for (double v : values) {
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        max += (max - min) / bins / 100;
        double width = (max - min) / bins;
        double[] freq = new double[bins];
        for (double v : values) {
            int i = width > 0 ? (int) Math.floor((v - min) / width) : 0;
            // ITK's bin edges are min + i·width: settle rounding at the edges the same way
            if (i > 0 && v < min + i * width) {
                i--;
            } else if (i < bins - 1 && v >= min + (i + 1) * width) {
                i++;
            }
            freq[Math.max(0, Math.min(bins - 1, i))]++;
        }
        double total = values.length;
        double[] meas = new double[bins];
        double globalMean = 0;
        for (int i = 0; i < bins; i++) {
            double lo = min + i * width;
            double hi = i == bins - 1 ? max : min + (i + 1) * width;
            meas[i] = (lo + hi) / 2;
            globalMean += meas[i] * freq[i];
        }
        globalMean /= total;
        double f0 = freq[0];
        double m0 = f0 > 0 ? meas[0] : 0;
        double f1 = total - f0;
        double m1 = f1 > 0 ? (globalMean * total - m0 * f0) / f1 : 0;
        double best = (f0 * m0 * m0 + f1 * m1 * m1) / total;
        int bestT = 0;
        for (int t = 1; t <= bins - 2; t++) {
            double f0old = f0;
            f0 += freq[t];
            m0 = f0 > 0 ? (m0 * f0old + meas[t] * freq[t]) / f0 : 0;
            f1 = total - f0;
            m1 = f1 > 0 ? (globalMean * total - m0 * f0) / f1 : 0;
            double var = (f0 * m0 * m0 + f1 * m1 * m1) / total;
            if (var > best && Math.nextUp(best) < var) {
                best = var;
                bestT = t;
            }
        }
        double thr = bestT == bins - 1 ? max : min + (bestT + 1) * width;
        return (float) thr;
    }
}
