/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.ops;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.atomic.AtomicReference;
import org.medprep.image.Geometry;
import org.medprep.image.Image;
import org.medprep.image.VoxelType;

/**
 * Resamples an image onto a grid of another voxel spacing (mm), keeping its physical extent and direction, with
 * nearest-neighbour, linear or cubic B-spline interpolation. Shapes are (z, y, x[, channels]) as in
 * {@link Image}; spacing and origin are in mm, LPS ({@link Geometry}).
 *
 * <p><b>Geometry</b> (ITK's voxel-centre convention, as ITK's ResampleImageFilter samples: a voxel's value
 * belongs to its centre, the origin is the centre of voxel 0, and the voxel covers ± spacing/2 around it). Per
 * resampled axis a with n voxels of spacing s and requested spacing s':
 * <ul>
 *   <li>size {@code n' = max(1, floor(n·s/s' + 0.5))} (rounded half up);</li>
 *   <li>spacing s' exactly as requested;</li>
 *   <li>origin {@code origin' = origin + Σ_a direction_a · (s'_a − s_a)/2} (a kept axis adds 0), so the
 *       physical extent's start {@code origin − s/2} is kept exactly and its end
 *       {@code origin + (n − 1/2)·s} moves by {@code n'·s' − n·s}, less than s'/2 (the rounding of n');</li>
 *   <li>direction unchanged.</li>
 * </ul>
 * A kept axis ({@code keep}, and z of a 2D image) keeps n, s and its origin component. Output voxel i' on axis
 * a samples the input at the continuous index {@code x = (origin'_a + i'·s' − origin_a)/s}, along that axis
 * (direction unchanged), which is {@code x = (i' + 1/2)·(s'/s) − 1/2}; it is evaluated in exactly that form,
 * {@link #sourceIndex}, so a reference computing the same doubles gets the same positions.
 *
 * <p><b>Interpolation</b> is separable (the axes are resampled one after the other, x, y, z), which for these
 * tensor-product kernels gives exactly the 3D interpolation at (x, y, z):
 * <ul>
 *   <li>{@link Interpolation#NEAREST}: sample {@code floor(x + 1/2)} (ties upwards), output of the input's voxel
 *       type, every value an input value: the rule for label images (masks);</li>
 *   <li>{@link Interpolation#LINEAR}: linear between the two neighbours, float32 output;</li>
 *   <li>{@link Interpolation#BSPLINE}: cubic B-spline interpolation of the prefiltered coefficients
 *       ({@link BSplinePrefilter}; Unser 1999, Unser, Aldroubi &amp; Eden 1993), as ITK's
 *       BSplineInterpolateImageFunction (order 3) and SciPy's {@code map_coordinates(order=3, prefilter=True)};
 *       float32 output; it may overshoot the input range near edges;</li>
 *   <li>{@link Interpolation#NNUNET_ANISOTROPIC}: nnU-Net's default for images (Isensee et al., Nature Methods
 *       18:203–211, 2021; {@link #nnUNetLowResolutionAxis}): when the input or output spacing is anisotropic
 *       (max/min &gt; 3) with one coarsest axis, cubic B-spline along the other (in-plane) axes and nearest
 *       neighbour (nnU-Net's {@code order_z = 0}) along that axis; otherwise cubic B-spline along every axis.
 *       float32 output. Unlike nnU-Net it keeps this class's geometry rule (sizes rounded half up, positions from
 *       s'/s rather than from the size ratio) and the mirror boundary (nnU-Net: edge), and it never
 *       anti-aliases (nnU-Net calls skimage's resize with {@code anti_aliasing=False}).</li>
 * </ul>
 * <b>Anti-aliasing</b> (optional, LINEAR and BSPLINE): before an axis whose spacing grows (s' &gt; s) is
 * sampled, it is smoothed with a Gaussian of σ = (s'/s − 1)/2 input voxels, truncated at 4σ, mirror boundary
 * ({@link GaussianSmoothing}; scikit-image's {@code resize(anti_aliasing=True)} rule). The reference is SciPy's
 * {@code gaussian_filter1d(sigma, mode='mirror', truncate=4.0)} along those axes followed by
 * {@code map_coordinates}: smoothing along one axis and interpolating along another commute, so doing both per
 * axis is the same operation.
 *
 * <p><b>Boundary</b>: mirror (whole-sample symmetric) extension for every kernel, as SciPy's {@code mode='mirror'}:
 * a sample index k outside 0..n−1 reads index {@code −k} below 0 and {@code 2(n−1) − k} above n − 1.
 * Every channel is resampled on its own. Values stay stored values (the Modality LUT in the metadata still
 * applies).
 *
 * <p><b>Precision</b>: every line is smoothed, prefiltered and interpolated in double; the result of each axis
 * pass is stored as float32 (relative rounding 6e-8, far inside the 1e-4 / 1e-3 of the intensity range that the
 * SciPy comparisons check).
 *
 * <p><b>Threads</b>: each axis pass splits its lines over {@code threads} threads (default: all available
 * processors). Every output sample is computed by the same operations in the same order on any thread, so the
 * result is bit-identical for every thread count.
 *
 * <p><b>Memory</b>: the output size is computed from the header first; more than {@code maxVoxels} output voxels
 * (or samples beyond {@link Image#MAX_SAMPLES} in the output or an intermediate) is refused before allocating.
 * NEAREST holds input and output only. The other kernels read the input in its own type and write one float32
 * intermediate per resampled axis but the last, which writes the output directly; at most two intermediates live
 * at once, so the peak is {@code input + max(I1 + I2, I2 + output)} bytes (I1, I2: the float32 grids after the x
 * and y passes, 4 bytes per sample), plus per thread a few lines of doubles. Example: 512 × 512 × 600 int16
 * (0.7 × 0.7 × 1.25 mm, 315 MB) to 1 mm (358 × 358 × 750 float32, 384 MB): peak 315 + 440 + 308 = 1 063 MB,
 * 1.5 × (input + output).
 */
