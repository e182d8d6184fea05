/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.ops;

import java.util.Arrays;
import org.medprep.image.Image;
import org.medprep.image.VoxelType;

/**
 * N4 bias-field correction: Tustison, Avants, Cook, Zheng, Egan, Yushkevich &amp; Gee, "N4ITK: Improved N3 Bias
 * Correction", IEEE TMI 29(6):1310–1320, 2010, computed as ITK 5.2's {@code N4BiasFieldCorrectionImageFilter}
 * and the way ANTs and SimpleITK users run it (shrink the image and the mask, correct the shrunk image, evaluate
 * the final log-bias control lattice on the full-resolution grid, divide). 2D images (depth 1) are corrected in
 * 2D (x, y), volumes in 3D.
 *
 * <p><b>Model.</b> The observed image v = u·f (u the true image, f a smooth multiplicative bias field). In the log
 * domain {@code log v = log u + log f}; the histogram of {@code log u} is the histogram of {@code log v}
 * deconvolved by a Gaussian (the bias spreads the intensity distribution).
 *
 * <p><b>Steps</b> (ITK's, with its defaults in {@link Parameters#itkDefaults()}):
 * <ol>
 *   <li><b>Values</b>: physical values (stored × Modality LUT slope + intercept). <b>Mask</b> on the full image:
 *       {@link MaskMode#OTSU} (values above {@link OtsuThreshold}'s threshold, 256 bins, as
 *       {@code OtsuThresholdImageFilter} with the inside value 0 that N4 users set), {@link MaskMode#NONZERO}
 *       (values ≠ 0) or {@link MaskMode#NONE} (every voxel).</li>
 *   <li><b>Shrink</b> image and mask by the shrink factor s as ITK's {@code ShrinkImageFilter} (no averaging): per
 *       axis n' = max(1, ⌊n/s⌋) samples, sample j taken from index {@code j·s + o} with
 *       {@code o = round((n − 1)/2 − (n' − 1)·s/2)} (halves upwards), which keeps the grid centred. Every shrunk
 *       axis needs at least 2 samples.</li>
 *   <li><b>Log</b>: inside the mask, {@code log v} where v &gt; 0; ITK leaves values ≤ 0 as they are (log is
 *       undefined there: mask them out).</li>
 *   <li>For each fitting level L (one per entry of Maximum Iterations), up to that many iterations while the
 *       convergence measure exceeds the threshold:
 *     <ol type="a">
 *       <li><b>Sharpen</b> (N3's histogram deconvolution): histogram of the current log image inside the mask
 *           (200 bins from its minimum to its maximum, triangular Parzen window), zero-padded to a power of two
 *           (512 for 200 bins, centred); Wiener deconvolution with a Gaussian of FWHM 0.15 (in log units) and
 *           noise 0.01, done with {@link Radix2Fft}; the expected true value per bin
 *           {@code E[u|v] = (G * (u·U))/(G * U)} of the deconvolved histogram U (negative values clipped to 0);
 *           each voxel mapped to E by linear interpolation between bins.</li>
 *       <li><b>Residual</b> = current log image − sharpened, fitted with one level of
 *           {@link BSplineScatteredDataFit} (order 3, all masked voxels with weight 1, each at
 *           {@code t = index/(n' − 1)} per axis) on the current lattice size; the fitted control points are
 *           <em>added</em> to the log-bias lattice and the lattice is evaluated on the shrunk grid.</li>
 *       <li><b>Convergence</b> (ITK's CalculateConvergenceMeasurement): the coefficient of variation σ/μ of
 *           {@code exp(previous log bias − new log bias)} over the mask.</li>
 *       <li>current log image = log input − log bias.</li>
 *     </ol>
 *     Between levels the lattice is refined to the doubled mesh (4 → 5 → 7 → 11 control points per axis at
 *     order 3 and 4 initial control points, i.e. 1, 2, 4, 8 mesh elements).</li>
 *   <li><b>Full resolution</b>: the final lattice evaluated on the full grid with {@code t = index/(n − 1)} per
 *       axis (as ITK's {@code BSplineControlPointImageFilter} given the full image's size, the way N4's users
 *       reconstruct the field: the lattice spans the full image's first to last voxel), the corrected image
 *       {@code v / exp(log bias)} over every voxel, float32.</li>
 * </ol>
 *
 * <p><b>Shapes</b>: the input is one channel, (z, y, x) as {@link Image}; the corrected image and the bias field
 * {@code exp(log bias)} (dimensionless, multiplicative) have the input's shape and geometry, float32.
 *
 * <p><b>Threads</b>: with {@code threads} &gt; 1 the B-spline fits, the grid evaluations and the final division use
 * all cores ({@link BSplineScatteredDataFit}'s rule); the result is bit-identical for any thread count. Each
 * level's fit factors are prepared once ({@link BSplineScatteredDataFit.LevelFitter}), so an iteration costs
 * about 64 multiply-adds per masked voxel of the shrunk grid plus one grid evaluation.
 *
 * <p><b>References</b>: Tustison et al. 2010 (above); Sled, Zijdenbos &amp; Evans, "A nonparametric method for
 * automatic correction of intensity nonuniformity in MRI data", IEEE TMI 17(1):87–97, 1998 (N3, the sharpening);
 * Lee, Wolberg &amp; Shin 1997 and Tustison &amp; Gee 2005 (the B-spline fit); ITK 5.2's
 * itkN4BiasFieldCorrectionImageFilter.hxx, itkBSplineScatteredDataPointSetToImageFilter.hxx,
 * itkBSplineControlPointImageFilter.hxx, itkShrinkImageFilter.hxx and itkOtsuThresholdImageFilter.h (read, not
 * copied) for the details matched here.
 *
 * <p><b>Errors</b> ({@link IllegalArgumentException}, one sentence): more than one channel, invalid parameters, an
 * axis shorter than 2 samples after shrinking, an empty mask.
 */
