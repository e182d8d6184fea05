/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.ops;

import java.util.Arrays;
import org.medprep.image.Image;
import org.medprep.image.VoxelType;

/**
 * Nyúl–Udupa histogram standardization: L. G. Nyúl, J. K. Udupa, X. Zhang, "New variants of a method of MRI scale
 * standardization", IEEE Transactions on Medical Imaging 19(2):143–150, 2000.
 *
 * <p>Training (done once, on the training split only, by {@code tools/learn_nyul_landmarks.py}): for every
 * training image the landmarks — the percentiles pc<sub>1</sub>, μ<sub>10</sub> … μ<sub>90</sub>, pc<sub>2</sub>
 * of its foreground (by default 1, 10, 20, …, 90, 99) — are mapped linearly so that [pc<sub>1</sub>,
 * pc<sub>2</sub>] becomes the standard range [s<sub>1</sub>, s<sub>2</sub>], and the mapped landmarks are
 * averaged over the images: the standard-scale landmarks μ<sub>s</sub>.
 *
 * <p>Transformation (this class): the same percentiles of this image's foreground (NumPy's linear percentile) are
 * mapped piecewise linearly onto the standard landmarks. Below the first and above the last landmark the first
 * and last segments are extended (linear extrapolation with their slopes — the paper's mapping of [m<sub>1</sub>,
 * pc<sub>1</sub>] and [pc<sub>2</sub>, m<sub>2</sub>] by the end segments; intensity-normalization's
 * {@code interp1d(..., fill_value="extrapolate")}), so nothing is clipped. Every voxel is mapped, float32.
 */
public final class NyulStandardization {

    /** The default landmark percentiles: pc1 = 1, the deciles 10 … 90, pc2 = 99. */
    public static final double[] DEFAULT_PERCENTILES = {1, 10, 20, 30, 40, 50, 60, 70, 80, 90, 99};

    /**
     * The standardized image and this image's landmarks.
     *
     * @param image     float32, same size and geometry
     * @param landmarks this image's foreground percentiles (input units), one per standard landmark
     */
    public record Result(Image image, double[] landmarks) {
    }

    private NyulStandardization() {
    }

    /**
     * Checks a landmark configuration: as many percentiles as standard landmarks (at least 2), percentiles
     * strictly increasing within [0, 100], standard landmarks strictly increasing.
     *
     * @return null when valid, else one sentence saying what is wrong
     */
    public static String check(double[] percentiles, double[] standard) {
        if (standard.length < 2) {
            return "at least 2 standard landmarks are needed, not " + standard.length;
        }
        if (percentiles.length != standard.length) {
            return standard.length + " standard landmarks but " + percentiles.length + " landmark percentiles";
        }
        for (int i = 0; i < percentiles.length; i++) {
            if (!(percentiles[i] >= 0 && percentiles[i] <= 100) || (i > 0 && !(percentiles[i] > percentiles[i - 1]))) {
                return "landmark percentiles must increase strictly within 0..100: " + Arrays.toString(percentiles);
            }
            if (!Double.isFinite(standard[i]) || (i > 0 && !(standard[i] > standard[i - 1]))) {
                return "standard landmarks must be finite and increase strictly: " + Arrays.toString(standard);
            }
        }
        return null;
    }

    /**
     * Maps {@code image} onto the standard scale.
     *
     * @throws IllegalArgumentException for an invalid configuration, an empty foreground, or an image whose
     *                                  landmarks are not strictly increasing (too few distinct foreground values)
     */
    public static Result standardize(Image image, double[] percentiles, double[] standard,
                                     ForegroundMask.Kind foreground) {
        String problem = check(percentiles, standard);
        if (problem != null) {
            throw new IllegalArgumentException(problem);
        }
        double[] sorted = ForegroundMask.sortedValues(image, ForegroundMask.of(image, foreground));
        double[] m = new double[percentiles.length];
        for (int i = 0; i < m.length; i++) {
            m[i] = Intensity.percentile(sorted, percentiles[i]);
            if (i > 0 && !(m[i] > m[i - 1])) {
                throw new IllegalArgumentException("the image's landmarks are not distinct: the foreground "
                        + "percentiles " + percentiles[i - 1] + " and " + percentiles[i] + " are both " + m[i]);
            }
        }
        Image out = image.blank(VoxelType.FLOAT32, image.width(), image.height(), image.depth());
        float[] o = (float[]) out.data();
        int last = m.length - 1;
        for (int i = 0; i < o.length; i++) {
            double v = image.get(i);
            // Segment k covers [m[k], m[k+1]]; the first and last segments extend beyond the ends.
            int k = Arrays.binarySearch(m, v);
            if (k < 0) {
                k = -k - 2;
            }
            k = Math.max(0, Math.min(last - 1, k));
            o[i] = (float) (standard[k] + (v - m[k]) * (standard[k + 1] - standard[k]) / (m[k + 1] - m[k]));
        }
        out = out.withGeometry(image.geometry()).withMetadata(image.metadata().withValueScale(32, true));
        return new Result(out, m);
    }

    /**
     * Parses a comma- or whitespace-separated list of numbers.
     *
     * @throws NumberFormatException when an item is not a number
     */
    public static double[] parseList(String text) {
        String t = text.trim();
        if (t.isEmpty()) {
            return new double[0];
        }
        String[] parts = t.split("[,\\s]+");
        double[] v = new double[parts.length];
        for (int i = 0; i < parts.length; i++) {
            v[i] = Double.parseDouble(parts[i]);
        }
        return v;
    }
}
