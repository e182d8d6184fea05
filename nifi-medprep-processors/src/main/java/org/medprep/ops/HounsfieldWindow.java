/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.ops;

import org.medprep.image.Image;
import org.medprep.image.ImageMetadata;
import org.medprep.image.VoxelType;

/**
 * Stored values → Hounsfield units (HU) through the Modality LUT, then a range of interest: a clip to
 * [minimum, maximum] HU, or a display window given by center and width.
 *
 * <p><b>Modality LUT</b> (DICOM PS3.3 C.11.1.1.2, Rescale Slope/Intercept):
 * {@code HU = stored × RescaleSlope + RescaleIntercept}, computed in double precision from the image's
 * {@link ImageMetadata#rescaleSlope()}/{@link ImageMetadata#rescaleIntercept()}. Whether an image may be read as HU
 * at all (modality CT, the LUT present, RescaleType HU) is the caller's decision: this class applies the LUT it is
 * given.
 *
 * <p><b>Clip</b>: {@code clip(HU, min, max)}. <b>Window</b> (center c, width w ≥ 1, both in HU): with HU output the
 * values are clipped to [c − w/2, c + w/2] and keep their HU; with [0, 1] output it is the linear function of DICOM
 * PS3.3 C.11.2.1.2 with y<sub>min</sub> = 0, y<sub>max</sub> = 1:
 * {@code x ≤ c − 0.5 − (w − 1)/2 → 0; x > c − 0.5 + (w − 1)/2 → 1; else ((x − (c − 0.5)) / (w − 1) + 0.5)}.
 * A clip with [0, 1] output is {@code (clip(HU, min, max) − min) / (max − min)}.
 *
 * <p><b>Stack</b>: several windows, one channel each ({@link #stack}).
 *
 * <p><b>Output</b> ({@link Output}): HU as float32; HU as int16 (rounded half to even, as NumPy's {@code rint}, so
 * a non-integer slope gives the nearest integer HU); or [0, 1] as float32. Every value is computed in double and
 * cast once. The result has the input's size (z, y, x), geometry and metadata with an identity Modality LUT
 * (slope 1, intercept 0; {@link ImageMetadata#withValueScale}), 16 bits signed for int16, 32 bits for float32
 * (signed for HU, unsigned for [0, 1]), and no VOI window.
 */
public final class HounsfieldWindow {

    /** What the values of the result are. */
    public enum Output {
        /** Hounsfield units, float32. */
        HU_FLOAT32,
        /** Hounsfield units rounded half to even, int16 (the range must lie within −32768..32767). */
        HU_INT16,
        /** Scaled to [0, 1], float32. */
        UNIT_FLOAT32
    }

    private HounsfieldWindow() {
    }

    /** Stored value → HU through the image's Modality LUT. */
    public static double hu(Image image, int i) {
        ImageMetadata m = image.metadata();
        return image.get(i) * m.rescaleSlope() + m.rescaleIntercept();
    }

    /**
     * Clips HU to [minHu, maxHu].
     *
     * @throws IllegalArgumentException when minHu ≥ maxHu or a bound is not finite, for int16 output outside
     *                                  −32768..32767, or for an image with more than one channel
     */
    public static Image clip(Image image, double minHu, double maxHu, Output output) {
        checkRange(minHu, maxHu, output);
        checkSingleChannel(image);
        Image out = image.blank(type(output), image.width(), image.height(), image.depth());
        double range = maxHu - minHu;
        for (int i = 0; i < image.size(); i++) {
            double v = Math.min(maxHu, Math.max(minHu, hu(image, i)));
            put(out, i, output == Output.UNIT_FLOAT32 ? (v - minHu) / range : v, output);
        }
        return out.withMetadata(metadata(image, output));
    }

    /**
     * Applies the window (center, width) in HU: a clip to [c − w/2, c + w/2] for HU output, the PS3.3
     * C.11.2.1.2 linear function onto [0, 1] for {@link Output#UNIT_FLOAT32}.
     *
     * @throws IllegalArgumentException when the width is &lt; 1 or a value is not finite, for int16 output whose
     *                                  window edges fall outside −32768..32767, or for more than one channel
     */
    public static Image window(Image image, double center, double width, Output output) {
        if (!Double.isFinite(center) || !Double.isFinite(width) || width < 1) {
            throw new IllegalArgumentException("a window needs a finite center and a width of at least 1 HU; got "
                    + "center " + center + ", width " + width);
        }
        if (output != Output.UNIT_FLOAT32) {
            return clip(image, center - width / 2, center + width / 2, output);
        }
        checkSingleChannel(image);
        Image out = image.blank(VoxelType.FLOAT32, image.width(), image.height(), image.depth());
        double lower = center - 0.5 - (width - 1) / 2;
        double upper = center - 0.5 + (width - 1) / 2;
        for (int i = 0; i < image.size(); i++) {
            double x = hu(image, i);
            double y;
            if (x <= lower) {
                y = 0;
            } else if (x > upper) {
                y = 1;
            } else {
                y = (x - (center - 0.5)) / (width - 1) + 0.5;
            }
            out.set(i, y);
        }
        return out.withMetadata(metadata(image, output));
    }

    /**
     * Several windows stacked as channels: channel k of the result is {@link #window}(image, centers[k],
     * widths[k], output); shape (z, y, x, k), channels interleaved as everywhere in {@link Image}.
     *
     * @throws IllegalArgumentException as {@link #window}, or when no window or unequal array lengths are given
     */
    public static Image stack(Image image, double[] centers, double[] widths, Output output) {
        if (centers.length == 0 || centers.length != widths.length) {
            throw new IllegalArgumentException("stacking needs at least one window, each with a center and a width");
        }
        int k = centers.length;
        Image first = window(image, centers[0], widths[0], output);
        Image out = Image.allocate(first.type(), image.width(), image.height(), image.depth(), k,
                image.geometry(), first.metadata());
        for (int c = 0; c < k; c++) {
            Image one = c == 0 ? first : window(image, centers[c], widths[c], output);
            for (int i = 0; i < one.size(); i++) {
                out.set(i * k + c, one.get(i));
            }
        }
        return out;
    }

    private static void checkRange(double minHu, double maxHu, Output output) {
        if (!Double.isFinite(minHu) || !Double.isFinite(maxHu) || !(minHu < maxHu)) {
            throw new IllegalArgumentException("the HU range needs finite bounds with minimum < maximum; got "
                    + minHu + ".." + maxHu);
        }
        if (output == Output.HU_INT16 && (minHu < Short.MIN_VALUE || maxHu > Short.MAX_VALUE)) {
            throw new IllegalArgumentException("int16 output needs an HU range within -32768..32767; got "
                    + minHu + ".." + maxHu);
        }
    }

    private static void checkSingleChannel(Image image) {
        if (image.channels() != 1) {
            throw new IllegalArgumentException("Hounsfield units need a single-channel image; this one has "
                    + image.channels() + " channels");
        }
    }

    private static VoxelType type(Output output) {
        return output == Output.HU_INT16 ? VoxelType.INT16 : VoxelType.FLOAT32;
    }

    private static void put(Image out, int i, double v, Output output) {
        out.set(i, output == Output.HU_INT16 ? Math.rint(v) : v);
    }

    private static ImageMetadata metadata(Image image, Output output) {
        return switch (output) {
            case HU_FLOAT32 -> image.metadata().withValueScale(32, true);
            case HU_INT16 -> image.metadata().withValueScale(16, true);
            case UNIT_FLOAT32 -> image.metadata().withValueScale(32, false);
        };
    }
}