public final class N4BiasField {

    private N4BiasField() {
    }

    /** Which voxels estimate the field. */
    public enum MaskMode {
        /** Values above Otsu's threshold (ITK's OtsuThresholdImageFilter, 256 bins). */
        OTSU,
        /** Values other than 0. */
        NONZERO,
        /** Every voxel (values ≤ 0 are then used unlogged, as ITK does: avoid). */
        NONE
    }

    /**
     * N4's parameters, named as ITK names them.
     *
     * @param shrinkFactor             shrink factor per axis (≥ 1); ANTs/ANTsPy default 4
     * @param maximumIterations        iterations per fitting level; its length is the number of levels
     * @param convergenceThreshold     stop a level when the convergence measure is at or below this
     * @param mask                     mask mode
     * @param splineOrder              B-spline order (1..3; ITK 3)
     * @param numberOfControlPoints    control points per axis at the first level (&gt; spline order; ITK 4)
     * @param numberOfHistogramBins    histogram bins of the sharpening (≥ 2; ITK 200)
     * @param biasFieldFullWidthAtHalfMaximum FWHM of the Gaussian bias kernel in log units (&gt; 0; ITK 0.15)
     * @param wienerFilterNoise        Wiener filter noise (≥ 0; ITK 0.01)
     */
    public record Parameters(int shrinkFactor, int[] maximumIterations, double convergenceThreshold, MaskMode mask,
                             int splineOrder, int numberOfControlPoints, int numberOfHistogramBins,
                             double biasFieldFullWidthAtHalfMaximum, double wienerFilterNoise) {

        public Parameters {
            maximumIterations = maximumIterations.clone();
            if (shrinkFactor < 1) {
                throw new IllegalArgumentException("the shrink factor must be at least 1");
            }
            if (maximumIterations.length < 1) {
                throw new IllegalArgumentException("give at least one level of maximum iterations");
            }
            for (int it : maximumIterations) {
                if (it < 0) {
                    throw new IllegalArgumentException("maximum iterations must not be negative");
                }
            }
            if (!(convergenceThreshold >= 0)) {
                throw new IllegalArgumentException("the convergence threshold must be at least 0");
            }
            if (splineOrder < 1 || splineOrder > 3) {
                throw new IllegalArgumentException("the spline order must be 1, 2 or 3");
            }
            if (numberOfControlPoints <= splineOrder) {
                throw new IllegalArgumentException("the number of control points must exceed the spline order");
            }
            if (numberOfHistogramBins < 2) {
                throw new IllegalArgumentException("the number of histogram bins must be at least 2");
            }
            if (!(biasFieldFullWidthAtHalfMaximum > 0) || !Double.isFinite(biasFieldFullWidthAtHalfMaximum)) {
                throw new IllegalArgumentException("the bias field FWHM must be positive");
            }
            if (!(wienerFilterNoise >= 0) || !Double.isFinite(wienerFilterNoise)) {
                throw new IllegalArgumentException("the Wiener filter noise must be at least 0");
            }
        }

        /** ITK's filter defaults with ANTs' usual shrink 4 and 50×50×50×50 iterations, Otsu mask. */
        public static Parameters itkDefaults() {
            return new Parameters(4, new int[]{50, 50, 50, 50}, 0.001, MaskMode.OTSU, 3, 4, 200, 0.15, 0.01);
        }

        @Override
        public int[] maximumIterations() {
            return maximumIterations.clone();
        }

        public Parameters withShrinkFactor(int s) {
            return new Parameters(s, maximumIterations, convergenceThreshold, mask, splineOrder,
                    numberOfControlPoints, numberOfHistogramBins, biasFieldFullWidthAtHalfMaximum, wienerFilterNoise);
        }

        public Parameters withConvergenceThreshold(double c) {
            return new Parameters(shrinkFactor, maximumIterations, c, mask, splineOrder, numberOfControlPoints,
                    numberOfHistogramBins, biasFieldFullWidthAtHalfMaximum, wienerFilterNoise);
        }

        public Parameters withMaximumIterations(int... its) {
            return new Parameters(shrinkFactor, its, convergenceThreshold, mask, splineOrder, numberOfControlPoints,
                    numberOfHistogramBins, biasFieldFullWidthAtHalfMaximum, wienerFilterNoise);
        }

        public Parameters withMask(MaskMode m) {
            return new Parameters(shrinkFactor, maximumIterations, convergenceThreshold, m, splineOrder,
                    numberOfControlPoints, numberOfHistogramBins, biasFieldFullWidthAtHalfMaximum, wienerFilterNoise);
        }
    }

