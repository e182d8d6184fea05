/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.ops;

import org.medprep.image.Image;
import org.medprep.image.VoxelType;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.Size;
import org.opencv.imgproc.CLAHE;
import org.opencv.imgproc.Imgproc;

/**
 * Contrast Limited Adaptive Histogram Equalization with OpenCV's {@code cv::CLAHE} (K. Zuiderveld, "Contrast
 * Limited Adaptive Histogram Equalization", Graphics Gems IV, 1994), slice by slice, grayscale only. The input
 * is a (z, y, x) image of stored values, MONOCHROME2 (callers invert MONOCHROME1 first, see {@link Monochrome});
 * the output has the same width, height, depth and geometry.
 *
 * <p>OpenCV clips each tile's histogram bins at {@code max(1, ⌊clip · tilePixels / bins⌋)}, so what a clip limit
 * does depends on the number of bins. Two modes ({@link Bins}):
 * <ul>
 *   <li>{@link Bins#BITS_STORED_256} (the default): the image is first cut into 256 bins by
 *       {@link HistogramBins} (a 12-bit value v goes to bin v >> 4; 8-bit values are their own bin), then
 *       equalized with OpenCV's 8-bit CLAHE, so a clip limit means the same at every bit depth. For uint8 and
 *       uint16 input the result is uint8 with BitsStored 8 and the identity Modality LUT: a 12-bit image and its
 *       8-bit export (v >> 4) give identical output, and 8-bit input gives exactly OpenCV's result. int16 and
 *       float32 images (256 bins over their own [min, max]) have the equalized levels mapped back onto that
 *       range in their own type, metadata unchanged ({@link HistogramBins#toRange}), as in the native mode.</li>
 *   <li>{@link Bins#OPENCV_NATIVE}: OpenCV as it is: uint8 and uint16 are equalized natively (256 and 65,536
 *       bins) and keep their type, with BitsStored 8 or 16 and the identity Modality LUT afterwards; int16 and
 *       float32 images are mapped linearly from their own [min, max] onto uint16 [0, 65535], equalized, and
 *       mapped back to the same range and type (float32 keeps the 16-bit quantization of that mapping) with
 *       their metadata unchanged.</li>
 * </ul>
 */
public final class Clahe {

    /** How the histogram is binned. */
    public enum Bins {
        /** 256 bins over the BitsStored range (data range for int16/float32), then OpenCV's 8-bit CLAHE. */
        BITS_STORED_256,
        /** One bin per value of the sample type: 256 for uint8, 65,536 for uint16 (and int16/float32 via uint16). */
        OPENCV_NATIVE
    }

    private Clahe() {
    }

    /**
     * {@link Bins#BITS_STORED_256} with the bin range already computed for {@code image} by
     * {@link HistogramBins#range} (a caller that records the range need not scan the image twice).
     *
     * @throws IllegalArgumentException as {@link #apply(Image, double, int, int, Bins)}
     */
    public static Image apply(Image image, double clipLimit, int tilesX, int tilesY, HistogramBins.Range range) {
        CLAHE clahe = checked(image, clipLimit, tilesX, tilesY);
        // HistogramBins' result is uint8 with BitsStored 8 and the identity Modality LUT; CLAHE keeps both.
        Image equalized = Denoise.perSlice(HistogramBins.apply(image, range), clahe::apply);
        return range.fromBitsStored() ? equalized : HistogramBins.toRange(equalized, image, range);
    }

    /** Checks the arguments and the image, loads OpenCV, and makes the CLAHE object. */
    private static CLAHE checked(Image image, double clipLimit, int tilesX, int tilesY) {
        if (!(clipLimit > 0) || tilesX < 1 || tilesY < 1) {
            throw new IllegalArgumentException("CLAHE needs a positive clip limit and tile grid");
        }
        if (image.channels() != 1) {
            throw new IllegalArgumentException("CLAHE is applied to grayscale images; this one has "
                    + image.channels() + " channels");
        }
        Denoise.requireType(image, "CLAHE", VoxelType.UINT8, VoxelType.UINT16, VoxelType.INT16,
                VoxelType.FLOAT32);
        OpenCv.load();
        return Imgproc.createCLAHE(clipLimit, new Size(tilesX, tilesY));
    }

    /**
     * @param clipLimit OpenCV clip limit, relative to the mean bin count of a tile's histogram (&gt; 0; the chest
     *                  X-ray recipe uses 2.0, OpenCV's default is 40)
     * @param tilesX    tile grid columns (≥ 1; default 8)
     * @param tilesY    tile grid rows (≥ 1; default 8)
     * @param bins      histogram binning, see the class comment
     * @throws IllegalArgumentException for multi-channel, int8/int32 input, a non-positive clip or grid, and (in
     *                                  {@link Bins#BITS_STORED_256} mode) what {@link HistogramBins#range} rejects
     */
    public static Image apply(Image image, double clipLimit, int tilesX, int tilesY, Bins bins) {
        if (bins == Bins.BITS_STORED_256) {
            checked(image, clipLimit, tilesX, tilesY);
            return apply(image, clipLimit, tilesX, tilesY, HistogramBins.range(image));
        }
        CLAHE clahe = checked(image, clipLimit, tilesX, tilesY);
        if (image.type() == VoxelType.UINT8 || image.type() == VoxelType.UINT16) {
            // The equalized values span the type's full range: BitsStored becomes 8 or 16, the Modality LUT identity.
            Image out = Denoise.perSlice(image, clahe::apply);
            return out.withMetadata(image.metadata().withValueScale(image.type().bytes() * 8, false));
        }
        ImageStats stats = ImageStats.of(image);
        double min = stats.min();
        double range = stats.max() - stats.min();
        if (!(range > 0)) {
            return Denoise.perSlice(image, (src, dst) -> src.copyTo(dst));
        }
        double toSixteen = 65535.0 / range;
        return Denoise.perSlice(image, (src, dst) -> {
            Mat u16 = new Mat();
            Mat eq = new Mat();
            src.convertTo(u16, CvType.CV_16U, toSixteen, -min * toSixteen);
            clahe.apply(u16, eq);
            eq.convertTo(dst, src.depth(), 1 / toSixteen, min);
            u16.release();
            eq.release();
        });
    }
}
