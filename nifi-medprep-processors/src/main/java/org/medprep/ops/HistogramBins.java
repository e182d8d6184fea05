/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.ops;

import org.medprep.image.Image;
import org.medprep.image.VoxelType;

/**
 * The 256-bin quantization that {@link Clahe}'s default mode runs OpenCV's 8-bit CLAHE on, so that a clip limit
 * means the same at every bit depth. OpenCV's CLAHE ({@code cv::CLAHE}) uses one histogram bin per representable
 * value (256 for 8-bit, 65,536 for 16-bit) and clips each bin at {@code max(1, ⌊clip · tilePixels / bins⌋)}:
 * with 65,536 bins a 224 × 224 image in 8 × 8 tiles (784 pixels a tile) has every bin capped at 1 whatever the
 * clip, and a 12-bit X-ray equalizes very differently from its own 8-bit export. scikit-image's
 * {@code equalize_adapthist} avoids this with a fixed bin count ({@code nbins}, default 256) over the data range;
 * here the bins are cut from the range the image <em>declares</em> (BitsStored), which keeps 8-bit input and
 * 8-bit exports exact (see below) and does not let one outlier pixel move every bin.
 *
 * <p><b>The rule</b> (every sample maps to a bin index 0 … 255, equal-width bins):
 * <ul>
 *   <li>uint8: the bin is the value ({@code b = 8}), so 8-bit input is equalized exactly as OpenCV does.</li>
 *   <li>uint16 with BitsStored b (clamped to 1 … 16, the same b that Normalize's "Scale by Bit Depth" divides by,
 *       {@link Intensity#scaleBits}): {@code bin = ⌊v · 256 / 2^b⌋}, i.e. {@code v >> (b − 8)} for b ≥ 8
 *       (a 12-bit value's top 8 bits) and {@code v << (8 − b)} below. A 12-bit image and its 8-bit export
 *       {@code v >> 4} therefore have the same bins. A value above {@code 2^b − 1} contradicts BitsStored and is an
 *       error rather than silently clipped.</li>
 *   <li>int16 and float32 (no unsigned stored range: CT in HU, results of other steps): 256 equal bins over the
 *       image's own range [min, max] (over all slices), as scikit-image does. int16:
 *       {@code bin = ⌊(v − min) · 256 / (max − min + 1)⌋} (each of the max − min + 1 integer values in one bin);
 *       float32: {@code bin = min(255, ⌊(v − min) · 256 / (max − min)⌋)} in double arithmetic, 0 for a constant
 *       image. NaN and infinite samples are an error.</li>
 * </ul>
 * Grayscale only; depth (slices) and geometry are kept; the bins are a uint8 image with BitsStored 8 and the
 * identity Modality LUT. {@link #toRange} maps equalized levels 0 … 255 of an int16 or float32 image back onto its
 * [min, max] in its own type (so such images keep their type and metadata through CLAHE, as they always have).
 *
 * <p>Sources: K. Zuiderveld, "Contrast Limited Adaptive Histogram Equalization", Graphics Gems IV (1994), 474–485
 * (histogram bins per tile, clip limit relative to the bin count); OpenCV {@code cv::createCLAHE} (histogram size
 * 256 for CV_8U, 65,536 for CV_16U); scikit-image {@code skimage.exposure.equalize_adapthist(nbins=256)}.
 */
public final class HistogramBins {

    /** Number of bins. */
    public static final int BINS = 256;

    private HistogramBins() {
    }

    /**
     * The range cut into {@link #BINS} bins.
     *
     * @param low        value of the lower edge of bin 0
     * @param high       largest value that falls in bin 255 (2^b − 1 for unsigned input; the image's max otherwise)
     * @param bitsStored b for unsigned input (the bins come from BitsStored), 0 when the bins come from the data
     *                   range (int16, float32)
     */
    public record Range(double low, double high, int bitsStored) {
        /** True when the bins come from BitsStored rather than from the image's own min and max. */
        public boolean fromBitsStored() {
            return bitsStored > 0;
        }
    }

