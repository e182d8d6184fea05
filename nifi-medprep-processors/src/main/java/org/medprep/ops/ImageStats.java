/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.ops;

import org.medprep.image.Image;

/**
 * Minimum, maximum and mean of all samples of an image (every voxel, every channel), in stored values.
 * One pass, no allocation. Float NaN samples are skipped and counted.
 *
 * @param min   smallest sample
 * @param max   largest sample
 * @param mean  arithmetic mean (computed in double)
 * @param count samples counted (NaN excluded)
 * @param nan   NaN samples (float32 only)
 */
public record ImageStats(double min, double max, double mean, long count, long nan) {

    /** Statistics of every sample of {@code image}. */
    public static ImageStats of(Image image) {
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        double sum = 0;
        long nan = 0;
        int n = image.size();
        for (int i = 0; i < n; i++) {
            double v = image.get(i);
            if (Double.isNaN(v)) {
                nan++;
                continue;
            }
            if (v < min) {
                min = v;
            }
            if (v > max) {
                max = v;
            }
            sum += v;
        }
        long count = n - nan;
        return new ImageStats(min, max, count == 0 ? Double.NaN : sum / count, count, nan);
    }

    /** True when every counted sample has the same value. */
    public boolean constant() {
        return count > 0 && min == max;
    }
}
