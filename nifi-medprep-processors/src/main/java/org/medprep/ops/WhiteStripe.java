/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.ops;

import org.medprep.image.Image;
import org.medprep.image.VoxelType;

/**
 * WhiteStripe normalization of a brain MR image: R. T. Shinohara, E. M. Sweeney, J. Goldsmith, N. Shiee,
 * F. J. Mateen, P. A. Calabresi, S. Jarso, D. L. Pham, D. S. Reich, C. M. Crainiceanu, "Statistical normalization
 * techniques for magnetic resonance imaging", NeuroImage: Clinical 6:9–19, 2014, Section 2.4.
 *
 * <p>The details follow the paper and, where it leaves a choice open, the Python {@code intensity-normalization}
 * package (J. Reinhold; {@code WhiteStripeNormalize} and {@code util/histogram_tools.py}):
 * <ol>
 *   <li>Foreground: the voxels of a {@link ForegroundMask} (default: above the image mean, as R's
 *       {@code make_img_voi}).</li>
 *   <li>Smoothed histogram of the foreground values: a Gaussian kernel density estimate with bandwidth
 *       h = max/80 on an 80-point grid from min − 3h to max + 3h (that package's {@code smooth_histogram}, i.e.
 *       statsmodels' {@code KDEUnivariate(kernel="gau", bw=max/80, gridsize=80)} with its default cut 3). As
 *       statsmodels' FFT variant, the values are first linearly binned onto the grid (each value splits its
 *       weight between the two nearest grid points); the binned weights are then convolved with the Gaussian
 *       directly (statsmodels convolves by FFT, which wraps around the grid ends).</li>
 *   <li>White-matter mode: {@link Contrast#T1} — the <em>last</em> local maximum (largest intensity; a grid point
 *       strictly above both neighbours, as {@code scipy.signal.argrelmax}) of the histogram of the foreground
 *       values at or below their 96th percentile (the tail removal of {@code get_last_tissue_mode}, replicating R
 *       WhiteStripe's default); {@link Contrast#T2} and {@link Contrast#FLAIR} — the <em>largest</em> peak (the
 *       grid point of the highest density, {@code get_largest_tissue_mode}). With no local maximum the highest
 *       point is taken.</li>
 *   <li>The stripe, as the paper defines it: Ω<sub>τ</sub> = {v : |F(v) − F(μ)| &lt; τ}, F the empirical
 *       distribution function of the foreground values (fraction ≤ v), τ = width, 0.05 by default. (The
 *       intensity-normalization package instead keeps the values strictly between the quantiles at F(μ) ∓ τ;
 *       on integer-valued images with few voxels that band can hold no value at all, the paper's cannot as long
 *       as a foreground value lies at or below μ.)</li>
 *   <li>Every voxel: (v − mean) / max(sd, 1e-8), mean and (population) sd of the stripe voxels; float32. A stripe
 *       whose voxels all have one value (sd 0, e.g. a 16 × 16 slice of integers) is refused rather than
 *       divided by 1e-8.</li>
 * </ol>
 */
public final class WhiteStripe {

    /** Default stripe half-width τ in quantile units (the paper's 5 %). */
    public static final double DEFAULT_WIDTH = 0.05;
    /** Grid points of the smoothed histogram (intensity-normalization's {@code gridsize}). */
    static final int GRID = 80;
    /** Bandwidth divisor: h = max / 80. */
    static final double BANDWIDTH_DIVISOR = 80;
    /** Grid extends this many bandwidths beyond the data (statsmodels' default cut). */
    static final double CUT = 3;
    /** Tail removed before the T1 mode search: values above this percentile. */
    static final double T1_TAIL_PERCENTILE = 96;

    /** Which tissue peak is white matter. */
    public enum Contrast {
        /** White matter is the brightest tissue: the last peak. */
        T1,
        /** White matter is the most frequent tissue: the largest peak. */
        T2,
        /** As T2: the largest peak. */
        FLAIR
    }

    /**
     * The normalized image and what was found.
     *
     * @param image        float32, same size and geometry
     * @param mode         white-matter mode μ (input units)
     * @param lower        smallest stripe value
     * @param upper        largest stripe value
     * @param mean         mean of the stripe voxels
     * @param sd           population standard deviation of the stripe voxels
     * @param stripeVoxels number of stripe samples
     */
    public record Result(Image image, double mode, double lower, double upper, double mean, double sd,
                         int stripeVoxels) {
    }

    private WhiteStripe() {
    }

