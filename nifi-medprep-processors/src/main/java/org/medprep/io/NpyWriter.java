/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import org.medprep.image.Image;

/**
 * Writes an {@link Image} as a NumPy {@code .npy} file, format version 1.0 (NumPy Enhancement Proposal 1,
 * "A simple file format for NumPy arrays").
 *
 * <p>Layout: the magic {@code \x93NUMPY}, version bytes 1 0, a little-endian uint16 header length, then the
 * header, a Python dict literal {@code {'descr': ..., 'fortran_order': False, 'shape': (...), }} padded with
 * spaces and ended by {@code '\n'} so that magic + header is a multiple of 64 bytes; then the samples, C order,
 * little-endian.
 *
 * <p>Shape: {@code (z, y, x)} when depth &gt; 1, {@code (y, x)} when depth = 1, with a trailing channel dimension
 * when channels &gt; 1 (e.g. {@code (y, x, 3)}); this is exactly the {@link Image} memory order, so
 * {@code np.load} gives {@code arr[z, y, x]}. dtype: UINT8 {@code |u1}, INT8 {@code |i1}, UINT16 {@code <u2},
 * INT16 {@code <i2}, INT32 {@code <i4}, FLOAT32 {@code <f4}. Only stored values are written: geometry and the
 * rescale slope/intercept are not part of the format (use NIfTI to keep them). The stream is not closed.
 */
public final class NpyWriter {

    private NpyWriter() {
    }

    /**
     * @param image the image to write
     * @param out   where the file bytes go (not closed)
     * @throws IOException when the stream fails
     */
    public static void write(Image image, OutputStream out) throws IOException {
        out.write(header(image));
        NiftiWriter.writeSamples(out, image.data(), image.type(), 0, image.size());
        out.flush();
    }

    /** NumPy dtype string of the image's voxel type. */
    static String descr(Image image) {
        return switch (image.type()) {
            case UINT8 -> "|u1";
            case INT8 -> "|i1";
            case UINT16 -> "<u2";
            case INT16 -> "<i2";
            case INT32 -> "<i4";
            case FLOAT32 -> "<f4";
        };
    }

    /** Magic, version, length and the padded header dict. */
    static byte[] header(Image image) {
        StringBuilder shape = new StringBuilder("(");
        if (image.depth() > 1) {
            shape.append(image.depth()).append(", ");
        }
        shape.append(image.height()).append(", ").append(image.width());
        if (image.channels() > 1) {
            shape.append(", ").append(image.channels());
        }
        shape.append(')');
        String dict = "{'descr': '" + descr(image) + "', 'fortran_order': False, 'shape': " + shape + ", }";
        int preamble = 10; // magic (6) + version (2) + header length (2)
        int total = preamble + dict.length() + 1;
        int padded = (total + 63) / 64 * 64;
        String header = dict + " ".repeat(padded - total) + "\n";
        byte[] h = header.getBytes(StandardCharsets.US_ASCII);
        byte[] out = new byte[preamble + h.length];
        out[0] = (byte) 0x93;
        System.arraycopy("NUMPY".getBytes(StandardCharsets.US_ASCII), 0, out, 1, 5);
        out[6] = 1;
        out[7] = 0;
        out[8] = (byte) (h.length & 0xFF);
        out[9] = (byte) (h.length >>> 8);
        System.arraycopy(h, 0, out, preamble, h.length);
        return out;
    }
}
