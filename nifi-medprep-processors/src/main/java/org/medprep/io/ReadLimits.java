/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.io;

import java.util.Locale;

/**
 * Limits a reader enforces from the header <em>before</em> allocating pixel memory: the configured voxel limit,
 * what one Java array can hold, and what this JVM can give ({@link #availableBytes()}: {@code Runtime.maxMemory()}
 * minus a margin of a quarter of it, at least 64 MiB, kept for the rest of the node). A reader passes the bytes
 * per sample of the arrays it actually allocates (e.g. 4 for an {@code int[]} accumulator), so the check covers
 * the real cost of the decode, not only the declared voxel count. Every refusal is
 * {@link ImageReadException.Problem#TOO_LARGE} and names both numbers.
 *
 * @param maxVoxels largest accepted width·height·depth (channels not counted); a larger declared size gives
 *                  {@link ImageReadException.Problem#TOO_LARGE}
 */
public record ReadLimits(long maxVoxels) {

    /** 500 million voxels, ValidateImage's default. */
    public static final ReadLimits DEFAULT = new ReadLimits(500_000_000L);

    /** The smallest share of the heap never promised to one decode. */
    public static final long MIN_MARGIN_BYTES = 64L << 20;

    /** Bytes this JVM can give one decode: {@code maxMemory − max(64 MiB, maxMemory / 4)}. */
    public static long availableBytes() {
        long max = Runtime.getRuntime().maxMemory();
        return Math.max(0, max - Math.max(MIN_MARGIN_BYTES, max / 4));
    }

    /**
     * As {@link #check(long, long, long, long, long)} with one byte per sample (the least any decode needs).
     */
    public void check(long width, long height, long depth, long channels) throws ImageReadException {
        check(width, height, depth, channels, 1);
    }

    /**
     * Throws CORRUPT for an empty size, TOO_LARGE when {@code width·height·depth} exceeds the limit, when the
     * sample count (with channels) cannot fit one Java array, or when {@code samples × bytesPerSample} exceeds
     * {@link #availableBytes()}.
     */
    public void check(long width, long height, long depth, long channels, long bytesPerSample)
            throws ImageReadException {
        long samples = checkSize(width, height, depth, channels);
        checkMemory(samples * Math.max(1, bytesPerSample), "The header declares " + describe(width, height, depth));
    }

    /**
     * The size checks of {@link #check(long, long, long, long, long)} without the memory check (a reader that has
     * another check to make first, e.g. the bytes present); returns the sample count.
     */
    public long checkSize(long width, long height, long depth, long channels) throws ImageReadException {
        if (width < 1 || height < 1 || depth < 1 || channels < 1) {
            throw new ImageReadException(ImageReadException.Problem.CORRUPT,
                    "The header declares an empty image (" + width + " x " + height + " x " + depth + ").");
        }
        long voxels = width * height * depth;
        String size = describe(width, height, depth);
        if (voxels / depth / height != width || voxels > maxVoxels) {
            throw new ImageReadException(ImageReadException.Problem.TOO_LARGE,
                    "The header declares " + size + "; the limit is " + millions(maxVoxels) + ".");
        }
        long samples = voxels * channels;
        if (samples > org.medprep.image.Image.MAX_SAMPLES) {
            throw new ImageReadException(ImageReadException.Problem.TOO_LARGE, "The header declares " + size
                    + " with " + channels + " channels = " + millions(samples)
                    + " samples; one image holds at most " + millions(org.medprep.image.Image.MAX_SAMPLES) + ".");
        }
        return samples;
    }

    private static String describe(long width, long height, long depth) {
        return width + " x " + height + (depth > 1 ? " x " + depth : "") + " = " + millions(width * height * depth)
                + (depth > 1 ? " voxels" : " pixels");
    }

    /** Throws TOO_LARGE when {@code bytes} exceed {@link #availableBytes()}; {@code what} starts the sentence. */
    public static void checkMemory(long bytes, String what) throws ImageReadException {
        long available = availableBytes();
        if (bytes > available) {
            throw new ImageReadException(ImageReadException.Problem.TOO_LARGE,
                    what + "; decoding needs " + gb(bytes) + "; this JVM can give " + gb(available) + ".");
        }
    }

    /** "440 M" for 440 000 000, the exact count below ten million. */
    static String millions(long n) {
        return n < 10_000_000 ? Long.toString(n) : String.format(Locale.ROOT, "%d M", Math.round(n / 1e6));
    }

    /** "1.9 GB" (decimal), "0.19 GB". */
    static String gb(long bytes) {
        double g = bytes / 1e9;
        return String.format(Locale.ROOT, g >= 1 ? "%.1f GB" : "%.2f GB", g);
    }
}
