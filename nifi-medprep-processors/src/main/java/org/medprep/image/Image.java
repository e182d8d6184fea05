/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.image;

import java.util.Objects;

/**
 * A voxel grid with its geometry and metadata: a 2D image is a volume of depth 1.
 *
 * <p><b>Memory layout.</b> One flat primitive array (type per {@link VoxelType}), x fastest, then channel
 * interleaved per voxel, then y, then z: the sample of channel c at voxel (x, y, z) is at
 * {@code index = ((z·height + y)·width + x)·channels + c}. That is C order of the shape
 * (z, y, x, channels), NumPy's and OpenCV's row-major layout, and NIfTI's on-disk order (i fastest).
 * Row y = 0 is the top row of a picture and the first DICOM row.
 *
 * <p>Sizes: width (x, columns), height (y, rows), depth (z, slices or frames), channels (1 grayscale, 3 RGB).
 * The sample count is limited to {@link #MAX_SAMPLES} (Java array bound); readers check declared sizes against
 * their limit before allocating.
 *
 * <p>Values are stored values (see {@link ImageMetadata} for the Modality LUT and MONOCHROME1 rule).
 */
public final class Image {

    /** Largest sample count one image can hold (a Java array's bound). */
    public static final long MAX_SAMPLES = Integer.MAX_VALUE - 8;

    private final VoxelType type;
    private final int width;
    private final int height;
    private final int depth;
    private final int channels;
    private final Object data;
    private final Geometry geometry;
    private final ImageMetadata metadata;

    /**
     * Wraps an existing array (not copied).
     *
     * @throws IllegalArgumentException if the array type or length does not match type and dimensions
     */
    public Image(VoxelType type, int width, int height, int depth, int channels, Object data, Geometry geometry,
                 ImageMetadata metadata) {
        if (width < 1 || height < 1 || depth < 1 || channels < 1) {
            throw new IllegalArgumentException("image dimensions must be positive: " + width + "x" + height + "x"
                    + depth + "x" + channels);
        }
        long n = sampleCount(width, height, depth, channels);
        if (n > MAX_SAMPLES) {
            throw new IllegalArgumentException("image of " + n + " samples exceeds " + MAX_SAMPLES);
        }
        int length = switch (type) {
            case UINT8, INT8 -> ((byte[]) data).length;
            case UINT16, INT16 -> ((short[]) data).length;
            case INT32 -> ((int[]) data).length;
            case FLOAT32 -> ((float[]) data).length;
        };
        if (length != n) {
            throw new IllegalArgumentException("array holds " + length + " samples, dimensions need " + n);
        }
        this.type = type;
        this.width = width;
        this.height = height;
        this.depth = depth;
        this.channels = channels;
        this.data = data;
        this.geometry = Objects.requireNonNull(geometry, "geometry");
        this.metadata = Objects.requireNonNull(metadata, "metadata");
    }

    /** A zero-filled image. */
    public static Image allocate(VoxelType type, int width, int height, int depth, int channels, Geometry geometry,
                                 ImageMetadata metadata) {
        long n = sampleCount(width, height, depth, channels);
        if (n > MAX_SAMPLES || n < 1) {
            throw new IllegalArgumentException("cannot allocate " + width + "x" + height + "x" + depth + "x"
                    + channels + " samples");
        }
        return new Image(type, width, height, depth, channels, type.allocate((int) n), geometry, metadata);
    }

    /** width·height·depth·channels as a long (no overflow). */
    public static long sampleCount(long width, long height, long depth, long channels) {
        return width * height * depth * channels;
    }

    public VoxelType type() {
        return type;
    }

    public int width() {
        return width;
    }

    public int height() {
        return height;
    }

    public int depth() {
        return depth;
    }

    public int channels() {
        return channels;
    }

    /** Number of samples: width·height·depth·channels. */
    public int size() {
        return width * height * depth * channels;
    }

    /** Samples in one z slice: width·height·channels. */
    public int sliceSize() {
        return width * height * channels;
    }

    /** The backing array (live, not a copy): byte[], short[], int[] or float[] per {@link #type()}. */
    public Object data() {
        return data;
    }

    public Geometry geometry() {
        return geometry;
    }

    public ImageMetadata metadata() {
        return metadata;
    }

    /** Flat index of (x, y, z, c) in the layout described above. */
    public int index(int x, int y, int z, int c) {
        return ((z * height + y) * width + x) * channels + c;
    }

    /** Sample {@code i} as a double, unsigned types read unsigned. */
    public double get(int i) {
        return switch (type) {
            case UINT8 -> ((byte[]) data)[i] & 0xFF;
            case INT8 -> ((byte[]) data)[i];
            case UINT16 -> ((short[]) data)[i] & 0xFFFF;
            case INT16 -> ((short[]) data)[i];
            case INT32 -> ((int[]) data)[i];
            case FLOAT32 -> ((float[]) data)[i];
        };
    }

    /**
     * Stores {@code v} at sample {@code i}: integer types round half away from zero and saturate to the
     * type's range (NaN stores 0); float32 stores the nearest float.
     */
    public void set(int i, double v) {
        switch (type) {
            case UINT8, INT8 -> ((byte[]) data)[i] = (byte) saturate(v);
            case UINT16, INT16 -> ((short[]) data)[i] = (short) saturate(v);
            case INT32 -> ((int[]) data)[i] = (int) saturate(v);
            case FLOAT32 -> ((float[]) data)[i] = (float) v;
        }
    }

    private long saturate(double v) {
        if (Double.isNaN(v)) {
            return 0;
        }
        double r = Math.rint(v) == v ? v : Math.signum(v) * Math.floor(Math.abs(v) + 0.5);
        return (long) Math.max(type.min(), Math.min(type.max(), r));
    }

    /** Same data, new geometry. */
    public Image withGeometry(Geometry g) {
        return new Image(type, width, height, depth, channels, data, g, metadata);
    }

    /** Same data, new metadata. */
    public Image withMetadata(ImageMetadata m) {
        return new Image(type, width, height, depth, channels, data, geometry, m);
    }

    /** A new image of this one's geometry and metadata but another type and size (zero-filled). */
    public Image blank(VoxelType newType, int newWidth, int newHeight, int newDepth) {
        return allocate(newType, newWidth, newHeight, newDepth, channels, geometry, metadata);
    }

    @Override
    public String toString() {
        return "Image[" + type + " " + width + "x" + height + "x" + depth + (channels > 1 ? "x" + channels : "")
                + ", " + metadata.format() + " " + metadata.modality() + "]";
    }
}
