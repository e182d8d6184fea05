/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.ops;

import java.util.Arrays;
import org.medprep.image.Image;
import org.medprep.image.VoxelType;

/**
 * Intensity normalizations; every method returns a float32 image of the same size and geometry, with an identity
 * Modality LUT (slope 1, intercept 0). Values are read as stored values (apply {@link Monochrome} first where
 * display orientation matters). Statistics are computed in double precision over all samples (all channels).
 */
public final class Intensity {

    /** Floor of the standard deviation divisor, as nnU-Net's {@code max(std, 1e-8)}. */
    public static final double MIN_STD = 1e-8;

    private Intensity() {
    }

    /**
     * Scale to [0, 1] by bit depth: uint8 ÷ 255; other unsigned integers ÷ (2^BitsStored − 1) (e.g. 12-bit ÷ 4095).
     *
     * @throws IllegalArgumentException for signed or float input (no fixed range: use min–max or percentiles)
     */
    public static Image scaleByBitDepth(Image image) {
        if (image.type() != VoxelType.UINT8 && image.type() != VoxelType.UINT16) {
            throw new IllegalArgumentException("scaling by bit depth needs unsigned 8- or 16-bit samples; this image"
                    + " is " + Denoise.typeName(image) + " (use min-max or percentile normalization)");
        }
        int bits = scaleBits(image);
        return affine(image, 1.0 / ((1 << bits) - 1), 0);
    }

    /** The bit depth {@link #scaleByBitDepth} divides by: 8 for uint8, else BitsStored clamped to 1..16. */
    public static int scaleBits(Image image) {
        return image.type() == VoxelType.UINT8 ? 8 : Math.max(1, Math.min(16, image.metadata().bitsStored()));
    }

    /** (v − min) / (max − min); a constant image becomes all 0. */
    public static Image minMax(Image image) {
        ImageStats s = ImageStats.of(image);
        double range = s.max() - s.min();
        return range > 0 ? affine(image, 1 / range, -s.min() / range) : affine(image, 0, 0);
    }

    /**
     * Z-score with this image's statistics: (v − mean) / max(std, 1e-8), population std (NumPy's default ddof 0).
     *
     * @param foregroundOnly compute mean and std over samples &gt; 0 only (all samples are still transformed);
     *                       with no such sample the image is left centred on 0 with std 1
     */
    public static Image zScore(Image image, boolean foregroundOnly) {
        double sum = 0;
        double sumSq = 0;
        long n = 0;
        for (int i = 0; i < image.size(); i++) {
            double v = image.get(i);
            if (!foregroundOnly || v > 0) {
                sum += v;
                n++;
            }
        }
        double mean = n == 0 ? 0 : sum / n;
        for (int i = 0; i < image.size(); i++) {
            double v = image.get(i);
            if (!foregroundOnly || v > 0) {
                sumSq += (v - mean) * (v - mean);
            }
        }
        double std = n == 0 ? 1 : Math.sqrt(sumSq / n);
        return zScore(image, mean, std);
    }

    /**
     * nnU-Net's z-score for non-CT images with {@code use_mask_for_norm}
     * ({@code nnunetv2.preprocessing.normalization.default_normalization_schemes.ZScoreNormalization}; F. Isensee et
     * al., "nnU-Net", Nature Methods 18:203–211, 2021): mean and population std over the foreground voxels only,
     * foreground samples become (v − mean) / max(std, 1e-8), every other sample 0.
     *
     * @param mask one flag per voxel (e.g. {@link ForegroundMask#nonzeroFilled}, nnU-Net's mask)
     * @throws IllegalArgumentException when the mask is empty
     */
    public static Image zScoreInMask(Image image, boolean[] mask) {
        int c = image.channels();
        double sum = 0;
        long n = 0;
        for (int v = 0; v < mask.length; v++) {
            if (mask[v]) {
                for (int k = 0; k < c; k++) {
                    sum += image.get(v * c + k);
                    n++;
                }
            }
        }
        if (n == 0) {
            throw new IllegalArgumentException("the foreground mask is empty (every voxel is 0)");
        }
        double mean = sum / n;
        double ss = 0;
        for (int v = 0; v < mask.length; v++) {
            if (mask[v]) {
                for (int k = 0; k < c; k++) {
                    double d = image.get(v * c + k) - mean;
                    ss += d * d;
                }
            }
        }
        double d = Math.max(Math.sqrt(ss / n), MIN_STD);
        Image out = image.blank(VoxelType.FLOAT32, image.width(), image.height(), image.depth());
        float[] o = (float[]) out.data();
        for (int v = 0; v < mask.length; v++) {
            if (mask[v]) {
                for (int k = 0; k < c; k++) {
                    int i = v * c + k;
                    o[i] = (float) ((image.get(i) - mean) / d);
                }
            }
        }
        return finish(image, out);
    }

    /** (v − mean) / max(std, 1e-8) with given statistics (e.g. the training set's). */
    public static Image zScore(Image image, double mean, double std) {
        double d = Math.max(std, MIN_STD);
        return affine(image, 1 / d, -mean / d);
    }

    /**
     * Clip to the [lowPercentile, highPercentile] percentiles of this image, then rescale that range to [0, 1].
     * Percentiles interpolate linearly between order statistics, as NumPy's default ({@code np.percentile}).
     */
    public static Image percentileClip(Image image, double lowPercentile, double highPercentile) {
        if (!(lowPercentile >= 0 && lowPercentile < highPercentile && highPercentile <= 100)) {
            throw new IllegalArgumentException("percentiles must satisfy 0 <= low < high <= 100");
        }
        double[] sorted = new double[image.size()];
        for (int i = 0; i < sorted.length; i++) {
            sorted[i] = image.get(i);
        }
        Arrays.sort(sorted);
        double lo = percentile(sorted, lowPercentile);
        double hi = percentile(sorted, highPercentile);
        Image out = image.blank(VoxelType.FLOAT32, image.width(), image.height(), image.depth());
        float[] o = (float[]) out.data();
        double range = hi - lo;
        for (int i = 0; i < o.length; i++) {
            double v = Math.min(hi, Math.max(lo, image.get(i)));
            o[i] = range > 0 ? (float) ((v - lo) / range) : 0f;
        }
        return finish(image, out);
    }

    /** NumPy's linear percentile (0–100) of ascending {@code sorted} values ({@code np.percentile}'s default). */
    public static double percentile(double[] sorted, double p) {
        double pos = p / 100 * (sorted.length - 1);
        int i = (int) Math.floor(pos);
        if (i >= sorted.length - 1) {
            return sorted[sorted.length - 1];
        }
        double frac = pos - i;
        return sorted[i] + (sorted[i + 1] - sorted[i]) * frac;
    }

    /** scale·v + offset into float32, computed in double and rounded once. */
    private static Image affine(Image image, double scale, double offset) {
        Image out = image.blank(VoxelType.FLOAT32, image.width(), image.height(), image.depth());
        float[] o = (float[]) out.data();
        for (int i = 0; i < o.length; i++) {
            o[i] = (float) (image.get(i) * scale + offset);
        }
        return finish(image, out);
    }

    private static Image finish(Image in, Image out) {
        return out.withGeometry(in.geometry()).withMetadata(in.metadata().withValueScale(32, true));
    }
}
