/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.ops;

import java.util.Arrays;
import org.medprep.image.Geometry;
import org.medprep.image.Image;

/**
 * Reorients an image to the closest canonical orientation by permuting and flipping its axes only — no
 * interpolation, every voxel value kept, every voxel at the same world position (mm). Shapes are
 * (z, y, x[, channels]) as in {@link Image}; the geometry is LPS ({@link Geometry}).
 *
 * <p><b>Rule</b> (nibabel's {@code io_orientation}, used by {@code as_closest_canonical} for RAS): write the
 * direction's axis vectors in the target frame (RAS: the L and P components negated; LPS: as stored), replace
 * that matrix by its closest orthogonal matrix (polar decomposition, so a slightly sheared direction gives the
 * same answer), then for input axes x, y, z in turn pick the world axis with the largest |component| not taken
 * by an earlier input axis (first on ties); the input axis becomes that output axis, flipped when the
 * component is negative. For a target T = RAS the output's x axis then points the most towards R, y towards A,
 * z towards S; for LPS towards L, P, S. An oblique image stays oblique (only the nearest axis permutation is
 * applied).
 *
 * <p><b>Geometry</b>: output axis a is input axis p(a), flipped or not: size and spacing of p(a), direction
 * column {@code ±axis(p(a))}, origin = world position of the input voxel that becomes voxel (0, 0, 0), i.e.
 * {@code origin + Σ over flipped input axes of (n − 1)·s·axis}. Hence the world position of every voxel centre
 * (and of the image's corners) is unchanged. A depth-1 image follows the same rule: its slice axis may move
 * in-plane (e.g. one sagittal slice becomes width 1) and for a 2D picture with the identity LPS direction, RAS
 * flips x and y.
 *
 * <p>Memory: one copy of the image (input + output); nothing is allocated when no permutation or flip is needed
 * (the input is returned).
 */
public final class Reorient {

    /** Canonical orientation to reorient to: the directions the output x, y and z axes point to. */
    public enum Target {
        /** x → Right, y → Anterior, z → Superior (NIfTI/nibabel's canonical, {@code as_closest_canonical}). */
        RAS,
        /** x → Left, y → Posterior, z → Superior (DICOM/ITK patient coordinates). */
        LPS
    }

    /**
     * The axis permutation: output axis a takes input axis {@code inputAxis[a]}, reversed when {@code flip[a]}.
     *
     * @param inputAxis for output axes x, y, z, the input axis (0 = x, 1 = y, 2 = z)
     * @param flip      for output axes x, y, z, whether the input axis is reversed
     */
    public record Plan(int[] inputAxis, boolean[] flip) {
        public Plan {
            inputAxis = inputAxis.clone();
            flip = flip.clone();
        }

        @Override
        public int[] inputAxis() {
            return inputAxis.clone();
        }

        @Override
        public boolean[] flip() {
            return flip.clone();
        }

        /** True when the image is already in the target orientation. */
        public boolean identity() {
            return inputAxis[0] == 0 && inputAxis[1] == 1 && inputAxis[2] == 2 && !flip[0] && !flip[1] && !flip[2];
        }

        @Override
        public String toString() {
            return "Plan[inputAxis=" + Arrays.toString(inputAxis) + ", flip=" + Arrays.toString(flip) + "]";
        }
    }

    private Reorient() {
    }

    /**
     * The permutation and flips that bring {@code geometry}'s axes closest to {@code target}.
     *
     * @throws IllegalArgumentException when the direction is degenerate (an axis of zero length or axes in a
     *                                  plane)
     */
    public static Plan plan(Geometry geometry, Target target) {
        double[] d = geometry.direction();
        double[][] m = new double[3][3];
        for (int c = 0; c < 3; c++) {
            for (int r = 0; r < 3; r++) {
                double sign = target == Target.RAS && r < 2 ? -1 : 1;
                m[r][c] = sign * d[3 * c + r];
            }
            double norm = Math.sqrt(m[0][c] * m[0][c] + m[1][c] * m[1][c] + m[2][c] * m[2][c]);
            if (!(norm > 0) || !Double.isFinite(norm)) {
                throw new IllegalArgumentException("the image direction has a zero or invalid axis: "
                        + Arrays.toString(d));
            }
            for (int r = 0; r < 3; r++) {
                m[r][c] /= norm;
            }
        }
        double[][] rot = closestOrthogonal(m);
        int[] outAxisOfInput = new int[3];
        boolean[] flipOfInput = new boolean[3];
        for (int in = 0; in < 3; in++) {
            int best = 0;
            for (int r = 1; r < 3; r++) {
                if (Math.abs(rot[r][in]) > Math.abs(rot[best][in])) {
                    best = r;
                }
            }
            if (rot[best][in] == 0) {
                throw new IllegalArgumentException("the image direction is degenerate: " + Arrays.toString(d));
            }
            outAxisOfInput[in] = best;
            flipOfInput[in] = rot[best][in] < 0;
            Arrays.fill(rot[best], 0);
        }
        int[] inputAxis = new int[3];
        boolean[] flip = new boolean[3];
        for (int in = 0; in < 3; in++) {
            inputAxis[outAxisOfInput[in]] = in;
            flip[outAxisOfInput[in]] = flipOfInput[in];
        }
        return new Plan(inputAxis, flip);
    }

