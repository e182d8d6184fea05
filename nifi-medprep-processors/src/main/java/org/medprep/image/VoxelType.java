/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.image;

/**
 * The storage type of one voxel sample. Every type maps to exactly one Java array type, which
 * {@link Image#data()} holds:
 * <ul>
 *   <li>{@link #UINT8}, {@link #INT8}: {@code byte[]} (UINT8 values are read as {@code b & 0xFF})</li>
 *   <li>{@link #UINT16}, {@link #INT16}: {@code short[]} (UINT16 values are read as {@code s & 0xFFFF})</li>
 *   <li>{@link #INT32}: {@code int[]}</li>
 *   <li>{@link #FLOAT32}: {@code float[]}</li>
 * </ul>
 */
public enum VoxelType {
    UINT8(1, false, true, 0, 255),
    INT8(1, true, true, -128, 127),
    UINT16(2, false, true, 0, 65535),
    INT16(2, true, true, -32768, 32767),
    INT32(4, true, true, Integer.MIN_VALUE, Integer.MAX_VALUE),
    FLOAT32(4, true, false, -Float.MAX_VALUE, Float.MAX_VALUE);

    private final int bytes;
    private final boolean signed;
    private final boolean integer;
    private final double min;
    private final double max;

    VoxelType(int bytes, boolean signed, boolean integer, double min, double max) {
        this.bytes = bytes;
        this.signed = signed;
        this.integer = integer;
        this.min = min;
        this.max = max;
    }

    /** Bytes per sample. */
    public int bytes() {
        return bytes;
    }

    /** True for the two's-complement integer types and float32. */
    public boolean signed() {
        return signed;
    }

    /** True for all types except {@link #FLOAT32}. */
    public boolean integer() {
        return integer;
    }

    /** Smallest representable value. */
    public double min() {
        return min;
    }

    /** Largest representable value. */
    public double max() {
        return max;
    }

    /** Allocates the backing array for {@code n} samples of this type. */
    Object allocate(int n) {
        return switch (this) {
            case UINT8, INT8 -> new byte[n];
            case UINT16, INT16 -> new short[n];
            case INT32 -> new int[n];
            case FLOAT32 -> new float[n];
        };
    }

    /** The integer type for DICOM-style stored samples of the given width and signedness (8 or 16 bits allocated; 32 → INT32). */
    public static VoxelType forStored(int bitsAllocated, boolean signed) {
        return switch (bitsAllocated) {
            case 8 -> signed ? INT8 : UINT8;
            case 16 -> signed ? INT16 : UINT16;
            case 32 -> INT32;
            default -> throw new IllegalArgumentException("unsupported BitsAllocated " + bitsAllocated);
        };
    }
}
