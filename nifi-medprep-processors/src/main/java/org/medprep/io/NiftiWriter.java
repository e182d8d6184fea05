/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.zip.GZIPOutputStream;
import org.medprep.image.Geometry;
import org.medprep.image.Image;
import org.medprep.image.VoxelType;

/**
 * Writes an {@link Image} as a single-file NIfTI-1 image ({@code .nii}), optionally gzip-compressed
 * ({@code .nii.gz}), following the NIfTI-1 standard header ({@code nifti1.h}).
 *
 * <p><b>Layout.</b> Little-endian; a 348-byte header, then 4 zero extension bytes (no extensions), so
 * {@code vox_offset = 352}; then the voxels in the {@link Image} order (x fastest, then y, then z), which is
 * NIfTI's on-disk order. {@code dim[0] = 3} always: a 2D image is written as {@code nx × ny × 1}.
 * Channels: a 3-channel UINT8 image is written as datatype RGB24 (interleaved R, G, B, as NIfTI specifies);
 * any other multi-channel image as a vector image ({@code dim[0] = 5}, {@code dim[4] = 1},
 * {@code dim[5] = channels}, {@code intent_code = 1007} NIFTI_INTENT_VECTOR), channel planes one after the other
 * as NIfTI orders them. {@link NiftiReader} reads both back.
 *
 * <p><b>Types.</b> UINT8 → uint8 (2), INT8 → int8 (256), UINT16 → uint16 (512), INT16 → int16 (4),
 * INT32 → int32 (8), FLOAT32 → float32 (16).
 *
 * <p><b>Geometry.</b> {@code pixdim[1..3]} = spacing (mm), {@code xyzt_units = 2} (mm, time unit unknown).
 * The model's LPS affine ({@link Geometry#affineLps()}) with its x and y rows negated gives the RAS affine NIfTI
 * requires; it is stored as the sform ({@code sform_code = 1}, scanner) and, as a quaternion, as the qform
 * ({@code qform_code = 1}): for an improper rotation (negative determinant) the third column is negated and
 * {@code qfac = pixdim[0] = −1}. Header fields are float32, so geometry survives to about 7 significant digits
 * (1e-5 mm for an origin near 100 mm).
 *
 * <p><b>Values.</b> Stored values are written unchanged; {@code scl_slope}/{@code scl_inter} carry the metadata's
 * rescale slope/intercept, so the physical values (e.g. Hounsfield units) survive. {@code cal_min/cal_max} are
 * 0; {@code descrip} carries modality, photometric interpretation, BitsStored and signedness
 * ({@link NiftiDescription}), which NiftiReader restores. The output stream is not closed (a gzip stream is finished).
 *
 * <p>Errors: {@link IllegalArgumentException} when an axis or the channel count exceeds 32767 (NIfTI-1 stores
 * dimensions as signed 16-bit); {@link IOException} from the stream.
 */
public final class NiftiWriter {

    static final int HEADER_BYTES = 352;
    private static final int CHUNK = 1 << 20;
    private static final int INTENT_VECTOR = 1007;

    private NiftiWriter() {
    }

    /**
     * @param image the image to write
     * @param out   where the file bytes go (not closed)
     * @param gzip  true for {@code .nii.gz}
     * @throws IllegalArgumentException when a dimension exceeds NIfTI-1's 32767
     * @throws IOException              when the stream fails
     */
    public static void write(Image image, OutputStream out, boolean gzip) throws IOException {
        checkDimensions(image);
        if (gzip) {
            GZIPOutputStream gz = new GZIPOutputStream(new NonClosing(out), 1 << 16);
            writeNifti(image, gz);
            gz.finish();
            gz.flush();
        } else {
            writeNifti(image, out);
        }
    }

    private static void checkDimensions(Image image) {
        if (image.width() > Short.MAX_VALUE || image.height() > Short.MAX_VALUE
                || image.depth() > Short.MAX_VALUE || image.channels() > Short.MAX_VALUE) {
            throw new IllegalArgumentException("NIfTI-1 output is limited to 32767 voxels per axis and 32767 "
                    + "channels, but this image is " + image + ".");
        }
    }