    /**
     * Reorients {@code image} to {@code target}.
     *
     * @return the image itself when already in the target orientation, otherwise a new image of the same voxel
     *         type, channels and metadata, sizes permuted, geometry as described above
     * @throws IllegalArgumentException for a degenerate direction (see {@link #plan})
     */
    public static Image apply(Image image, Target target) {
        Plan plan = plan(image.geometry(), target);
        if (plan.identity()) {
            return image;
        }
        int c = image.channels();
        int[] n = {image.width(), image.height(), image.depth()};
        long[] stride = {c, (long) c * n[0], (long) c * n[0] * n[1]};
        int[] p = plan.inputAxis;
        int[] nOut = {n[p[0]], n[p[1]], n[p[2]]};
        long start = 0;
        long[] step = new long[3];
        Geometry g = image.geometry();
        double[] s = g.spacing();
        double[] origin = g.origin();
        double[] spacing = new double[3];
        double[] direction = new double[9];
        for (int a = 0; a < 3; a++) {
            int in = p[a];
            double[] axis = g.axis(in);
            spacing[a] = s[in];
            double sign = plan.flip[a] ? -1 : 1;
            for (int r = 0; r < 3; r++) {
                direction[3 * a + r] = sign * axis[r];
            }
            if (plan.flip[a]) {
                start += (n[in] - 1L) * stride[in];
                step[a] = -stride[in];
                for (int r = 0; r < 3; r++) {
                    origin[r] += (n[in] - 1) * s[in] * axis[r];
                }
            } else {
                step[a] = stride[in];
            }
        }
        Image dst = image.blank(image.type(), nOut[0], nOut[1], nOut[2]);
        int o = 0;
        for (int z = 0; z < nOut[2]; z++) {
            for (int y = 0; y < nOut[1]; y++) {
                long row = start + z * step[2] + y * step[1];
                for (int x = 0; x < nOut[0]; x++) {
                    int src = (int) (row + x * step[0]);
                    for (int ch = 0; ch < c; ch++) {
                        dst.set(o++, image.get(src + ch));
                    }
                }
            }
        }
        return dst.withGeometry(new Geometry(spacing, origin, direction));
    }

    /**
     * The orthogonal matrix closest to {@code m} (Frobenius norm): the orthogonal factor of its polar
     * decomposition, by Newton's iteration {@code X ← (X + X^−T)/2}, which converges quadratically for a
     * non-singular matrix. This is {@code U·Vᵀ} of the SVD {@code m = U S Vᵀ}, as nibabel computes it.
     */
    static double[][] closestOrthogonal(double[][] m) {
        double[][] x = new double[3][];
        for (int r = 0; r < 3; r++) {
            x[r] = m[r].clone();
        }
        for (int it = 0; it < 100; it++) {
            double[][] inv = inverse(x);
            if (inv == null) {
                throw new IllegalArgumentException("the image direction is degenerate (its axes are not independent)");
            }
            double change = 0;
            for (int r = 0; r < 3; r++) {
                for (int c = 0; c < 3; c++) {
                    double next = (x[r][c] + inv[c][r]) / 2;
                    change = Math.max(change, Math.abs(next - x[r][c]));
                    x[r][c] = next;
                }
            }
            if (change < 1e-15) {
                break;
            }
        }
        return x;
    }

    private static double[][] inverse(double[][] a) {
        double c00 = a[1][1] * a[2][2] - a[1][2] * a[2][1];
        double c01 = a[1][2] * a[2][0] - a[1][0] * a[2][2];
        double c02 = a[1][0] * a[2][1] - a[1][1] * a[2][0];
        double det = a[0][0] * c00 + a[0][1] * c01 + a[0][2] * c02;
        if (!(Math.abs(det) > 1e-12) || !Double.isFinite(det)) {
            return null;
        }
        double[][] inv = new double[3][3];
        inv[0][0] = c00 / det;
        inv[1][0] = c01 / det;
        inv[2][0] = c02 / det;
        inv[0][1] = (a[0][2] * a[2][1] - a[0][1] * a[2][2]) / det;
        inv[1][1] = (a[0][0] * a[2][2] - a[0][2] * a[2][0]) / det;
        inv[2][1] = (a[0][1] * a[2][0] - a[0][0] * a[2][1]) / det;
        inv[0][2] = (a[0][1] * a[1][2] - a[0][2] * a[1][1]) / det;
        inv[1][2] = (a[0][2] * a[1][0] - a[0][0] * a[1][2]) / det;
        inv[2][2] = (a[0][0] * a[1][1] - a[0][1] * a[1][0]) / det;
        return inv;
    }
}
