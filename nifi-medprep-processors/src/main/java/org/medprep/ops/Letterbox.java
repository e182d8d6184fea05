/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.ops;

import org.medprep.image.Geometry;
import org.medprep.image.Image;
import org.medprep.image.VoxelType;
import org.opencv.core.Core;
import org.opencv.core.Mat;
import org.opencv.core.Scalar;
import org.opencv.core.Size;
import org.opencv.imgproc.Imgproc;

/**
 * Letterbox: aspect-preserving resize to fit a target width × height, then constant padding centred on both axes,
 * slice by slice for volumes. The rule is the chest X-ray recipe's (the YOLO-style letterbox):
 * {@code scale = min(H/h, W/w)}, resized size {@code floor(h·scale) × floor(w·scale)} (Python's {@code int()}),
 * padding {@code top = (H − h')/2}, {@code left = (W − w')/2} (integer division), the rest at bottom and right.
 * Resizing is OpenCV's {@code cv::resize} (pixel-centre aligned), padding {@code cv::copyMakeBorder} with
 * BORDER_CONSTANT.
 *
 * <p>Geometry follows the pixels: spacing x becomes {@code sx·w/w'}, y {@code sy·h/h'} (mm); the origin moves to
 * the world position of output pixel (0, 0), so every output pixel keeps its place in patient space.
 */
public final class Letterbox {

    /** OpenCV interpolation used for the resize. */
    public enum Interpolation {
        LINEAR(Imgproc.INTER_LINEAR), AREA(Imgproc.INTER_AREA), CUBIC(Imgproc.INTER_CUBIC),
        NEAREST(Imgproc.INTER_NEAREST);

        private final int code;

        Interpolation(int code) {
            this.code = code;
        }

        public int code() {
            return code;
        }
    }

    /**
     * The letterboxed image and how to map its coordinates back: input pixel (x, y) lands at output
     * {@code (x·scale + offsetX, y·scale + offsetY)} (pixel-centre convention aside).
     *
     * @param image   the output, targetWidth × targetHeight × depth, same voxel type
     * @param scale   min(H/h, W/w)
     * @param offsetX left padding in pixels
     * @param offsetY top padding in pixels
     */
    public record Result(Image image, double scale, int offsetX, int offsetY) {
    }

    private Letterbox() {
    }

    /**
     * @param image         input, any size, 1 or 3 channels, UINT8, UINT16, INT16 or FLOAT32
     * @param targetWidth   W, pixels (≥ 1)
     * @param targetHeight  H, pixels (≥ 1)
     * @param padValue      constant written into the padding (stored-value units, saturated to the type)
     * @param interpolation resize interpolation
     * @throws IllegalArgumentException for INT8/INT32 input (not supported by cv::resize) or a non-positive target
     */
    public static Result apply(Image image, int targetWidth, int targetHeight, double padValue,
                               Interpolation interpolation) {
        if (targetWidth < 1 || targetHeight < 1) {
            throw new IllegalArgumentException("target size must be positive: " + targetWidth + " x " + targetHeight);
        }
        if (image.type() == VoxelType.INT8 || image.type() == VoxelType.INT32) {
            throw new IllegalArgumentException("letterbox supports uint8, uint16, int16 and float32 images, not "
                    + image.type().name().toLowerCase(java.util.Locale.ROOT));
        }
        int w = image.width();
        int h = image.height();
        double scale = Math.min((double) targetHeight / h, (double) targetWidth / w);
        int newH = Math.max(1, (int) Math.floor(h * scale));
        int newW = Math.max(1, (int) Math.floor(w * scale));
        int top = (targetHeight - newH) / 2;
        int left = (targetWidth - newW) / 2;
        OpenCv.load();
        Image out = image.blank(image.type(), targetWidth, targetHeight, image.depth());
        Scalar pad = Scalar.all(padValue);
        for (int z = 0; z < image.depth(); z++) {
            Mat src = OpenCv.slice(image, z);
            Mat resized = new Mat();
            Imgproc.resize(src, resized, new Size(newW, newH), 0, 0, interpolation.code());
            Mat padded = new Mat();
            Core.copyMakeBorder(resized, padded, top, targetHeight - newH - top, left, targetWidth - newW - left,
                    Core.BORDER_CONSTANT, pad);
            OpenCv.store(padded, out, z);
            src.release();
            resized.release();
            padded.release();
        }
        return new Result(out.withGeometry(geometry(image.geometry(), w, h, newW, newH, left, top)), scale, left,
                top);
    }

    /** Geometry of the output: spacing scaled by w/w', h/h'; origin at the world position of output (0, 0). */
    static Geometry geometry(Geometry g, int w, int h, int newW, int newH, int left, int top) {
        double[] s = g.spacing();
        double fx = (double) w / newW;
        double fy = (double) h / newH;
        // cv::resize maps output x' to input x = (x' + 0.5)·w/w' − 0.5; output pixel 0 sits at x' = −left.
        double srcX = (-left + 0.5) * fx - 0.5;
        double srcY = (-top + 0.5) * fy - 0.5;
        double[] o = g.origin();
        double[] ax = g.axis(0);
        double[] ay = g.axis(1);
        for (int r = 0; r < 3; r++) {
            o[r] += srcX * s[0] * ax[r] + srcY * s[1] * ay[r];
        }
        return new Geometry(new double[]{s[0] * fx, s[1] * fy, s[2]}, o, g.direction());
    }
}