    /**
     * The outcome.
     *
     * @param corrected   input / bias field, float32, the input's shape and geometry
     * @param biasField   the multiplicative bias field exp(log bias), float32, same shape
     * @param lattice     the final log-bias control lattice (x fastest)
     * @param iterations  iterations run per level
     * @param convergence the last convergence measure per level
     * @param maskVoxels  voxels inside the mask on the shrunk grid
     */
    public record Result(Image corrected, Image biasField, BSplineScatteredDataFit.Lattice lattice, int[] iterations,
                         double[] convergence, int maskVoxels) {
    }

    /** Corrects {@code image} with {@code p} on all available processors. */
    public static Result correct(Image image, Parameters p) {
        return correct(image, p, Runtime.getRuntime().availableProcessors());
    }

    /**
     * Corrects {@code image} (one channel, 2D or 3D).
     *
     * @throws IllegalArgumentException see the class comment
     */
    public static Result correct(Image image, Parameters p, int threads) {
        if (image.channels() != 1) {
            throw new IllegalArgumentException("N4 bias correction needs a single-channel image, this one has "
                    + image.channels() + " channels");
        }
        int dims = image.depth() > 1 ? 3 : 2;
        int[] full = dims == 3 ? new int[]{image.width(), image.height(), image.depth()}
                : new int[]{image.width(), image.height()};
        int n = image.size();
        double slope = image.metadata().rescaleSlope();
        double intercept = image.metadata().rescaleIntercept();
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = image.get(i) * slope + intercept;
        }
        boolean[] mask = mask(v, p.mask());

