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
 * Contrast Limited Adaptive Histogram Equalization, OpenCV's {@code cv::CLAHE} (Zuiderveld, "Contrast Limited
 * Adaptive Histogram Equalization", Graphics Gems IV, 1994), slice by slice. uint8 and uint16 are equalized
 * natively (256 and 65536 histogram bins). int16 and float32 images are mapped linearly from their own
 * [min, max] onto uint16 [0, 65535], equalized, and mapped back to the same range and type (float32 keeps the
 * 16-bit quantization of that mapping). Grayscale only. uint8/uint16 results span the full type range, so their
 * BitsStored becomes 8/16 and the Modality LUT the identity.
 */
public final class Clahe {

    private Clahe() {
    }

    /**
     * @param clipLimit  OpenCV clip limit (relative to the mean bin count; seed value 2.0, OpenCV default 40)
     * @param tilesX     tile grid columns (default 8)
     * @param tilesY     tile grid rows (default 8)
     * @throws IllegalArgumentException for multi-channel, int8/int32 input, or a non-positive clip or grid
     */
    public static Image apply(Image image, double clipLimit, int tilesX, int tilesY) {
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
        CLAHE clahe = Imgproc.createCLAHE(clipLimit, new Size(tilesX, tilesY));
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
