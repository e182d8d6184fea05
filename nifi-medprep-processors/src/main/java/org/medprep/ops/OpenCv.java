/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.ops;

import java.lang.reflect.Array;
import java.util.Arrays;
import org.medprep.image.Image;
import org.medprep.image.VoxelType;
import org.opencv.core.CvType;
import org.opencv.core.Mat;

/**
 * Bridge between {@link Image} slices and OpenCV {@link Mat}s (openpnp's OpenCV 4.9 build). The native library is
 * loaded once per JVM (class loader) on first use. A slice z of an image is a rows × cols Mat of the same depth
 * (CV_8U, CV_8S, CV_16U, CV_16S, CV_32S, CV_32F) with {@code channels} channels; data is copied, not shared.
 */
public final class OpenCv {

    static {
        nu.pattern.OpenCV.loadLocally();
    }

    private OpenCv() {
    }

    /** Ensures the native library is loaded (idempotent). */
    public static void load() {
        // the static initializer did it
    }

    /** OpenCV depth code of a voxel type. */
    public static int depth(VoxelType type) {
        return switch (type) {
            case UINT8 -> CvType.CV_8U;
            case INT8 -> CvType.CV_8S;
            case UINT16 -> CvType.CV_16U;
            case INT16 -> CvType.CV_16S;
            case INT32 -> CvType.CV_32S;
            case FLOAT32 -> CvType.CV_32F;
        };
    }

    /** Copies slice {@code z} of {@code image} into a new Mat (height rows, width columns). */
    public static Mat slice(Image image, int z) {
        Mat m = new Mat(image.height(), image.width(), CvType.makeType(depth(image.type()), image.channels()));
        int offset = z * image.sliceSize();
        int n = image.sliceSize();
        switch (image.data()) {
            case byte[] b -> m.put(0, 0, b, offset, n);
            case short[] s -> m.put(0, 0, n == s.length ? s : Arrays.copyOfRange(s, offset, offset + n));
            case int[] a -> m.put(0, 0, n == a.length ? a : Arrays.copyOfRange(a, offset, offset + n));
            case float[] f -> m.put(0, 0, n == f.length ? f : Arrays.copyOfRange(f, offset, offset + n));
            default -> throw new IllegalStateException("unexpected array " + image.data().getClass());
        }
        return m;
    }

    /**
     * Copies {@code m} into slice {@code z} of {@code image}; the Mat must have the image's width, height,
     * channel count and depth.
     *
     * @throws IllegalArgumentException when the Mat does not match the image
     */
    public static void store(Mat m, Image image, int z) {
        if (m.rows() != image.height() || m.cols() != image.width() || m.channels() != image.channels()
                || m.depth() != depth(image.type())) {
            throw new IllegalArgumentException("Mat " + m + " does not match " + image);
        }
        Mat c = m.isContinuous() ? m : m.clone();
        Object volume = image.data();
        int n = image.sliceSize();
        // Mat.get has no offset form for these types: read into a slice-sized array unless the image is one slice.
        Object slice = n == Array.getLength(volume) ? volume
                : Array.newInstance(volume.getClass().getComponentType(), n);
        switch (slice) {
            case byte[] b -> c.get(0, 0, b);
            case short[] s -> c.get(0, 0, s);
            case int[] a -> c.get(0, 0, a);
            case float[] f -> c.get(0, 0, f);
            default -> throw new IllegalStateException("unexpected array " + volume.getClass());
        }
        if (slice != volume) {
            System.arraycopy(slice, 0, volume, z * n, n);
        }
    }
}