        // shrink (ITK ShrinkImageFilter: pick, centred)
        int f = p.shrinkFactor();
        int[] small = new int[dims];
        int[] offset = new int[dims];
        for (int d = 0; d < dims; d++) {
            small[d] = Math.max(1, full[d] / f);
            offset[d] = Math.max(0, (int) Math.floor((full[d] - 1) / 2.0 - (small[d] - 1) * f / 2.0 + 0.5));
            if (small[d] < 2) {
                throw new IllegalArgumentException("the image is too small for shrink factor " + f + ": axis "
                        + "xyz".charAt(d) + " has " + full[d] + " voxels, fewer than 2 after shrinking");
            }
        }
        int m = 1;
        for (int d = 0; d < dims; d++) {
            m *= small[d];
        }
        double[] sv = new double[m];
        boolean[] sm = new boolean[m];
        int[] idx = new int[dims];
        for (int j = 0; j < m; j++) {
            int rest = j;
            int src = 0;
            int stride = 1;
            for (int d = 0; d < dims; d++) {
                idx[d] = rest % small[d];
                rest /= small[d];
                src += (idx[d] * f + offset[d]) * stride;
                stride *= full[d];
            }
            sv[j] = v[src];
            sm[j] = mask[src];
        }

        Fit fit = fitShrunk(sv, sm, small, p, threads);