public final class Resample {

    /** nnU-Net's anisotropy threshold (ANISO_THRESHOLD): max spacing / min spacing above it is anisotropic. */
    public static final double ANISOTROPY_THRESHOLD = 3;

    /** Interpolation kernel. */
    public enum Interpolation {
        /** Nearest neighbour; output keeps the input voxel type. */
        NEAREST,
        /** Linear; float32 output. */
        LINEAR,
        /** Cubic B-spline with prefilter; float32 output. */
        BSPLINE,
        /**
         * nnU-Net's rule ({@link #nnUNetLowResolutionAxis}): cubic B-spline in-plane and nearest along the
         * low-resolution axis of an anisotropic image, cubic B-spline along every axis otherwise; float32 output.
         */
        NNUNET_ANISOTROPIC
    }

    /**
     * The output grid, known before any allocation.
     *
     * @param width    output x size
     * @param height   output y size
     * @param depth    output z size
     * @param geometry output spacing, origin (mm, LPS) and the input's direction
     */
    public record Plan(long width, long height, long depth, Geometry geometry) {
        /** width·height·depth. */
        public long voxels() {
            return width * height * depth;
        }
    }

    private Resample() {
    }

    /**
     * The output grid for an input of the given size and geometry.
     *
     * @param target requested spacing x, y, z in mm; NaN keeps that axis; z is kept when depth is 1
     * @throws IllegalArgumentException for an input spacing that is not finite and positive, or a target value
     *                                  that is neither NaN nor finite and positive
     */
    public static Plan plan(int width, int height, int depth, Geometry geometry, double[] target) {
        if (target.length != 3) {
            throw new IllegalArgumentException("target spacing needs 3 values (x, y, z)");
        }
        if (!geometry.spacingValid()) {
            throw new IllegalArgumentException("the image has no valid spacing (" + geometry + "), so it cannot be "
                    + "resampled to a spacing in mm");
        }
        double[] s = geometry.spacing();
        double[] origin = geometry.origin();
        long[] n = {width, height, depth};
        double[] s2 = s.clone();
        long[] n2 = n.clone();
        for (int a = 0; a < 3; a++) {
            if (!resampled(a, depth, target)) {
                continue;
            }
            double t = target[a];
            if (!(t > 0) || !Double.isFinite(t)) {
                throw new IllegalArgumentException("target spacing must be finite and > 0 mm; got " + t);
            }
            double size = Math.floor(n[a] * s[a] / t + 0.5);
            n2[a] = size >= Long.MAX_VALUE / 4 ? Long.MAX_VALUE / 4 : Math.max(1, (long) size);
            s2[a] = t;
            double[] axis = geometry.axis(a);
            for (int r = 0; r < 3; r++) {
                origin[r] += axis[r] * (t - s[a]) / 2;
            }
        }
        return new Plan(n2[0], n2[1], n2[2], new Geometry(s2, origin, geometry.direction()));
    }