    /**
     * WhiteStripe with the given contrast, stripe width τ and foreground.
     *
     * @throws IllegalArgumentException when the foreground is empty, its maximum is not positive (no bandwidth), or
     *                                  no foreground value is within the width of the mode's quantile, or every
     *                                  stripe voxel has the same value (sd 0: dividing would only blow up noise)
     */
    public static Result normalize(Image image, Contrast contrast, double width, ForegroundMask.Kind foreground) {
        if (!(width > 0 && width < 1)) {
            throw new IllegalArgumentException("the WhiteStripe width must be between 0 and 1, not " + width);
        }
        boolean[] mask = ForegroundMask.of(image, foreground);
        double[] sorted = ForegroundMask.sortedValues(image, mask);
        double mode = contrast == Contrast.T1 ? lastMode(sorted) : largestMode(sorted);
        // The paper's stripe: |F(v) - F(mode)| < width, F the empirical CDF of the foreground (fraction <= v).
        // F is monotone, so the stripe is the closed value interval [lower, upper] of the qualifying values.
        int total = sorted.length;
        double fMode = (double) countAtOrBelow(sorted, mode) / total;
        double lower = Double.NaN;
        double upper = Double.NaN;
        for (int i = 0; i < total; ) {
            int j = i;
            while (j + 1 < total && sorted[j + 1] == sorted[i]) {
                j++;
            }
            double f = (double) (j + 1) / total;
            if (Math.abs(f - fMode) < width) {
                if (Double.isNaN(lower)) {
                    lower = sorted[i];
                }
                upper = sorted[i];
            }
            i = j + 1;
        }
        if (Double.isNaN(lower)) {
            throw new IllegalArgumentException("the white stripe is empty: no foreground value has a quantile within "
                    + width + " of the white-matter mode " + mode + "'s");
        }
        int c = image.channels();
        double sum = 0;
        int n = 0;
        for (int v = 0; v < mask.length; v++) {
            if (mask[v]) {
                for (int k = 0; k < c; k++) {
                    double x = image.get(v * c + k);
                    if (x >= lower && x <= upper) {
                        sum += x;
                        n++;
                    }
                }
            }
        }
        double mean = sum / n;
        double ss = 0;
        for (int v = 0; v < mask.length; v++) {
            if (mask[v]) {
                for (int k = 0; k < c; k++) {
                    double x = image.get(v * c + k);
                    if (x >= lower && x <= upper) {
                        ss += (x - mean) * (x - mean);
                    }
                }
            }
        }
        double sd = Math.sqrt(ss / n);
        if (sd == 0) {
            throw new IllegalArgumentException("the white stripe has no spread: all " + n + " stripe voxels have the "
                    + "value " + mean + " (too few distinct intensities for WhiteStripe)");
        }
        double d = Math.max(sd, Intensity.MIN_STD);
        Image out = image.blank(VoxelType.FLOAT32, image.width(), image.height(), image.depth());
        float[] o = (float[]) out.data();
        for (int i = 0; i < o.length; i++) {
            o[i] = (float) ((image.get(i) - mean) / d);
        }
        out = out.withGeometry(image.geometry()).withMetadata(image.metadata().withValueScale(32, true));
        return new Result(out, mode, lower, upper, mean, sd, n);
    }

    /** T1 rule: last local maximum of the smoothed histogram of the values at or below the 96th percentile. */
    static double lastMode(double[] sorted) {
        double threshold = Intensity.percentile(sorted, T1_TAIL_PERCENTILE);
        int n = countAtOrBelow(sorted, threshold);
        double[][] gp = smoothHistogram(sorted, n);
        double[] grid = gp[0];
        double[] pdf = gp[1];
        int last = -1;
        for (int i = 1; i < GRID - 1; i++) {
            if (pdf[i] > pdf[i - 1] && pdf[i] > pdf[i + 1]) {
                last = i;
            }
        }
        return grid[last >= 0 ? last : argmax(pdf)];
    }

    /** T2/FLAIR rule: the grid point of the highest density. */
    static double largestMode(double[] sorted) {
        double[][] gp = smoothHistogram(sorted, sorted.length);
        return gp[0][argmax(gp[1])];
    }

    /**
     * Gaussian KDE of the first {@code n} ascending values, linearly binned on the 80-point grid and convolved
     * directly: {grid, density}.
     */
    static double[][] smoothHistogram(double[] sorted, int n) {
        double min = sorted[0];
        double max = sorted[n - 1];
        double h = max / BANDWIDTH_DIVISOR;
        if (!(h > 0)) {
            throw new IllegalArgumentException("WhiteStripe needs positive foreground intensities (the histogram "
                    + "bandwidth is max/80; the foreground maximum is " + max + ")");
        }
        double a = min - CUT * h;
        double b = max + CUT * h;
        double delta = (b - a) / (GRID - 1);
        double[] grid = new double[GRID];
        for (int i = 0; i < GRID; i++) {
            grid[i] = a + i * delta;
        }
        double[] weights = new double[GRID];
        for (int i = 0; i < n; i++) {
            double pos = (sorted[i] - a) / delta;
            int j = (int) Math.floor(pos);
            double f = pos - j;
            weights[j] += 1 - f;
            weights[j + 1] += f;
        }
        double[] pdf = new double[GRID];
        double norm = 1 / (n * h * Math.sqrt(2 * Math.PI));
        for (int i = 0; i < GRID; i++) {
            double s = 0;
            for (int j = 0; j < GRID; j++) {
                double u = (grid[i] - grid[j]) / h;
                s += weights[j] * Math.exp(-0.5 * u * u);
            }
            pdf[i] = s * norm;
        }
        return new double[][] {grid, pdf};
    }

    private static int argmax(double[] a) {
        int best = 0;
        for (int i = 1; i < a.length; i++) {
            if (a[i] > a[best]) {
                best = i;
            }
        }
        return best;
    }

    /** Values at or below {@code x} in ascending {@code sorted}. */
    private static int countAtOrBelow(double[] sorted, double x) {
        int lo = 0;
        int hi = sorted.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (sorted[mid] <= x) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }
}