    private static void writeNifti(Image image, OutputStream out) throws IOException {
        boolean rgb = image.type() == VoxelType.UINT8 && image.channels() == 3;
        boolean vector = image.channels() > 1 && !rgb;
        out.write(header(image, rgb, vector));
        if (!vector) {
            writeSamples(out, image.data(), image.type(), 0, image.size());
        } else {
            writePlanes(out, image);
        }
        out.flush();
    }

    /** The 352-byte header (348 + 4 zero extension bytes). */
    static byte[] header(Image image, boolean rgb, boolean vector) {
        ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0, 348);
        b.put(38, (byte) 'r');
        checkDimensions(image);
        short[] dim = {3, (short) image.width(), (short) image.height(), (short) image.depth(), 1, 1, 1, 1};
        if (vector) {
            dim[0] = 5;
            dim[5] = (short) image.channels();
            b.putShort(68, (short) INTENT_VECTOR);
        }
        for (int i = 0; i < 8; i++) {
            b.putShort(40 + 2 * i, dim[i]);
        }
        int datatype;
        int bitpix;
        if (rgb) {
            datatype = NiftiReader.DT_RGB24;
            bitpix = 24;
        } else {
            datatype = switch (image.type()) {
                case UINT8 -> NiftiReader.DT_UINT8;
                case INT8 -> NiftiReader.DT_INT8;
                case UINT16 -> NiftiReader.DT_UINT16;
                case INT16 -> NiftiReader.DT_INT16;
                case INT32 -> NiftiReader.DT_INT32;
                case FLOAT32 -> NiftiReader.DT_FLOAT32;
            };
            bitpix = 8 * image.type().bytes();
        }
        b.putShort(70, (short) datatype);
        b.putShort(72, (short) bitpix);

