/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.io;

/**
 * Limits a reader enforces from the header <em>before</em> allocating pixel memory.
 *
 * @param maxVoxels largest accepted width·height·depth (channels not counted); a larger declared size gives
 *                  {@link ImageReadException.Problem#TOO_LARGE}
 */
public record ReadLimits(long maxVoxels) {

    /** 500 million voxels, ValidateImage's default. */
    public static final ReadLimits DEFAULT = new ReadLimits(500_000_000L);

    /**
     * Throws TOO_LARGE when {@code width·height·depth} exceeds the limit or when the sample count
     * (with channels and the given bytes per sample) cannot fit one Java array.
     */
    public void check(long width, long height, long depth, long channels) throws ImageReadException {
        if (width < 1 || height < 1 || depth < 1 || channels < 1) {
            throw new ImageReadException(ImageReadException.Problem.CORRUPT,
                    "The header declares an empty image (" + width + " x " + height + " x " + depth + ").");
        }
        long voxels = width * height * depth;
        if (voxels / depth / height != width || voxels > maxVoxels) {
            throw new ImageReadException(ImageReadException.Problem.TOO_LARGE,
                    "The header declares " + width + " x " + height + " x " + depth + " = " + voxels
                            + " voxels, more than the limit of " + maxVoxels + ".");
        }
        if (voxels * channels > org.medprep.image.Image.MAX_SAMPLES) {
            throw new ImageReadException(ImageReadException.Problem.TOO_LARGE,
                    "The header declares " + voxels * channels + " samples, more than one image can hold.");
        }
    }
}
