/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.ops;

import org.medprep.image.Image;

/**
 * Minimum, maximum and mean of all samples of an image (every voxel, every channel), in stored values.
 * One pass, no allocation (8- and 16-bit unsigned images take a loop the JIT vectorizes: integer sums per block of
 * 2^22 samples, so no block can overflow). Float NaN samples are skipped and counted.
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
        if (image.type() == org.medprep.image.VoxelType.UINT8) {
            return ofUnsigned8((byte[]) image.data());
        }
        if (image.type() == org.medprep.image.VoxelType.UINT16) {
            return ofUnsigned16((short[]) image.data());
        }
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

    private static final int BLOCK = 1 << 22;

    private static ImageStats ofUnsigned8(byte[] b) {
        int min = 255;
        int max = 0;
        long sum = 0;
        for (int start = 0; start < b.length; start += BLOCK) {
            int end = Math.min(b.length, start + BLOCK);
            int blockSum = 0;
            for (int i = start; i < end; i++) {
                int v = b[i] & 0xFF;
                blockSum += v;
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
            sum += blockSum;
        }
        return unsigned(min, max, sum, b.length);
    }

    private static ImageStats ofUnsigned16(short[] s) {
        int min = 65535;
        int max = 0;
        long sum = 0;
        for (int start = 0; start < s.length; start += BLOCK / 256) {
            int end = Math.min(s.length, start + BLOCK / 256);
            int blockSum = 0;
            for (int i = start; i < end; i++) {
                int v = s[i] & 0xFFFF;
                blockSum += v;
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
            sum += blockSum;
        }
        return unsigned(min, max, sum, s.length);
    }

    private static ImageStats unsigned(int min, int max, long sum, int n) {
        return n == 0 ? new ImageStats(Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, Double.NaN, 0, 0)
                : new ImageStats(min, max, (double) sum / n, n, 0);
    }

    /** True when every counted sample has the same value. */
    public boolean constant() {
        return count > 0 && min == max;
    }
}