    /**
     * The range {@link #apply} bins {@code image} over.
     *
     * @throws IllegalArgumentException for int8, int32 or multi-channel input, NaN or infinite samples, or an
     *                                  unsigned value above 2^BitsStored − 1
     */
    public static Range range(Image image) {
        if (image.channels() != 1) {
            throw new IllegalArgumentException("CLAHE is applied to grayscale images; this one has "
                    + image.channels() + " channels");
        }
        Denoise.requireType(image, "CLAHE", VoxelType.UINT8, VoxelType.UINT16, VoxelType.INT16,
                VoxelType.FLOAT32);
        ImageStats stats = ImageStats.of(image);
        if (stats.nan() > 0) {
            throw new IllegalArgumentException("CLAHE cannot bin an image with " + stats.nan() + " NaN samples");
        }
        if (image.type() == VoxelType.UINT8 || image.type() == VoxelType.UINT16) {
            int bits = Intensity.scaleBits(image);
            long top = (1L << bits) - 1;
            if (stats.max() > top) {
                throw new IllegalArgumentException("a sample value " + (long) stats.max() + " is above the BitsStored "
                        + bits + " range 0 to " + top + ", so CLAHE's 256 bins over that range cannot hold it");
            }
            return new Range(0, top, bits);
        }
        if (!Double.isFinite(stats.min()) || !Double.isFinite(stats.max())) {
            throw new IllegalArgumentException("CLAHE cannot bin an image with infinite samples");
        }
        return new Range(stats.min(), stats.max(), 0);
    }

    /** The bin indices of {@code image} (see the class comment): a uint8 image with BitsStored 8. */
    public static Image apply(Image image) {
        return apply(image, range(image));
    }

    /** The bin indices of {@code image} over a {@link #range} computed for it. */
    public static Image apply(Image image, Range range) {
        Image out = image.blank(VoxelType.UINT8, image.width(), image.height(), image.depth())
                .withMetadata(image.metadata().withValueScale(8, false));
        byte[] dst = (byte[]) out.data();
        int n = image.size();
        switch (image.data()) {
            case byte[] src -> System.arraycopy(src, 0, dst, 0, n);
            case short[] src when range.fromBitsStored() -> {
                int bits = range.bitsStored();
                for (int i = 0; i < n; i++) {
                    int v = src[i] & 0xFFFF;
                    dst[i] = (byte) (bits >= 8 ? v >> (bits - 8) : v << (8 - bits));
                }
            }
            case short[] src -> {
                long low = (long) range.low();
                long count = (long) range.high() - low + 1;
                for (int i = 0; i < n; i++) {
                    dst[i] = (byte) ((src[i] - low) * BINS / count);
                }
            }
            case float[] src -> {
                double low = range.low();
                double width = range.high() - range.low();
                if (width > 0) {
                    for (int i = 0; i < n; i++) {
                        dst[i] = (byte) Math.min(BINS - 1, (int) Math.floor((src[i] - low) * BINS / width));
                    }
                }
            }
            default -> throw new IllegalStateException("unexpected array " + image.data().getClass());
        }
        return out;
    }

    /**
     * Maps levels k = 0 … 255 of a uint8 image onto the data range of {@code original} (int16 or float32) it was
     * binned from, in the original's type, metadata and geometry: int16 {@code min + round(k · (max − min) / 255)}
     * (halves up, exact integer arithmetic), float32 {@code min + k · (max − min) / 255} (double, then float).
     *
     * @param levels   uint8 image of the original's size
     * @param original the int16 or float32 image {@code range} was computed for
     * @throws IllegalArgumentException when the range came from BitsStored (unsigned input stays 8-bit)
     */
    public static Image toRange(Image levels, Image original, Range range) {
        if (range.fromBitsStored() || levels.type() != VoxelType.UINT8) {
            throw new IllegalArgumentException("only uint8 levels of an int16 or float32 image map back to its range");
        }
        Image out = original.blank(original.type(), original.width(), original.height(), original.depth());
        byte[] k = (byte[]) levels.data();
        int n = original.size();
        switch (out.data()) {
            case short[] dst -> {
                long low = (long) range.low();
                long width = (long) range.high() - low;
                for (int i = 0; i < n; i++) {
                    dst[i] = (short) (low + (2 * (k[i] & 0xFF) * width + 255) / 510);
                }
            }
            case float[] dst -> {
                for (int i = 0; i < n; i++) {
                    dst[i] = (float) (range.low() + (k[i] & 0xFF) * (range.high() - range.low()) / 255);
                }
            }
            default -> throw new IllegalStateException("unexpected array " + out.data().getClass());
        }
        return out.withGeometry(original.geometry());
    }
}
