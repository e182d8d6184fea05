/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.corpus;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;

/**
 * NIfTI-1 header mutations on an uncompressed .nii: length fields (sizeof_hdr, vox_offset, a dim, the extension
 * flag and size) and header fields set to extremes (dim, pixdim, datatype, bitpix, scl_slope/inter, qform/sform
 * codes and parameters, srow, magic, xyzt_units).
 */
final class NiftiMutations {

    private static final double[] FLOATS = {0, -0.0, -1, Double.NaN, Double.POSITIVE_INFINITY,
            Double.NEGATIVE_INFINITY, 1e-30, 1e-5, 1e-4, 1e4, 1e5, 1e30, Float.MIN_VALUE, 3.4e38};
    private static final int[] DIMS = {-32768, -1, 0, 1, 2, 3, 4, 5, 7, 8, 9, 255, 22000, 32767};
    private static final int[] DATATYPES = {0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 768, 1024, 1280, 1536, 1792,
            2048, 2304, 255, -1, 3};
    private static final int[] BITPIX = {0, 1, 7, 8, 16, 24, 32, 33, 64, 255, -8};
    private static final int[] CODES = {0, 1, 2, 3, 4, 5, -1, 255, 32767};

    private NiftiMutations() {
    }

    /** One of the header's length fields set to a suspicious value. */
    static Change lengthField(byte[] b, SplittableRandom r) {
        byte[] c = b.clone();
        ByteBuffer bb = order(c);
        return switch (r.nextInt(5)) {
            case 0 -> {
                long v = ByteMutations.lengthValue(r, 348, 4, b.length);
                bb.putInt(0, (int) v);
                yield new Change(c, "sizeof_hdr = " + (int) v);
            }
            case 1 -> {
                double[] v = {0, 1, 347, 348, 351, 353, 356, b.length, b.length + 1, 1e9, -352, Double.NaN,
                        Double.POSITIVE_INFINITY, 352.5, 2147483648.0, r.nextInt(b.length)};
                double x = ByteMutations.pick(r, v);
                bb.putFloat(108, (float) x);
                yield new Change(c, "vox_offset = " + (float) x);
            }
            case 2, 3 -> {
                int i = 1 + r.nextInt(4);
                int old = bb.getShort(40 + 2 * i);
                int v = (int) ByteMutations.lengthValue(r, old, 2, b.length);
                bb.putShort(40 + 2 * i, (short) v);
                yield new Change(c, "dim[" + i + "] " + old + " -> " + (short) v);
            }
            default -> {
                if (c.length < 352) {
                    yield null;
                }
                c[348] = (byte) (r.nextBoolean() ? 1 : r.nextInt(256));
                byte[] longer = new byte[c.length + 8];
                System.arraycopy(c, 0, longer, 0, 352);
                System.arraycopy(c, 352, longer, 360, c.length - 352);
                ByteBuffer lb = order(longer);
                int esize = (int) ByteMutations.lengthValue(r, 8, 4, longer.length);
                lb.putInt(352, esize).putInt(356, r.nextInt(3) == 0 ? 40 : 6);
                if (r.nextBoolean()) {
                    lb.putFloat(108, lb.getFloat(108) + 8);
                }
                yield new Change(longer, "extension flag " + c[348] + " with esize " + esize);
            }
        };
    }

    /** One header field set to an extreme. */
    static Change headerExtreme(byte[] b, SplittableRandom r) {
        byte[] c = b.clone();
        ByteBuffer bb = order(c);
        switch (r.nextInt(11)) {
            case 0, 1 -> {
                int i = r.nextInt(8);
                int v = ByteMutations.pick(r, DIMS);
                bb.putShort(40 + 2 * i, (short) v);
                return new Change(c, "dim[" + i + "] = " + v);
            }
            case 2, 3 -> {
                int i = r.nextInt(5);
                double v = ByteMutations.pick(r, FLOATS);
                bb.putFloat(76 + 4 * i, (float) v);
                return new Change(c, "pixdim[" + i + "] = " + (float) v);
            }
            case 4 -> {
                int v = ByteMutations.pick(r, DATATYPES);
                bb.putShort(70, (short) v);
                if (r.nextBoolean()) {
                    bb.putShort(72, (short) ByteMutations.pick(r, BITPIX));
                }
                return new Change(c, "datatype = " + v + ", bitpix " + bb.getShort(72));
            }
            case 5 -> {
                int v = ByteMutations.pick(r, BITPIX);
                bb.putShort(72, (short) v);
                return new Change(c, "bitpix = " + v);
            }
            case 6 -> {
                int at = r.nextBoolean() ? 112 : 116;
                double v = ByteMutations.pick(r, FLOATS);
                bb.putFloat(at, (float) v);
                return new Change(c, (at == 112 ? "scl_slope" : "scl_inter") + " = " + (float) v);
            }
            case 7 -> {
                int at = r.nextBoolean() ? 252 : 254;
                int v = ByteMutations.pick(r, CODES);
                bb.putShort(at, (short) v);
                return new Change(c, (at == 252 ? "qform_code" : "sform_code") + " = " + v);
            }
            case 8 -> {
                int i = r.nextInt(6);
                double v = ByteMutations.pick(r, FLOATS);
                bb.putFloat(256 + 4 * i, (float) v);
                bb.putShort(252, (short) 1);
                return new Change(c, "quatern/qoffset[" + i + "] = " + (float) v + " with qform_code 1");
            }
            case 9 -> {
                boolean all = r.nextBoolean();
                double v = ByteMutations.pick(r, FLOATS);
                int first = r.nextInt(12);
                for (int i = 0; i < 12; i++) {
                    if (all || i == first) {
                        bb.putFloat(280 + 4 * i, (float) v);
                    }
                }
                bb.putShort(254, (short) 1);
                return new Change(c, (all ? "every srow value" : "srow[" + first + "]") + " = " + (float) v
                        + " with sform_code 1");
            }
            default -> {
                if (r.nextBoolean()) {
                    String[] magic = {"ni1\0", "nx1\0", "\0\0\0\0", "n+2\0", "n+1x"};
                    String m = ByteMutations.pick(r, magic);
                    for (int i = 0; i < 4; i++) {
                        c[344 + i] = (byte) m.charAt(i);
                    }
                    return new Change(c, "magic = " + DicomMutations.esc(m));
                }
                c[123] = (byte) r.nextInt(256);
                return new Change(c, "xyzt_units = " + (c[123] & 0xFF));
            }
        }
    }

    /** The header's byte order, from sizeof_hdr (348). */
    private static ByteBuffer order(byte[] c) {
        ByteBuffer bb = ByteBuffer.wrap(c).order(ByteOrder.LITTLE_ENDIAN);
        if (bb.getInt(0) != 348) {
            bb.order(ByteOrder.BIG_ENDIAN);
        }
        return bb;
    }
}
