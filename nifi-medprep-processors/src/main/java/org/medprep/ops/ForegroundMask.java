/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.ops;

import java.util.Arrays;
import org.medprep.image.Image;

/**
 * Foreground (head/body) masks for MR intensity normalization, one flag per voxel (x fastest, then y, then z).
 * <ul>
 *   <li>{@link Kind#ABOVE_MEAN}: voxels whose value is above the mean of the whole image — the foreground
 *       WhiteStripe's reference implementation uses when no brain mask is given (R {@code WhiteStripe}'s
 *       {@code make_img_voi}; the Python {@code intensity-normalization} package's default foreground
 *       {@code image > image.mean()}), and that package's default for Nyúl–Udupa standardization.</li>
 *   <li>{@link Kind#NONZERO}: nnU-Net's nonzero mask ({@code nnunetv2.preprocessing.cropping.create_nonzero_mask}:
 *       voxels where any channel is ≠ 0, then {@code scipy.ndimage.binary_fill_holes}: background regions not
 *       connected (6-connectivity in 3D, 4 in 2D) to the image border become foreground).</li>
 * </ul>
 * With several channels a voxel's value for {@code ABOVE_MEAN} is its mean over the channels.
 */
public final class ForegroundMask {

    /** Which voxels are foreground. */
    public enum Kind {
        ABOVE_MEAN, NONZERO
    }

    private ForegroundMask() {
    }

    /** The mask of {@code kind}; length width × height × depth. */
    public static boolean[] of(Image image, Kind kind) {
        return kind == Kind.ABOVE_MEAN ? aboveMean(image) : nonzeroFilled(image);
    }

    /** Voxels above the mean of all samples. */
    public static boolean[] aboveMean(Image image) {
        int c = image.channels();
        int voxels = image.size() / c;
        double sum = 0;
        for (int i = 0; i < image.size(); i++) {
            sum += image.get(i);
        }
        double mean = sum / image.size();
        boolean[] mask = new boolean[voxels];
        for (int v = 0; v < voxels; v++) {
            double s = 0;
            for (int k = 0; k < c; k++) {
                s += image.get(v * c + k);
            }
            mask[v] = s / c > mean;
        }
        return mask;
    }

    /** nnU-Net's nonzero mask with holes filled. */
    public static boolean[] nonzeroFilled(Image image) {
        int c = image.channels();
        int w = image.width();
        int h = image.height();
        int d = image.depth();
        int voxels = w * h * d;
        boolean[] mask = new boolean[voxels];
        for (int v = 0; v < voxels; v++) {
            for (int k = 0; k < c && !mask[v]; k++) {
                mask[v] = image.get(v * c + k) != 0;
            }
        }
        // Flood the background from the border; background not reached is a hole and becomes foreground.
        boolean[] outside = new boolean[voxels];
        int[] queue = new int[voxels];
        int head = 0;
        int tail = 0;
        for (int z = 0; z < d; z++) {
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    boolean border = x == 0 || y == 0 || x == w - 1 || y == h - 1 || (d > 1 && (z == 0 || z == d - 1));
                    int v = (z * h + y) * w + x;
                    if (border && !mask[v] && !outside[v]) {
                        outside[v] = true;
                        queue[tail++] = v;
                    }
                }
            }
        }
        int plane = w * h;
        while (head < tail) {
            int v = queue[head++];
            int x = v % w;
            int y = (v / w) % h;
            int z = v / plane;
            if (x > 0) {
                tail = visit(v - 1, mask, outside, queue, tail);
            }
            if (x < w - 1) {
                tail = visit(v + 1, mask, outside, queue, tail);
            }
            if (y > 0) {
                tail = visit(v - w, mask, outside, queue, tail);
            }
            if (y < h - 1) {
                tail = visit(v + w, mask, outside, queue, tail);
            }
            if (z > 0) {
                tail = visit(v - plane, mask, outside, queue, tail);
            }
            if (z < d - 1) {
                tail = visit(v + plane, mask, outside, queue, tail);
            }
        }
        for (int v = 0; v < voxels; v++) {
            mask[v] = !outside[v];
        }
        return mask;
    }

    private static int visit(int v, boolean[] mask, boolean[] outside, int[] queue, int tail) {
        if (!mask[v] && !outside[v]) {
            outside[v] = true;
            queue[tail++] = v;
        }
        return tail;
    }

    /** Number of foreground voxels. */
    public static int count(boolean[] mask) {
        int n = 0;
        for (boolean b : mask) {
            if (b) {
                n++;
            }
        }
        return n;
    }

    /**
     * The samples of the foreground voxels (every channel of them), sorted ascending.
     *
     * @throws IllegalArgumentException when the mask is empty
     */
    public static double[] sortedValues(Image image, boolean[] mask) {
        int c = image.channels();
        double[] values = new double[count(mask) * c];
        if (values.length == 0) {
            throw new IllegalArgumentException("the foreground mask is empty");
        }
        int n = 0;
        for (int v = 0; v < mask.length; v++) {
            if (mask[v]) {
                for (int k = 0; k < c; k++) {
                    values[n++] = image.get(v * c + k);
                }
            }
        }
        Arrays.sort(values);
        return values;
    }
}
