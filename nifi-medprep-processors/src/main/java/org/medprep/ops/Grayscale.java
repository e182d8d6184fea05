/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.ops;

import org.medprep.image.Image;
import org.medprep.image.VoxelType;
import org.opencv.core.Mat;
import org.opencv.imgproc.Imgproc;

/**
 * Colour to grayscale: the ITU-R BT.601 luma {@code Y = 0.299 R + 0.587 G + 0.114 B} of OpenCV's
 * {@code cvtColor(COLOR_RGB2GRAY)} (fixed-point and rounded for integer types, as OpenCV does), slice by slice.
 * For colour images that are not PNG or JPEG (DICOM RGB, TIFF, NIfTI RGB); PNG and JPEG are converted by their
 * decoders (see {@code org.medprep.io.ColorHandling}).
 */
public final class Grayscale {

    private Grayscale() {
    }

    /**
     * @param image (z, y, x, c) with c = 3 channels in R, G, B order, UINT8, UINT16 or FLOAT32; any other image is
     *              returned unchanged when it has one channel
     * @return the same geometry with 1 channel of the same voxel type, photometric MONOCHROME2
     * @throws IllegalArgumentException for a colour image of another voxel type or channel count
     */
    public static Image fromRgb(Image image) {
        if (image.channels() == 1) {
            return image;
        }
        VoxelType t = image.type();
        if (image.channels() != 3 || (t != VoxelType.UINT8 && t != VoxelType.UINT16 && t != VoxelType.FLOAT32)) {
            throw new IllegalArgumentException("Grayscale conversion needs 3 channels (R, G, B) of 8-bit, 16-bit or "
                    + "float samples; this image has " + image.channels() + " channels of " + t);
        }
        Image out = Image.allocate(t, image.width(), image.height(), image.depth(), 1, image.geometry(),
                image.metadata().withPhotometric("MONOCHROME2"));
        Mat gray = new Mat();
        for (int z = 0; z < image.depth(); z++) {
            Mat rgb = OpenCv.slice(image, z);
            Imgproc.cvtColor(rgb, gray, Imgproc.COLOR_RGB2GRAY);
            OpenCv.store(gray, out, z);
            rgb.release();
        }
        gray.release();
        return out;
    }
}
