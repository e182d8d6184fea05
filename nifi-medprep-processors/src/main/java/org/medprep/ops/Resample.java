/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.ops;

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
 * three tensor-product kernels gives exactly the 3D interpolation at (x, y, z):
 * <ul>
 *   <li>{@link Interpolation#NEAREST}: sample {@code floor(x + 1/2)} (ties upwards), output of the input's voxel
 *       type, every value an input value: the rule for label images (masks);</li>
 *   <li>{@link Interpolation#LINEAR}: linear between the two neighbours, float32 output;</li>
 *   <li>{@link Interpolation#BSPLINE}: cubic B-spline interpolation of the prefiltered coefficients
 *       ({@link BSplinePrefilter}; Unser 1999, Unser, Aldroubi &amp; Eden 1993), as ITK's
 *       BSplineInterpolateImageFunction (order 3) and SciPy's {@code map_coordinates(order=3, prefilter=True)};
 *       float32 output; it may overshoot the input range near edges.</li>
 * </ul>
 * <b>Boundary</b>: mirror (whole-sample symmetric) extension for every kernel, as SciPy's {@code mode='mirror'}:
 * a sample index k outside 0..n−1 reads index {@code −k} below 0 and {@code 2(n−1) − k} above n − 1.
 * Every channel is resampled on its own. Linear and B-spline compute in double and store float32; values stay
 * stored values (the Modality LUT in the metadata still applies).
 *
 * <p><b>Memory</b>: the output size is computed from the header first; more than {@code maxVoxels} output voxels
 * (or samples beyond {@link Image#MAX_SAMPLES} in the output or an intermediate) is refused before allocating.
 * Linear and B-spline copy the input into a double array and make one more per resampled axis (8 bytes per
 * sample, the previous one released), besides input and output.
 */
public final class Resample {

    /** Interpolation kernel. */
    public enum Interpolation { NEAREST, LINEAR, BSPLINE }

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

    /**
     * Resamples {@code image} to the target spacing.
     *
     * @param image     any voxel type, any number of channels (each resampled on its own)
     * @param target    requested spacing x, y, z in mm; NaN keeps that axis; z is kept when depth is 1
     * @param kernel    interpolation
     * @param maxVoxels largest accepted output width·height·depth
     * @return the resampled image: input type for NEAREST, float32 otherwise; geometry per {@link #plan};
     *         metadata unchanged
     * @throws IllegalArgumentException for an invalid spacing (see {@link #plan}) or an output above maxVoxels
     */
    public static Image apply(Image image, double[] target, Interpolation kernel, long maxVoxels) {
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
        Image result = kernel == Interpolation.NEAREST ? nearest(image, in, out, ratio)
                : interpolate(image, in, out, ratio, kernel);
        return result.withGeometry(plan.geometry());
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

    private static Image nearest(Image image, int[] in, int[] out, double[] ratio) {
        int[] ix = nearestIndices(in[0], out[0], ratio[0]);
        int[] iy = nearestIndices(in[1], out[1], ratio[1]);
        int[] iz = nearestIndices(in[2], out[2], ratio[2]);
        int c = image.channels();
        Image dst = image.blank(image.type(), out[0], out[1], out[2]);
        int o = 0;
        for (int z = 0; z < out[2]; z++) {
            for (int y = 0; y < out[1]; y++) {
                for (int x = 0; x < out[0]; x++) {
                    int src = image.index(ix[x], iy[y], iz[z], 0);
                    for (int ch = 0; ch < c; ch++) {
                        dst.set(o++, image.get(src + ch));
                    }
                }
            }
        }
        return dst;
    }

    /** Interpolation table of one axis: for output i, {@code taps} source indices and weights. */
    private record Table(int taps, int[] index, double[] weight) {
    }

    private static Table table(int n, int nOut, double ratio, Interpolation kernel) {
        int taps = kernel == Interpolation.LINEAR ? 2 : 4;
        int[] index = new int[nOut * taps];
        double[] weight = new double[nOut * taps];
        for (int i = 0; i < nOut; i++) {
            double x = sourceIndex(i, ratio);
            long f = (long) Math.floor(x);
            double t = x - f;
            int b = i * taps;
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

    private static Image interpolate(Image image, int[] in, int[] out, double[] ratio, Interpolation kernel) {
        int c = image.channels();
        // dims in C order: z, y, x, c ; axis a (0 = x, 1 = y, 2 = z) is dims[2 − a]
        long[] dims = {in[2], in[1], in[0], c};
        double[] data = new double[image.size()];
        for (int i = 0; i < data.length; i++) {
            data[i] = image.get(i);
        }
        for (int a = 0; a < 3; a++) {
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
            data = pass(data, dims, d, out[a], table(in[a], out[a], ratio[a], kernel),
                    kernel == Interpolation.BSPLINE);
            dims = next;
        }
        Image dst = image.blank(VoxelType.FLOAT32, out[0], out[1], out[2]);
        float[] f = (float[]) dst.data();
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) data[i];
        }
        return dst;
    }

    /** Resamples every line of {@code src} along C-order dimension {@code d} to {@code nOut} samples. */
    private static double[] pass(double[] src, long[] dims, int d, int nOut, Table table, boolean prefilter) {
        int n = (int) dims[d];
        long outer = 1;
        for (int k = 0; k < d; k++) {
            outer *= dims[k];
        }
        long inner = 1;
        for (int k = d + 1; k < dims.length; k++) {
            inner *= dims[k];
        }
        double[] dst = new double[(int) (outer * nOut * inner)];
        double[] line = new double[n];
        int taps = table.taps();
        for (long o = 0; o < outer; o++) {
            for (long j = 0; j < inner; j++) {
                long base = o * n * inner + j;
                for (int k = 0; k < n; k++) {
                    line[k] = src[(int) (base + k * inner)];
                }
                if (prefilter) {
                    BSplinePrefilter.apply(line, n);
                }
                long outBase = o * nOut * inner + j;
                for (int i = 0; i < nOut; i++) {
                    double v = 0;
                    int b = i * taps;
                    for (int t = 0; t < taps; t++) {
                        v += table.weight()[b + t] * line[table.index()[b + t]];
                    }
                    dst[(int) (outBase + i * inner)] = v;
                }
            }
        }
        return dst;
    }
}
