/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.ops;

/**
 * One-dimensional Gaussian smoothing of a line with mirror boundary: the anti-aliasing filter that
 * {@link Resample} applies along an axis before sampling it more coarsely.
 *
 * <p><b>Kernel</b> (as SciPy's {@code scipy.ndimage.gaussian_filter1d(..., mode='mirror', truncate=4.0)}):
 * radius {@code r = (int)(4·σ + 0.5)} samples, weights {@code w(k) = exp(−k²/(2σ²))} for k = −r..r divided by
 * their sum (so a constant line stays constant), computed in double.
 *
 * <p><b>Anti-aliasing rule</b> ({@link #antiAliasingSigma}): on an axis whose spacing grows from s to s' &gt; s,
 * σ = max(0, (s'/s − 1)/2) input voxels — the rule of scikit-image's {@code skimage.transform.resize(...,
 * anti_aliasing=True)} (there with the shape ratio n/n' in place of s'/s). σ is 0 (no smoothing) when the
 * spacing does not grow.
 *
 * <p><b>Boundary</b>: mirror (whole-sample symmetric, SciPy's {@code mode='mirror'}), folded as often as needed
 * when the radius exceeds the line, so smoothing and interpolation see the same extension
 * (the same folding as Resample's).
 *
 * <p><b>Long kernels</b> ({@link #GaussianSmoothing(double, int)}, for lines of a known length n): the mirror
 * extension repeats with period P = 2(n − 1), so smoothing is a circular convolution with the kernel folded onto
 * one period. By Poisson summation the folded (untruncated) kernel of σ ≥ 2P deviates from uniform by
 * exp(−2π²·4) ≈ 5e-35; the 4σ truncation leaves edge taps of e^−8 of the peak, so the line comes out as its
 * periodic mean to about 1e-5 relative. σ is therefore capped at 2P (a larger σ would change the result by
 * no more than that), and a kernel longer than P is applied folded, P taps per sample. So a 10,000-fold
 * downsampling neither overflows the kernel nor costs 80,000 taps a sample.
 */
public final class GaussianSmoothing {

    /** Kernel half-width in standard deviations. */
    public static final double TRUNCATE = 4.0;

    private final int radius;
    private final double[] weights;
    /** The kernel folded onto the mirror period of lines of length {@link #foldedLength}, or null. */
    private final double[] folded;
    private final int foldedLength;

    /**
     * A kernel of standard deviation {@code sigma} (in samples).
     *
     * @throws IllegalArgumentException when sigma is not finite and &gt; 0
     */
    public GaussianSmoothing(double sigma) {
        this(sigma, 0);
    }

    /**
     * A kernel of standard deviation {@code sigma} (in samples) for lines of {@code n} samples: σ capped at
     * 2P = 4(n − 1) (1 for n = 1), and folded onto the period when longer than it (see the class comment).
     * {@code n} = 0 means any length: no cap, no folding.
     *
     * @throws IllegalArgumentException when sigma is not finite and &gt; 0
     */
    public GaussianSmoothing(double sigma, int n) {
        if (!(sigma > 0) || !Double.isFinite(sigma)) {
            throw new IllegalArgumentException("Gaussian sigma must be finite and > 0; got " + sigma);
        }
        if (n == 1) {
            sigma = Math.min(sigma, 1);
        } else if (n > 1) {
            sigma = Math.min(sigma, 4.0 * (n - 1));
        }
        radius = (int) (TRUNCATE * sigma + 0.5);
        weights = new double[2 * radius + 1];
        double sum = 0;
        for (int k = -radius; k <= radius; k++) {
            double w = Math.exp(-0.5 / (sigma * sigma) * k * k);
            weights[k + radius] = w;
            sum += w;
        }
        for (int k = 0; k < weights.length; k++) {
            weights[k] /= sum;
        }
        int period = 2 * (n - 1);
        if (n > 1 && weights.length > period) {
            folded = new double[period];
            for (int k = 0; k < weights.length; k++) {
                folded[Math.floorMod(k - radius, period)] += weights[k];
            }
            foldedLength = n;
        } else {
            folded = null;
            foldedLength = -1;
        }
    }

    /**
     * The anti-aliasing standard deviation, in input voxels, for an axis going from spacing s to s'.
     *
     * @return max(0, (s'/s − 1)/2)
     */
    public static double antiAliasingSigma(double spacing, double newSpacing) {
        return Math.max(0, (newSpacing / spacing - 1) / 2);
    }

    /** Kernel radius in samples, {@code (int)(4σ + 0.5)}. */
    public int radius() {
        return radius;
    }

    /**
     * Smooths {@code line[0 .. n−1]} into {@code out[0 .. n−1]} (distinct arrays).
     *
     * @param line input samples (not modified)
     * @param n    number of samples used, ≥ 1
     * @param out  receives the smoothed samples
     */
    public void apply(double[] line, int n, double[] out) {
        if (n == foldedLength) {
            for (int i = 0; i < n; i++) {
                double v = 0;
                for (int m = 0; m < folded.length; m++) {
                    v += folded[m] * line[Resample.mirror((long) i + m, n)];
                }
                out[i] = v;
            }
            return;
        }
        for (int i = 0; i < n; i++) {
            double v = 0;
            if (i >= radius && i + radius < n) {
                int b = i - radius;
                for (int k = 0; k < weights.length; k++) {
                    v += weights[k] * line[b + k];
                }
            } else {
                for (int k = 0; k < weights.length; k++) {
                    v += weights[k] * line[Resample.mirror((long) i - radius + k, n)];
                }
            }
            out[i] = v;
        }
    }
}