        float[] logBias = new float[n];
        BSplineScatteredDataFit.evaluateGrid(fit.lattice, full, logBias, threads);
        Image corrected = image.blank(VoxelType.FLOAT32, image.width(), image.height(), image.depth());
        Image bias = image.blank(VoxelType.FLOAT32, image.width(), image.height(), image.depth());
        float[] c = (float[]) corrected.data();
        float[] b = (float[]) bias.data();
        Resample.parallelFor(n, threads, (from, to) -> {
            for (int i = from; i < to; i++) {
                double e = Math.exp(logBias[i]);
                b[i] = (float) e;
                c[i] = (float) (v[i] / e);
            }
        });
        var meta = image.metadata().withValueScale(32, true);
        return new Result(corrected.withGeometry(image.geometry()).withMetadata(meta),
                bias.withGeometry(image.geometry()).withMetadata(meta), fit.lattice, fit.iterations,
                fit.convergence, fit.maskVoxels);
    }

    /** The mask over the full image. */
    static boolean[] mask(double[] v, MaskMode mode) {
        boolean[] mask = new boolean[v.length];
        switch (mode) {
            case OTSU -> {
                float thr = OtsuThreshold.threshold(v, OtsuThreshold.ITK_BINS);
                for (int i = 0; i < v.length; i++) {
                    mask[i] = (float) v[i] > thr;
                }
            }
            case NONZERO -> {
                for (int i = 0; i < v.length; i++) {
                    mask[i] = v[i] != 0;
                }
            }
            case NONE -> Arrays.fill(mask, true);
            default -> throw new IllegalArgumentException("unknown mask mode " + mode);
        }
        return mask;
    }

    /** What the N4 iterations on the shrunk grid produce. */
    record Fit(BSplineScatteredDataFit.Lattice lattice, int[] iterations, double[] convergence, int maskVoxels) {
    }

    /**
     * The N4 iterations on a (shrunk) grid: values {@code sv} and mask {@code sm} of {@code size} samples per
     * axis (x fastest). Returns the final log-bias lattice (not refined after the last level).
     */
    static Fit fitShrunk(double[] sv, boolean[] sm, int[] size, Parameters p, int threads) {
        int dims = size.length;
        int m = sv.length;
        int count = 0;
        for (boolean b : sm) {
            if (b) {
                count++;
            }
        }
        if (count == 0) {
            throw new IllegalArgumentException("the N4 mask is empty: no voxel to estimate the bias field from");
        }
        int[] inMask = new int[count];
        double[] t = new double[count * dims];
        double[] eps = new double[dims];
        for (int d = 0; d < dims; d++) {
            eps[d] = BSplineScatteredDataFit.ITK_EPSILON / (size[d] - 1);
        }
        int[] idx = new int[dims];
        for (int j = 0, k = 0; j < m; j++) {
            if (!sm[j]) {
                continue;
            }
            inMask[k] = j;
            int rest = j;
            for (int d = 0; d < dims; d++) {
                idx[d] = rest % size[d];
                rest /= size[d];
                t[k * dims + d] = (double) idx[d] / (size[d] - 1);
            }
            k++;
        }
        double[] logInput = sv.clone();
        for (int j : inMask) {
            if (logInput[j] > 0) {
                logInput[j] = Math.log(logInput[j]);
            }
        }
        double[] logUncorrected = logInput.clone();
        double[] logBias = new double[m];
        double[] newLogBias = new double[m];
        double[] residual = new double[count];
        int[] cp = new int[dims];
        Arrays.fill(cp, p.numberOfControlPoints());
        BSplineScatteredDataFit.Lattice lattice = BSplineScatteredDataFit.Lattice.zeros(cp, p.splineOrder());
        int[] its = p.maximumIterations();
        int levels = its.length;
        int[] done = new int[levels];
        double[] conv = new double[levels];
        Sharpener sharpener = new Sharpener(p.numberOfHistogramBins(), p.biasFieldFullWidthAtHalfMaximum(),
                p.wienerFilterNoise());
        double[] values = new double[count];
        for (int level = 0; level < levels; level++) {
            BSplineScatteredDataFit.LevelFitter fitter = new BSplineScatteredDataFit.LevelFitter(t, null, eps,
                    lattice.size(), p.splineOrder(), threads);
            int elapsed = 0;
            double convergence = Double.MAX_VALUE;
            while (elapsed < its[level] && convergence > p.convergenceThreshold()) {
                elapsed++;
                for (int k = 0; k < count; k++) {
                    values[k] = logUncorrected[inMask[k]];
                }
                double[] sharpened = sharpener.sharpen(values);
                for (int k = 0; k < count; k++) {
                    residual[k] = values[k] - sharpened[k];
                }
                BSplineScatteredDataFit.Lattice phi = fitter.fit(residual, threads);
                lattice = lattice.plus(phi);
                BSplineScatteredDataFit.evaluateGrid(lattice, size, newLogBias, threads);
                convergence = convergence(logBias, newLogBias, inMask);
                double[] swap = logBias;
                logBias = newLogBias;
                newLogBias = swap;
                for (int j = 0; j < m; j++) {
                    logUncorrected[j] = logInput[j] - logBias[j];
                }
            }
            done[level] = elapsed;
            conv[level] = convergence;
            if (level < levels - 1) {
                boolean[] all = new boolean[dims];
                Arrays.fill(all, true);
                lattice = BSplineScatteredDataFit.refine(lattice, all);
            }
        }
        return new Fit(lattice, done, conv, count);
    }

    /** ITK's CalculateConvergenceMeasurement: σ/μ of exp(a − b) over the mask (Welford's running form). */
    static double convergence(double[] a, double[] b, int[] inMask) {
        double mu = 0;
        double sigma = 0;
        double n = 0;
        for (int j : inMask) {
            double x = Math.exp(a[j] - b[j]);
            n += 1;
            if (n > 1) {
                sigma += (x - mu) * (x - mu) * (n - 1) / n;
            }
            mu = mu * (1 - 1 / n) + x / n;
        }
        sigma = Math.sqrt(sigma / (n - 1));
        return sigma / mu;
    }

    /** N3/N4's histogram sharpening (ITK's SharpenImage) for a fixed bin count, FWHM and Wiener noise. */
    static final class Sharpener {
        private final int bins;
        private final double fwhm;
        private final double noise;
        private final int padded;
        private final int offset;

        Sharpener(int bins, double fwhm, double noise) {
            this.bins = bins;
            this.fwhm = fwhm;
            this.noise = noise;
            int exponent = (int) Math.ceil(Math.log(bins) / Math.log(2.0)) + 1;
            this.padded = 1 << exponent;
            this.offset = (int) (0.5 * (padded - bins));
        }

        /** The sharpened value of each of {@code values} (the masked voxels of the current log image). */
        double[] sharpen(double[] values) {
            double binMax = -Double.MAX_VALUE;
            double binMin = Double.MAX_VALUE;
            for (double x : values) {
                // ITK's loop, else-if included (the first value only raises the maximum)
                if (x > binMax) {
                    binMax = x;
                } else if (x < binMin) {
                    binMin = x;
                }
            }
            double slope = (binMax - binMin) / (bins - 1);
            if (!(slope > 0) || !Double.isFinite(slope)) {
                return values.clone(); // one value: nothing to sharpen
            }
            double[] h = new double[bins];
            for (double x : values) {
                double cidx = (x - binMin) / slope;
                int i = (int) Math.floor(cidx);
                double off = cidx - i;
                if (off == 0) {
                    if (i >= 0 && i < bins) {
                        h[i] += 1;
                    }
                } else if (i >= 0 && i < bins - 1) {
                    h[i] += 1 - off;
                    h[i + 1] += off;
                }
            }
            int np = padded;
            double[] vr = new double[np];
            double[] vi = new double[np];
            for (int i = 0; i < bins; i++) {
                vr[i + offset] = h[i];
            }
            Radix2Fft.forward(vr, vi);

            double scaledFwhm = fwhm / slope;
            double expFactor = 4 * Math.log(2) / (scaledFwhm * scaledFwhm);
            double scaleFactor = 2 * Math.sqrt(Math.log(2) / Math.PI) / scaledFwhm;
            double[] fr = new double[np];
            double[] fi = new double[np];
            fr[0] = scaleFactor;
            int half = np / 2;
            for (int i = 1; i <= half; i++) {
                double g = scaleFactor * Math.exp(-(double) i * i * expFactor);
                fr[i] = g;
                fr[np - i] = g;
            }
            if (np % 2 == 0) {
                fr[half] = scaleFactor * Math.exp(0.25 * -((double) np * np) * expFactor);
            }
            Radix2Fft.forward(fr, fi);

            // Wiener filter G = conj(F)/(|F|² + noise); only its real part multiplies V, as in ITK
            double[] ur = new double[np];
            double[] ui = new double[np];
            for (int i = 0; i < np; i++) {
                double cr = fr[i];
                double ci = -fi[i];
                // c / (c·F + noise): c·F = |F|² (real) when c = conj(F)
                double denR = cr * fr[i] - ci * fi[i] + noise;
                double denI = cr * fi[i] + ci * fr[i];
                double dd = denR * denR + denI * denI;
                double gRe = (cr * denR + ci * denI) / dd;
                ur[i] = vr[i] * gRe;
                ui[i] = vi[i] * gRe;
            }
            Radix2Fft.inverse(ur, ui);
            double[] u = new double[np];
            for (int i = 0; i < np; i++) {
                u[i] = Math.max(ur[i], 0);
            }
            double[] nr = new double[np];
            double[] ni = new double[np];
            double[] dr = new double[np];
            double[] di = new double[np];
            for (int i = 0; i < np; i++) {
                nr[i] = (binMin + (i - offset) * slope) * u[i];
                dr[i] = u[i];
            }
            Radix2Fft.forward(nr, ni);
            Radix2Fft.forward(dr, di);
            for (int i = 0; i < np; i++) {
                double a = nr[i] * fr[i] - ni[i] * fi[i];
                double b = nr[i] * fi[i] + ni[i] * fr[i];
                nr[i] = a;
                ni[i] = b;
                a = dr[i] * fr[i] - di[i] * fi[i];
                b = dr[i] * fi[i] + di[i] * fr[i];
                dr[i] = a;
                di[i] = b;
            }
            Radix2Fft.inverse(nr, ni);
            Radix2Fft.inverse(dr, di);
            double[] e = new double[bins];
            for (int i = 0; i < bins; i++) {
                double den = dr[i + offset];
                e[i] = den != 0 ? nr[i + offset] / den : 0;
            }
            double[] out = new double[values.length];
            for (int k = 0; k < values.length; k++) {
                double cidx = (values[k] - binMin) / slope;
                int i = (int) Math.floor(cidx);
                if (i >= 0 && i < bins - 1) {
                    out[k] = e[i] + (e[i + 1] - e[i]) * (cidx - i);
                } else {
                    out[k] = e[bins - 1];
                }
            }
            return out;
        }
    }
}