    /**
     * Continuous input index sampled by output index {@code i} on an axis whose spacing goes from s to s'
     * ({@code ratio = s'/s}): {@code (i + 0.5)·ratio − 0.5}.
     */
    public static double sourceIndex(long i, double ratio) {
        return (i + 0.5) * ratio - 0.5;
    }

    /** Threads used by {@link #apply(Image, double[], Interpolation, long)}: all available processors. */
    public static int defaultThreads() {
        return Runtime.getRuntime().availableProcessors();
    }

    /**
     * Resamples {@code image} to the target spacing without anti-aliasing, on all available processors.
     *
     * @see #apply(Image, double[], Interpolation, boolean, int, long)
     */
    public static Image apply(Image image, double[] target, Interpolation kernel, long maxVoxels) {
        return apply(image, target, kernel, false, defaultThreads(), maxVoxels);
    }

    /**
     * Resamples {@code image} to the target spacing.
     *
     * @param image        any voxel type, any number of channels (each resampled on its own)
     * @param target       requested spacing x, y, z in mm; NaN keeps that axis; z is kept when depth is 1
     * @param kernel       interpolation
     * @param antiAliasing Gaussian smoothing ({@link GaussianSmoothing}) before sampling each axis whose spacing
     *                     grows, for the LINEAR and BSPLINE kernels only (ignored for NEAREST and
     *                     NNUNET_ANISOTROPIC, which, like nnU-Net, never smooths)
     * @param threads      threads for one image (≥ 1; 1 runs in the caller's thread); results are bit-identical
     *                     for every value
     * @param maxVoxels    largest accepted output width·height·depth
     * @return the resampled image: input type for NEAREST, float32 otherwise; geometry per {@link #plan};
     *         metadata unchanged
     * @throws IllegalArgumentException for an invalid spacing (see {@link #plan}), an output above maxVoxels, or
     *                                  threads &lt; 1
     */
    public static Image apply(Image image, double[] target, Interpolation kernel, boolean antiAliasing,
                              int threads, long maxVoxels) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1; got " + threads);
        }
        Plan plan = plan(image.width(), image.height(), image.depth(), image.geometry(), target);
        long voxels = plan.width() > 0 && plan.height() > 0 && plan.depth() > 0
                && plan.width() <= Integer.MAX_VALUE && plan.height() <= Integer.MAX_VALUE
                && plan.depth() <= Integer.MAX_VALUE ? multiplyCapped(plan.width(), plan.height(), plan.depth())
                : Long.MAX_VALUE;
        if (voxels > maxVoxels) {
            throw new IllegalArgumentException("resampling to " + plan.width() + " x " + plan.height() + " x "
                    + plan.depth() + " voxels exceeds the limit of " + maxVoxels + " voxels");
        }
        if (voxels > Image.MAX_SAMPLES / image.channels()) {
            throw new IllegalArgumentException("resampling to " + plan.width() + " x " + plan.height() + " x "
                    + plan.depth() + " voxels of " + image.channels() + " channels exceeds what one image can hold");
        }
        int[] in = {image.width(), image.height(), image.depth()};
        int[] out = {(int) plan.width(), (int) plan.height(), (int) plan.depth()};
        double[] s = image.geometry().spacing();
        double[] s2 = plan.geometry().spacing();
        double[] ratio = new double[3];
        for (int a = 0; a < 3; a++) {
            ratio[a] = s2[a] / s[a];
        }
        Image result = kernel == Interpolation.NEAREST ? nearest(image, in, out, ratio, threads)
                : interpolate(image, in, out, ratio, axisKernels(kernel, s, s2, image.depth()),
                        antiAliasing && kernel != Interpolation.NNUNET_ANISOTROPIC, threads);
        return result.withGeometry(plan.geometry());
    }

    /**
     * The kernel used along each axis (x, y, z): {@code kernel} on every axis, except for
     * {@link Interpolation#NNUNET_ANISOTROPIC}: NEAREST along {@link #nnUNetLowResolutionAxis} (if any) and
     * BSPLINE along the others.
     *
     * @param spacing    input spacing x, y, z (mm)
     * @param newSpacing output spacing x, y, z (mm; equal to the input's on kept axes)
     * @param depth      input depth; for 1 only x and y are considered
     */
    public static Interpolation[] axisKernels(Interpolation kernel, double[] spacing, double[] newSpacing,
                                              int depth) {
        Interpolation[] k = {kernel, kernel, kernel};
        if (kernel == Interpolation.NNUNET_ANISOTROPIC) {
            int low = nnUNetLowResolutionAxis(spacing, newSpacing, depth);
            for (int a = 0; a < 3; a++) {
                k[a] = a == low ? Interpolation.NEAREST : Interpolation.BSPLINE;
            }
        }
        return k;
    }

    /**
     * nnU-Net's rule for resampling the out-of-plane axis separately (nnunetv2
     * {@code preprocessing/resampling/default_resampling.py}: {@code get_do_separate_z}, {@code get_lowres_axis},
     * {@code resample_data_or_seg_to_spacing} with {@code force_separate_z=None}, {@code ANISO_THRESHOLD = 3};
     * Isensee et al., "nnU-Net: a self-configuring method for deep learning-based biomedical image
     * segmentation", Nature Methods 18:203–211, 2021): if max/min of the input spacing exceeds
     * {@link #ANISOTROPY_THRESHOLD}, the low-resolution axis is the input's axis of largest spacing; otherwise, if
     * max/min of the output spacing exceeds it, the output's axis of largest spacing; otherwise none. When two or
     * three axes share that largest spacing (exact equality, as nnU-Net) there is none either.
     *
     * @param depth input depth; for 1 (2D) only x and y are considered
     * @return 0 (x), 1 (y), 2 (z), or −1 for "resample every axis with the cubic B-spline"
     */
    public static int nnUNetLowResolutionAxis(double[] spacing, double[] newSpacing, int depth) {
        int axes = depth == 1 ? 2 : 3;
        if (anisotropic(spacing, axes)) {
            return largestAxis(spacing, axes);
        }
        if (anisotropic(newSpacing, axes)) {
            return largestAxis(newSpacing, axes);
        }
        return -1;
    }

    private static boolean anisotropic(double[] spacing, int axes) {
        double max = spacing[0];
        double min = spacing[0];
        for (int a = 1; a < axes; a++) {
            max = Math.max(max, spacing[a]);
            min = Math.min(min, spacing[a]);
        }
        return max / min > ANISOTROPY_THRESHOLD;
    }

    private static int largestAxis(double[] spacing, int axes) {
        double max = spacing[0];
        for (int a = 1; a < axes; a++) {
            max = Math.max(max, spacing[a]);
        }
        int found = -1;
        for (int a = 0; a < axes; a++) {
            if (spacing[a] == max) {
                if (found >= 0) {
                    return -1;
                }
                found = a;
            }
        }
        return found;
    }

    private static boolean resampled(int axis, int depth, double[] target) {
        return !Double.isNaN(target[axis]) && !(axis == 2 && depth == 1);
    }

    private static long multiplyCapped(long a, long b, long c) {
        try {
            return Math.multiplyExact(Math.multiplyExact(a, b), c);
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE;
        }
    }

    /** Index k folded into 0..n−1 by mirror (whole-sample symmetric) extension. */
    static int mirror(long k, int n) {
        if (n == 1) {
            return 0;
        }
        long period = 2L * n - 2;
        long m = Math.floorMod(k, period);
        return (int) (m >= n ? period - m : m);
    }

    private static int[] nearestIndices(int n, int nOut, double ratio) {
        int[] idx = new int[nOut];
        for (int i = 0; i < nOut; i++) {
            idx[i] = mirror((long) Math.floor(sourceIndex(i, ratio) + 0.5), n);
        }
        return idx;
    }


    private static Image nearest(Image image, int[] in, int[] out, double[] ratio, int threads) {
        int[] ix = nearestIndices(in[0], out[0], ratio[0]);
        int[] iy = nearestIndices(in[1], out[1], ratio[1]);
        int[] iz = nearestIndices(in[2], out[2], ratio[2]);
        int c = image.channels();
        Image dst = image.blank(image.type(), out[0], out[1], out[2]);
        parallelFor(out[2], threads, (from, to) -> {
            for (int z = from; z < to; z++) {
                int o = z * out[1] * out[0] * c;
                for (int y = 0; y < out[1]; y++) {
                    for (int x = 0; x < out[0]; x++) {
                        int src = image.index(ix[x], iy[y], iz[z], 0);
                        for (int ch = 0; ch < c; ch++) {
                            dst.set(o++, image.get(src + ch));
                        }
                    }
                }
            }
        });
        return dst;
    }

    /** Interpolation table of one axis: for output i, {@code taps} source indices and weights. */
    private record Table(int taps, int[] index, double[] weight) {
    }

    private static Table table(int n, int nOut, double ratio, Interpolation kernel) {
        int taps = switch (kernel) {
            case NEAREST -> 1;
            case LINEAR -> 2;
            default -> 4;
        };
        int[] index = new int[nOut * taps];
        double[] weight = new double[nOut * taps];
        for (int i = 0; i < nOut; i++) {
            double x = sourceIndex(i, ratio);
            int b = i * taps;
            if (kernel == Interpolation.NEAREST) {
                index[b] = mirror((long) Math.floor(x + 0.5), n);
                weight[b] = 1;
                continue;
            }
            long f = (long) Math.floor(x);
            double t = x - f;
            if (kernel == Interpolation.LINEAR) {
                index[b] = mirror(f, n);
                index[b + 1] = mirror(f + 1, n);
                weight[b] = 1 - t;
                weight[b + 1] = t;
            } else {
                double t2 = t * t;
                double t3 = t2 * t;
                double u = 1 - t;
                for (int k = 0; k < 4; k++) {
                    index[b + k] = mirror(f - 1 + k, n);
                }
                weight[b] = u * u * u / 6;
                weight[b + 1] = (4 - 6 * t2 + 3 * t3) / 6;
                weight[b + 2] = (1 + 3 * t + 3 * t2 - 3 * t3) / 6;
                weight[b + 3] = t3 / 6;
            }
        }
        return new Table(taps, index, weight);
    }

    private static Image interpolate(Image image, int[] in, int[] out, double[] ratio, Interpolation[] kernels,
                                     boolean antiAliasing, int threads) {
        int c = image.channels();
        // dims in C order: z, y, x, c ; axis a (0 = x, 1 = y, 2 = z) is dims[2 − a]
        long[] dims = {in[2], in[1], in[0], c};
        int last = -1;
        for (int a = 0; a < 3; a++) {
            if (!(out[a] == in[a] && ratio[a] == 1.0)) {
                last = a;
            }
        }
        if (last < 0) {
            Image dst = image.blank(VoxelType.FLOAT32, out[0], out[1], out[2]);
            float[] result = (float[]) dst.data();
            parallelFor(result.length, threads, (from, to) -> {
                for (int i = from; i < to; i++) {
                    result[i] = (float) image.get(i);
                }
            });
            return dst;
        }
        Object src = image.data();
        VoxelType srcType = image.type();
        Image dst = null;
        for (int a = 0; a <= last; a++) {
            if (out[a] == in[a] && ratio[a] == 1.0) {
                continue;
            }
            int d = 2 - a;
            long[] next = dims.clone();
            next[d] = out[a];
            long total = next[0] * next[1] * next[2] * next[3];
            if (total > Image.MAX_SAMPLES) {
                throw new IllegalArgumentException("resampling needs an intermediate of " + total
                        + " samples, more than one array can hold; resample in two steps");
            }
            float[] target;
            if (a == last) {
                // allocated only now, so the output never coexists with the x-pass intermediate
                dst = image.blank(VoxelType.FLOAT32, out[0], out[1], out[2]);
                target = (float[]) dst.data();
            } else {
                target = new float[(int) total];
            }
            double sigma = antiAliasing && kernels[a] != Interpolation.NEAREST
                    ? GaussianSmoothing.antiAliasingSigma(1, ratio[a]) : 0;
            GaussianSmoothing gauss = sigma > 0 ? new GaussianSmoothing(sigma, in[a]) : null;
            pass(src, srcType, dims, d, out[a], table(in[a], out[a], ratio[a], kernels[a]),
                    kernels[a] == Interpolation.BSPLINE, gauss, target, threads);
            src = target;
            srcType = VoxelType.FLOAT32;
            dims = next;
        }
        return dst;
    }

    /** Lines gathered and written together by one task, so strided axes read and write whole cache lines. */
    private static final int BLOCK = 16;

    /**
     * Resamples every line of {@code src} along C-order dimension {@code d} to {@code nOut} samples into
     * {@code dst}: per line, optional Gaussian smoothing, optional B-spline prefilter, then the table's taps, all
     * in double. Lines are independent; every output sample is computed by the same operations in the same
     * order whatever the thread count, so results are bit-identical for any {@code threads}.
     */
    private static void pass(Object src, VoxelType srcType, long[] dims, int d, int nOut, Table table, boolean prefilter,
                             GaussianSmoothing gauss, float[] dst, int threads) {
        int n = (int) dims[d];
        long outerL = 1;
        for (int k = 0; k < d; k++) {
            outerL *= dims[k];
        }
        long innerL = 1;
        for (int k = d + 1; k < dims.length; k++) {
            innerL *= dims[k];
        }
        int inner = (int) innerL;
        int block = Math.min(BLOCK, inner);
        int blocksPerOuter = (inner + block - 1) / block;
        long tasksL = outerL * blocksPerOuter;
        if (tasksL > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("too many lines to resample: " + tasksL);
        }
        int taps = table.taps();
        int[] index = table.index();
        double[] weight = table.weight();
        parallelFor((int) tasksL, threads, (from, to) -> {
            double[][] lines = new double[block][n];
            double[] smoothed = new double[n];
            double[][] res = new double[block][nOut];
            for (int task = from; task < to; task++) {
                long o = task / blocksPerOuter;
                int j0 = (task % blocksPerOuter) * block;
                int bw = Math.min(block, inner - j0);
                load(src, srcType, o * n * inner + j0, n, inner, bw, lines);
                for (int jj = 0; jj < bw; jj++) {
                    double[] line = lines[jj];
                    if (gauss != null) {
                        gauss.apply(line, n, smoothed);
                        double[] swap = line;
                        line = smoothed;
                        smoothed = swap;
                        lines[jj] = line;
                    }
                    if (prefilter) {
                        BSplinePrefilter.apply(line, n);
                    }
                    double[] r = res[jj];
                    for (int i = 0; i < nOut; i++) {
                        double v = 0;
                        int b = i * taps;
                        for (int t = 0; t < taps; t++) {
                            v += weight[b + t] * line[index[b + t]];
                        }
                        r[i] = v;
                    }
                }
                long outBase = o * nOut * inner + j0;
                for (int i = 0; i < nOut; i++) {
                    int s = (int) (outBase + (long) i * inner);
                    for (int jj = 0; jj < bw; jj++) {
                        dst[s + jj] = (float) res[jj][i];
                    }
                }
            }
        });
    }

    /**
     * Copies {@code bw} lines of {@code n} samples, line jj starting at {@code base + jj} with stride
     * {@code inner}, from a voxel array of the given type into {@code lines} (one switch per block, not per
     * sample).
     */
    private static void load(Object data, VoxelType type, long base, int n, int inner, int bw, double[][] lines) {
        if (inner == 1) {
            // contiguous line (the x pass of a single-channel image)
            double[] line = lines[0];
            int b = (int) base;
            switch (type) {
                case INT16 -> {
                    short[] a = (short[]) data;
                    for (int k = 0; k < n; k++) {
                        line[k] = a[b + k];
                    }
                }
                case UINT16 -> {
                    short[] a = (short[]) data;
                    for (int k = 0; k < n; k++) {
                        line[k] = a[b + k] & 0xFFFF;
                    }
                }
                case FLOAT32 -> {
                    float[] a = (float[]) data;
                    for (int k = 0; k < n; k++) {
                        line[k] = a[b + k];
                    }
                }
                default -> loadBlock(data, type, base, n, inner, bw, lines);
            }
            return;
        }
        loadBlock(data, type, base, n, inner, bw, lines);
    }

    private static void loadBlock(Object data, VoxelType type, long base, int n, int inner, int bw,
                                  double[][] lines) {
        switch (type) {
            case UINT8, INT8 -> {
                byte[] a = (byte[]) data;
                boolean unsigned = type == VoxelType.UINT8;
                for (int k = 0; k < n; k++) {
                    int s = (int) (base + (long) k * inner);
                    for (int jj = 0; jj < bw; jj++) {
                        lines[jj][k] = unsigned ? a[s + jj] & 0xFF : a[s + jj];
                    }
                }
            }
            case UINT16, INT16 -> {
                short[] a = (short[]) data;
                boolean unsigned = type == VoxelType.UINT16;
                for (int k = 0; k < n; k++) {
                    int s = (int) (base + (long) k * inner);
                    for (int jj = 0; jj < bw; jj++) {
                        lines[jj][k] = unsigned ? a[s + jj] & 0xFFFF : a[s + jj];
                    }
                }
            }
            case INT32 -> {
                int[] a = (int[]) data;
                for (int k = 0; k < n; k++) {
                    int s = (int) (base + (long) k * inner);
                    for (int jj = 0; jj < bw; jj++) {
                        lines[jj][k] = a[s + jj];
                    }
                }
            }
            case FLOAT32 -> {
                float[] a = (float[]) data;
                for (int k = 0; k < n; k++) {
                    int s = (int) (base + (long) k * inner);
                    for (int jj = 0; jj < bw; jj++) {
                        lines[jj][k] = a[s + jj];
                    }
                }
            }
            default -> throw new IllegalStateException("unknown voxel type " + type);
        }
    }

    /** Body of a parallel loop over the index range [from, to). */
    @FunctionalInterface
    interface RangeBody {
        void run(int from, int to);
    }

    /**
     * Runs {@code body} over [0, count) split into contiguous chunks on at most {@code threads} threads (the
     * caller's thread only when threads ≤ 1). Errors thrown by a chunk are rethrown.
     */
    static void parallelFor(int count, int threads, RangeBody body) {
        int chunks = threads <= 1 ? 1 : Math.min(count, threads * 8);
        if (chunks <= 1) {
            body.run(0, count);
            return;
        }
        // the tasks reach the body (and the arrays it captures) only through this holder, cleared at the end:
        // a pool's worker may keep a reference to its last task for a while after shutdown, which must not keep
        // a large intermediate alive
        AtomicReference<RangeBody> holder = new AtomicReference<>(body);
        ForkJoinPool pool = new ForkJoinPool(threads);
        try {
            List<ForkJoinTask<?>> tasks = new ArrayList<>(chunks);
            for (int k = 0; k < chunks; k++) {
                int from = (int) ((long) count * k / chunks);
                int to = (int) ((long) count * (k + 1) / chunks);
                tasks.add(pool.submit(() -> holder.get().run(from, to)));
            }
            for (ForkJoinTask<?> t : tasks) {
                t.join();
            }
        } finally {
            holder.set(null);
            pool.shutdownNow();
        }
    }
}