        Geometry g = image.geometry();
        double[][] lps = g.affineLps();
        double[][] ras = new double[3][4];
        for (int r = 0; r < 3; r++) {
            for (int c = 0; c < 4; c++) {
                ras[r][c] = (r < 2 ? -1 : 1) * lps[r][c];
            }
        }
        // rotation: the RAS unit axes as columns
        double[] dir = g.direction();
        double[][] rot = new double[3][3];
        for (int c = 0; c < 3; c++) {
            for (int r = 0; r < 3; r++) {
                rot[r][c] = (r < 2 ? -1 : 1) * dir[3 * c + r];
            }
        }
        double qfac = det(rot) < 0 ? -1 : 1;
        if (qfac < 0) {
            for (int r = 0; r < 3; r++) {
                rot[r][2] = -rot[r][2];
            }
        }
        double[] q = quaternion(rot);
        double[] spacing = g.spacing();
        float[] pixdim = {(float) qfac, (float) spacing[0], (float) spacing[1], (float) spacing[2], 1, 1, 1, 1};
        for (int i = 0; i < 8; i++) {
            b.putFloat(76 + 4 * i, pixdim[i]);
        }
        b.putFloat(108, HEADER_BYTES);
        b.putFloat(112, (float) image.metadata().rescaleSlope());
        b.putFloat(116, (float) image.metadata().rescaleIntercept());
        b.put(123, (byte) 2); // NIFTI_UNITS_MM, time unknown
        b.put(148, NiftiDescription.format(image.metadata()));
        b.putShort(252, (short) 1); // qform_code NIFTI_XFORM_SCANNER_ANAT
        b.putShort(254, (short) 1); // sform_code
        b.putFloat(256, (float) q[1]);
        b.putFloat(260, (float) q[2]);
        b.putFloat(264, (float) q[3]);
        for (int r = 0; r < 3; r++) {
            b.putFloat(268 + 4 * r, (float) ras[r][3]);
        }
        for (int r = 0; r < 3; r++) {
            for (int c = 0; c < 4; c++) {
                b.putFloat(280 + 16 * r + 4 * c, (float) ras[r][c]);
            }
        }
        b.put(344, (byte) 'n').put(345, (byte) '+').put(346, (byte) '1').put(347, (byte) 0);
        return b.array();
    }

    private static double det(double[][] m) {
        return m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
                - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
                + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    }

    /** Unit quaternion (a, b, c, d), a ≥ 0, of a proper rotation matrix. */
    static double[] quaternion(double[][] r) {
        double a;
        double b;
        double c;
        double d;
        double trace = r[0][0] + r[1][1] + r[2][2];
        if (trace > 0) {
            double s = 0.5 / Math.sqrt(trace + 1);
            a = 0.25 / s;
            b = (r[2][1] - r[1][2]) * s;
            c = (r[0][2] - r[2][0]) * s;
            d = (r[1][0] - r[0][1]) * s;
        } else if (r[0][0] > r[1][1] && r[0][0] > r[2][2]) {
            double s = 2 * Math.sqrt(1 + r[0][0] - r[1][1] - r[2][2]);
            a = (r[2][1] - r[1][2]) / s;
            b = 0.25 * s;
            c = (r[0][1] + r[1][0]) / s;
            d = (r[0][2] + r[2][0]) / s;
        } else if (r[1][1] > r[2][2]) {
            double s = 2 * Math.sqrt(1 + r[1][1] - r[0][0] - r[2][2]);
            a = (r[0][2] - r[2][0]) / s;
            b = (r[0][1] + r[1][0]) / s;
            c = 0.25 * s;
            d = (r[1][2] + r[2][1]) / s;
        } else {
            double s = 2 * Math.sqrt(1 + r[2][2] - r[0][0] - r[1][1]);
            a = (r[1][0] - r[0][1]) / s;
            b = (r[0][2] + r[2][0]) / s;
            c = (r[1][2] + r[2][1]) / s;
            d = 0.25 * s;
        }
        double n = Math.sqrt(a * a + b * b + c * c + d * d);
        double sign = a < 0 ? -1 : 1;
        return new double[]{sign * a / n, sign * b / n, sign * c / n, sign * d / n};
    }

    /** Writes samples [from, from + count) of a typed array little-endian. */
    static void writeSamples(OutputStream out, Object data, VoxelType type, int from, int count) throws IOException {
        if (data instanceof byte[] b) {
            out.write(b, from, count);
            return;
        }
        int bytes = type.bytes();
        ByteBuffer bb = ByteBuffer.allocate((int) Math.min(CHUNK, (long) count * bytes)).order(ByteOrder.LITTLE_ENDIAN);
        int per = bb.capacity() / bytes;
        int pos = from;
        int end = from + count;
        while (pos < end) {
            int n = Math.min(per, end - pos);
            bb.clear();
            switch (type) {
                case UINT8, INT8 -> bb.put((byte[]) data, pos, n);
                case UINT16, INT16 -> bb.asShortBuffer().put((short[]) data, pos, n);
                case INT32 -> bb.asIntBuffer().put((int[]) data, pos, n);
                case FLOAT32 -> bb.asFloatBuffer().put((float[]) data, pos, n);
            }
            out.write(bb.array(), 0, n * bytes);
            pos += n;
        }
    }

    /** Channel planes one after the other (NIfTI dim[5] order). */
    private static void writePlanes(OutputStream out, Image image) throws IOException {
        int channels = image.channels();
        int voxels = image.size() / channels;
        int bytes = image.type().bytes();
        ByteBuffer bb = ByteBuffer.allocate(Math.min(CHUNK, voxels * bytes)).order(ByteOrder.LITTLE_ENDIAN);
        Object data = image.data();
        for (int c = 0; c < channels; c++) {
            bb.clear();
            for (int v = 0; v < voxels; v++) {
                if (bb.remaining() < bytes) {
                    out.write(bb.array(), 0, bb.position());
                    bb.clear();
                }
                int i = v * channels + c;
                switch (image.type()) {
                    case UINT8, INT8 -> bb.put(((byte[]) data)[i]);
                    case UINT16, INT16 -> bb.putShort(((short[]) data)[i]);
                    case INT32 -> bb.putInt(((int[]) data)[i]);
                    case FLOAT32 -> bb.putFloat(((float[]) data)[i]);
                }
            }
            out.write(bb.array(), 0, bb.position());
        }
    }

    /** Keeps GZIPOutputStream from closing the caller's stream. */
    private static final class NonClosing extends java.io.FilterOutputStream {
        NonClosing(OutputStream out) {
            super(out);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
        }

        @Override
        public void close() throws IOException {
            flush();
        }
    }
}
