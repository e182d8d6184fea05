/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.ops;

import java.util.Locale;
import java.util.function.BiConsumer;
import org.medprep.image.Image;
import org.medprep.image.VoxelType;
import org.opencv.core.Core;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.MatOfFloat;
import org.opencv.core.Size;
import org.opencv.imgproc.Imgproc;
import org.opencv.photo.Photo;

/**
 * 2D denoising filters from OpenCV 4.9, applied slice by slice; output has the input's size, type and geometry.
 * Borders follow OpenCV's defaults (BORDER_REPLICATE for the median, BORDER_REFLECT_101 for the others), as
 * python3-opencv does with the same calls.
 */
public final class Denoise {

    private Denoise() {
    }

    /**
     * Median filter, {@code cv::medianBlur}.
     *
     * @param kernel odd aperture in pixels, ≥ 3; uint8 takes any size, uint16/int16/float32 only 3 or 5 (OpenCV)
     * @throws IllegalArgumentException for an even kernel, a kernel OpenCV does not support for the type, or
     *                                  int8/int32 input
     */
    public static Image median(Image image, int kernel) {
        if (kernel < 3 || kernel % 2 == 0) {
            throw new IllegalArgumentException("median kernel must be odd and at least 3, not " + kernel);
        }
        requireType(image, "median", VoxelType.UINT8, VoxelType.UINT16, VoxelType.INT16, VoxelType.FLOAT32);
        if (image.type() != VoxelType.UINT8 && kernel > 5) {
            throw new IllegalArgumentException("OpenCV's median filter takes kernels above 5 only for 8-bit "
                    + "images; this image is " + typeName(image));
        }
        return perSlice(image, (src, dst) -> Imgproc.medianBlur(src, dst, kernel));
    }

    /**
     * Gaussian smoothing, {@code cv::GaussianBlur} with the kernel size derived from sigma (OpenCV's rule).
     *
     * @param sigmaX standard deviation along x, pixels (&gt; 0)
     * @param sigmaY standard deviation along y, pixels (&gt; 0)
     */
    public static Image gaussian(Image image, double sigmaX, double sigmaY) {
        if (!(sigmaX > 0) || !(sigmaY > 0)) {
            throw new IllegalArgumentException("Gaussian sigma must be positive");
        }
        requireType(image, "Gaussian", VoxelType.UINT8, VoxelType.UINT16, VoxelType.INT16, VoxelType.FLOAT32);
        return perSlice(image, (src, dst) -> Imgproc.GaussianBlur(src, dst, new Size(0, 0), sigmaX, sigmaY));
    }

    /**
     * Bilateral filter, {@code cv::bilateralFilter}. OpenCV takes 8-bit and float32 only, so 16-bit images are
     * filtered as float32 and rounded back (saturating).
     *
     * @param diameter   pixel neighbourhood diameter (≤ 0: derived from sigmaSpace)
     * @param sigmaColor range sigma, in stored-value units
     * @param sigmaSpace spatial sigma, pixels
     */
    public static Image bilateral(Image image, int diameter, double sigmaColor, double sigmaSpace) {
        requireType(image, "bilateral", VoxelType.UINT8, VoxelType.UINT16, VoxelType.INT16, VoxelType.FLOAT32);
        boolean viaFloat = image.type() == VoxelType.UINT16 || image.type() == VoxelType.INT16;
        return perSlice(image, (src, dst) -> {
            if (!viaFloat) {
                Imgproc.bilateralFilter(src, dst, diameter, sigmaColor, sigmaSpace);
                return;
            }
            Mat f = new Mat();
            Mat g = new Mat();
            src.convertTo(f, CvType.CV_32F);
            Imgproc.bilateralFilter(f, g, diameter, sigmaColor, sigmaSpace);
            g.convertTo(dst, src.depth());
            f.release();
            g.release();
        });
    }

    /**
     * Non-local means, {@code cv::fastNlMeansDenoising} (Buades, Coll and Morel, "A non-local algorithm for image
     * denoising", CVPR 2005). uint8 uses the L2 norm; uint16 uses the L1 norm (the only one OpenCV accepts for
     * 16-bit).
     *
     * @param h              filter strength, stored-value units
     * @param templateWindow odd template patch size, pixels (OpenCV default 7)
     * @param searchWindow   odd search window size, pixels (OpenCV default 21)
     */
    public static Image nonLocalMeans(Image image, double h, int templateWindow, int searchWindow) {
        requireType(image, "non-local means", VoxelType.UINT8, VoxelType.UINT16);
        if (image.channels() != 1) {
            throw new IllegalArgumentException("non-local means is implemented for grayscale images");
        }
        boolean sixteen = image.type() == VoxelType.UINT16;
        return perSlice(image, (src, dst) -> {
            if (sixteen) {
                Photo.fastNlMeansDenoising(src, dst, new MatOfFloat((float) h), templateWindow, searchWindow,
                        Core.NORM_L1);
            } else {
                Photo.fastNlMeansDenoising(src, dst, (float) h, templateWindow, searchWindow);
            }
        });
    }

    /** Applies {@code filter(src, dst)} to every slice; dst must come out with the same type and size. */
    static Image perSlice(Image image, BiConsumer<Mat, Mat> filter) {
        OpenCv.load();
        Image out = image.blank(image.type(), image.width(), image.height(), image.depth());
        for (int z = 0; z < image.depth(); z++) {
            Mat src = OpenCv.slice(image, z);
            Mat dst = new Mat();
            filter.accept(src, dst);
            OpenCv.store(dst, out, z);
            src.release();
            dst.release();
        }
        return out.withGeometry(image.geometry());
    }

    static void requireType(Image image, String operation, VoxelType... allowed) {
        for (VoxelType t : allowed) {
            if (image.type() == t) {
                return;
            }
        }
        throw new IllegalArgumentException(operation + " does not support " + typeName(image) + " images");
    }

    static String typeName(Image image) {
        return image.type().name().toLowerCase(Locale.ROOT);
    }
}
