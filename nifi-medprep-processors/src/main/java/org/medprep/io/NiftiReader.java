/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.io;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import org.medprep.image.Geometry;
import org.medprep.image.Image;
import org.medprep.image.ImageMetadata;
import org.medprep.image.VoxelType;

/**
 * Reads a single-file NIfTI-1 image ({@code .nii}, magic {@code "n+1"}), plain or gzip-compressed
 * ({@code .nii.gz}, recognized by the gzip magic {@code 1f 8b}, never by a file name), in either byte order
 * (detected from {@code sizeof_hdr = 348}). Follows the NIfTI-1 standard header ({@code nifti1.h}, NIfTI Data
 * Format Working Group, 2004).
 *
 * <p><b>Shape and order.</b> {@code dim[1..3]} become width (x, i), height (y, j), depth (z, k); a 2D file
 * ({@code dim[0] = 2}) gives depth 1. NIfTI stores i fastest, which is exactly the {@link Image} layout, so no
 * reordering happens. Channels:
 * <ul>
 *   <li>datatype RGB24 (128): 3 interleaved UINT8 channels (R, G, B);</li>
 *   <li>{@code dim[4] = 1} and {@code dim[5] > 1} (a vector image, as {@link NiftiWriter} writes multi-channel
 *       non-RGB images): {@code dim[5]} channels, planar on disk, interleaved in memory;</li>
 *   <li>{@code dim[4] > 1} (a time series, e.g. fMRI) or any {@code dim[6..7] > 1}: rejected as
 *       {@link ImageReadException.Problem#UNSUPPORTED} — the pipeline handles one 3D volume per FlowFile.</li>
 * </ul>
 *
 * <p><b>Types.</b> uint8, int8, uint16, int16, int32, float32 map to the {@link VoxelType} of the same name;
 * float64 is narrowed to FLOAT32 (nearest float); RGB24 as above. Other datatypes (uint32, int64, complex, ...)
 * give UNSUPPORTED naming the datatype. Values are the stored values; {@code scl_slope}/{@code scl_inter} go to
 * {@link ImageMetadata#rescaleSlope()}/{@link ImageMetadata#rescaleIntercept()} (slope 0 or not finite means no
 * scaling: slope 1, intercept 0; an intercept that is not finite means 0), so {@code physical = stored × slope + intercept}, as in NIfTI.
 *
 * <p><b>Metadata.</b> A {@code descrip} written by {@link NiftiWriter} restores modality, photometric
 * interpretation and BitsStored ({@link NiftiDescription}); other files get modality OT, MONOCHROME2 (RGB for
 * RGB24) and the type's bit width.
 *
 * <p><b>Geometry</b> (the NIfTI standard's methods, in order of preference): the sform affine when
 * {@code sform_code > 0}; otherwise the qform (quaternion {@code b, c, d}, {@code a = sqrt(1 − b² − c² − d²)},
 * {@code qfac = −1} when {@code pixdim[0] < 0}, offsets {@code qoffset_*}) when {@code qform_code > 0};
 * otherwise the pixdim scale only (origin 0, identity axes; note nibabel's fallback instead centres the image
 * and flips x, ANALYZE-style). Lengths are converted to mm from {@code xyzt_units} (metres ×1000, microns
 * ×0.001, unknown taken as mm). NIfTI world space is RAS; the model is LPS, so the x and y rows of the affine
 * are negated. The affine is then decomposed into spacing (column norms), direction (normalized columns) and
 * origin (last column). A sheared sform cannot be represented exactly: its normalized columns are kept as they
 * are. A degenerate affine (a zero or non-finite column) falls back to the pixdim scale.
 *
 * <p>Metadata: format "NIfTI", modality "OT", photometric MONOCHROME2 (RGB for RGB24), bitsStored 8/16/32 from
 * the type, signed per type. The header returned in {@link DecodedImage} is empty.
 *
 * <p>Errors: {@link ImageReadException.Problem#CORRUPT} for a bad header (size, magic, dim, a {@code pixdim} of an
 * axis longer than 1 not finite or outside {@link HeaderChecks}' plausible 0.0001 to 10000 mm), a {@code vox_offset}
 * inside the header, data shorter than declared or a damaged gzip stream;
 * {@link ImageReadException.Problem#TOO_LARGE} when the declared size exceeds {@link ReadLimits} (the voxel limit
 * and the memory this JVM can give for the arrays allocated), checked before any voxel memory is allocated (a gzip
 * stream is decompressed only up to the declared data size). An uncompressed file declaring more voxel bytes than
 * it holds is CORRUPT (truncated) before anything is allocated; so is a {@code .nii.gz} declaring more than
 * {@value #GZIP_COUNT_FIRST_BYTES} bytes (64 MiB) of voxel data, whose stream is inflated once without keeping the
 * bytes and counted first (a smaller one is found truncated while it is read);
 * {@link ImageReadException.Problem#UNSUPPORTED} for NIfTI-2, time series and unsupported datatypes.
 */
public final class NiftiReader {

    /** NIfTI-1 datatype codes (nifti1.h). */
    static final int DT_UINT8 = 2, DT_INT16 = 4, DT_INT32 = 8, DT_FLOAT32 = 16, DT_FLOAT64 = 64, DT_RGB24 = 128,
            DT_INT8 = 256, DT_UINT16 = 512;

    private static final int HEADER_SIZE = 348;
    private static final int CHUNK = 1 << 20;

    /**
     * A {@code .nii.gz} declaring more voxel bytes than this (64 MiB) is inflated once and counted before the voxel
     * array is allocated, so a header over a short stream is refused without allocating.
     */
    static final long GZIP_COUNT_FIRST_BYTES = 64L << 20;

    private NiftiReader() {
    }

    /**
     * @param content the whole {@code .nii} or {@code .nii.gz} file
     * @param limits  size limits, checked from the header before allocating
     * @return the image (stored values, LPS geometry) and an empty header map
     * @throws ImageReadException CORRUPT, TOO_LARGE or UNSUPPORTED as described in the class comment
     */
    public static DecodedImage read(byte[] content, ReadLimits limits) throws ImageReadException {
        boolean gzip = content.length >= 2 && (content[0] & 0xFF) == 0x1F && (content[1] & 0xFF) == 0x8B;
        try (InputStream in = gzip ? new GZIPInputStream(new ByteArrayInputStream(content), 1 << 16)
                : new ByteArrayInputStream(content)) {
            byte[] hb = in.readNBytes(HEADER_SIZE);
            if (hb.length < HEADER_SIZE) {
                throw corrupt("The NIfTI header is truncated (" + hb.length + " of 348 bytes).");
            }
            Header h = Header.parse(hb);
            int fileBytes = h.datatype == DT_FLOAT64 ? 8 : h.type.bytes();
            limits.checkSize(h.nx, h.ny, h.nz, h.channels);
            if (!gzip) {
                long samples = h.nx * h.ny * h.nz * h.channels; // each at most 32767: no overflow
                long declared = samples > Long.MAX_VALUE / 8 ? Long.MAX_VALUE : samples * fileBytes;
                long present = Math.max(0, content.length - h.voxOffset);
                if (declared > present) {
                    throw corrupt("The NIfTI voxel data is truncated: the header declares " + h.nx + " x " + h.ny
                            + " x " + h.nz + (h.channels > 1 ? " x " + h.channels : "") + " samples of "
                            + fileBytes + " bytes = " + declared + " bytes; the file holds " + present + ".");
                }
            }
            // the voxel array, plus a second one when planar channels are interleaved
            limits.check(h.nx, h.ny, h.nz, h.channels,
                    (long) h.type.bytes() * (h.channels > 1 && h.datatype != DT_RGB24 ? 2 : 1));
            long dataBytes = h.nx * h.ny * h.nz * h.channels * fileBytes; // passed the limits: no overflow
            if (gzip && dataBytes > GZIP_COUNT_FIRST_BYTES) {
                long inflated = inflatedBytes(content, h.voxOffset + dataBytes);
                if (inflated < h.voxOffset + dataBytes) {
                    throw corrupt("The NIfTI voxel data is truncated: the header declares " + h.nx + " x " + h.ny
                            + " x " + h.nz + (h.channels > 1 ? " x " + h.channels : "") + " samples of " + fileBytes
                            + " bytes = " + dataBytes + " bytes from offset " + h.voxOffset
                            + "; the gzip stream inflates to " + inflated + " bytes.");
                }
            }
            long toSkip = h.voxOffset - HEADER_SIZE;
            if (skip(in, toSkip) != toSkip) {
                throw corrupt("The NIfTI file ends before its voxel data offset " + h.voxOffset + ".");
            }
            Image image = readVoxels(in, h);
            return new DecodedImage(image, Map.of());
        } catch (IOException e) {
            throw corrupt("The NIfTI " + (gzip ? "gzip stream" : "file") + " cannot be read: "
                    + HeaderChecks.clean(e.getMessage()) + ".",
                    e);
        }
    }

    /**
     * Bytes the gzip content inflates to, counted in a 64 KiB buffer and not kept, stopping once {@code enough} are
     * reached. A damaged stream throws as it would while reading.
     */
    static long inflatedBytes(byte[] content, long enough) throws IOException {
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(content), 1 << 16)) {
            byte[] buf = new byte[1 << 16];
            long n = 0;
            while (n < enough) {
                int got = in.read(buf, 0, (int) Math.min(buf.length, enough - n));
                if (got < 0) {
                    break;
                }
                n += got;
            }
            return n;
        }
    }

    private static long skip(InputStream in, long n) throws IOException {
        byte[] buf = new byte[(int) Math.min(8192, Math.max(n, 1))];
        long done = 0;
        while (done < n) {
            int got = in.read(buf, 0, (int) Math.min(buf.length, n - done));
            if (got < 0) {
                break;
            }
            done += got;
        }
        return done;
    }

    private static Image readVoxels(InputStream in, Header h) throws IOException, ImageReadException {
        int voxels = (int) (h.nx * h.ny * h.nz);
        int samples = voxels * h.channels;
        VoxelType type = h.type;
        Object data = switch (type) {
            case UINT8, INT8 -> new byte[samples];
            case UINT16, INT16 -> new short[samples];
            case INT32 -> new int[samples];
            case FLOAT32 -> new float[samples];
        };
        int fileBytes = h.datatype == DT_FLOAT64 ? 8 : type.bytes();
        long total = (long) samples * fileBytes;
        if (data instanceof byte[] bytes) {   // 8-bit samples: straight into the image, no byte order to apply
            int got = in.readNBytes(bytes, 0, samples);
            if (got < samples) {
                throw corrupt("The NIfTI voxel data is truncated: " + got + " of " + total
                        + " declared bytes are present.");
            }
            return finish(data, h);
        }
        byte[] chunk = new byte[(int) Math.min(CHUNK, total)];
        long done = 0;
        int pos = 0;
        while (done < total) {
            int want = (int) Math.min(chunk.length, total - done);
            int got = in.readNBytes(chunk, 0, want);
            if (got < want) {
                throw corrupt("The NIfTI voxel data is truncated: " + (done + got) + " of " + total
                        + " declared bytes are present.");
            }
            ByteBuffer bb = ByteBuffer.wrap(chunk, 0, want).order(h.order);
            int n = want / fileBytes;
            switch (type) {
                case UINT8, INT8 -> bb.get((byte[]) data, pos, n);
                case UINT16, INT16 -> bb.asShortBuffer().get((short[]) data, pos, n);
                case INT32 -> bb.asIntBuffer().get((int[]) data, pos, n);
                case FLOAT32 -> {
                    if (h.datatype == DT_FLOAT64) {
                        float[] f = (float[]) data;
                        var db = bb.asDoubleBuffer();
                        for (int i = 0; i < n; i++) {
                            f[pos + i] = (float) db.get(i);
                        }
                    } else {
                        bb.asFloatBuffer().get((float[]) data, pos, n);
                    }
                }
            }
            pos += n;
            done += want;
        }
        return finish(data, h);
    }

    /** Channels interleaved as the Image layout wants them, metadata from the header and its descrip. */
    private static Image finish(Object data, Header h) {
        VoxelType type = h.type;
        int voxels = (int) (h.nx * h.ny * h.nz);
        if (h.channels > 1 && h.datatype != DT_RGB24) {
            data = interleave(data, type, voxels, h.channels);
        }
        boolean rgb = h.datatype == DT_RGB24;
        ImageMetadata md = new ImageMetadata("NIfTI", "OT", rgb ? "RGB" : "MONOCHROME2",
                type == VoxelType.FLOAT32 ? 32 : type.bytes() * 8, type.signed(), h.slope, h.inter,
                Double.NaN, Double.NaN, null, null, null);
        md = NiftiDescription.apply(h.descrip, md, type);
        return new Image(type, (int) h.nx, (int) h.ny, (int) h.nz, h.channels, data, h.geometry, md);
    }

    /** Planar (channel slowest, as NIfTI's dim[5]) to interleaved (channel fastest). */
    private static Object interleave(Object planar, VoxelType type, int voxels, int channels) {
        int n = voxels * channels;
        switch (type) {
            case UINT8, INT8 -> {
                byte[] p = (byte[]) planar;
                byte[] o = new byte[n];
                for (int c = 0; c < channels; c++) {
                    for (int v = 0, i = c * voxels; v < voxels; v++) {
                        o[v * channels + c] = p[i + v];
                    }
                }
                return o;
            }
            case UINT16, INT16 -> {
                short[] p = (short[]) planar;
                short[] o = new short[n];
                for (int c = 0; c < channels; c++) {
                    for (int v = 0, i = c * voxels; v < voxels; v++) {
                        o[v * channels + c] = p[i + v];
                    }
                }
                return o;
            }
            case INT32 -> {
                int[] p = (int[]) planar;
                int[] o = new int[n];
                for (int c = 0; c < channels; c++) {
                    for (int v = 0, i = c * voxels; v < voxels; v++) {
                        o[v * channels + c] = p[i + v];
                    }
                }
                return o;
            }
            default -> {
                float[] p = (float[]) planar;
                float[] o = new float[n];
                for (int c = 0; c < channels; c++) {
                    for (int v = 0, i = c * voxels; v < voxels; v++) {
                        o[v * channels + c] = p[i + v];
                    }
                }
                return o;
            }
        }
    }

    private static ImageReadException corrupt(String message) {
        return new ImageReadException(ImageReadException.Problem.CORRUPT, message);
    }

    private static ImageReadException corrupt(String message, Throwable cause) {
        return new ImageReadException(ImageReadException.Problem.CORRUPT, message, cause);
    }

    private static ImageReadException unsupported(String message) {
        return new ImageReadException(ImageReadException.Problem.UNSUPPORTED, message);
    }

    /** The parsed fields we use. */
    private record Header(ByteOrder order, long nx, long ny, long nz, int channels, int datatype, VoxelType type,
                          long voxOffset, double slope, double inter, Geometry geometry, byte[] descrip) {

        static Header parse(byte[] hb) throws ImageReadException {
            ByteBuffer b = ByteBuffer.wrap(hb).order(ByteOrder.LITTLE_ENDIAN);
            if (b.getInt(0) != HEADER_SIZE) {
                b.order(ByteOrder.BIG_ENDIAN);
                if (b.getInt(0) != HEADER_SIZE) {
                    if (b.order(ByteOrder.LITTLE_ENDIAN).getInt(0) == 540 || b.order(ByteOrder.BIG_ENDIAN).getInt(0) == 540) {
                        throw unsupported("The file is NIfTI-2, which is not supported (only NIfTI-1).");
                    }
                    throw corrupt("The content is not a NIfTI-1 image (sizeof_hdr is not 348).");
                }
            }
            if (hb[344] != 'n' || hb[345] != '+' || hb[346] != '1' || hb[347] != 0) {
                if (hb[344] == 'n' && hb[345] == 'i' && hb[346] == '1') {
                    throw unsupported("The file is a NIfTI-1 header with a separate .img data file (magic "
                            + "\"ni1\"); only single-file NIfTI (\"n+1\") is supported.");
                }
                throw corrupt("The NIfTI-1 magic \"n+1\" is missing.");
            }
            int ndim = b.getShort(40);
            if (ndim < 1 || ndim > 7) {
                throw corrupt("The NIfTI header declares " + ndim + " dimensions (dim[0] must be 1 to 7).");
            }
            long[] dim = new long[8];
            for (int i = 1; i <= 7; i++) {
                dim[i] = i <= ndim ? b.getShort(40 + 2 * i) : 1;
                if (dim[i] < 1) {
                    throw corrupt("The NIfTI header declares dim[" + i + "] = " + dim[i] + ".");
                }
            }
            int datatype = b.getShort(70);
            VoxelType type = switch (datatype) {
                case DT_UINT8, DT_RGB24 -> VoxelType.UINT8;
                case DT_INT8 -> VoxelType.INT8;
                case DT_UINT16 -> VoxelType.UINT16;
                case DT_INT16 -> VoxelType.INT16;
                case DT_INT32 -> VoxelType.INT32;
                case DT_FLOAT32, DT_FLOAT64 -> VoxelType.FLOAT32;
                default -> throw unsupported("The NIfTI datatype " + datatype + " (" + datatypeName(datatype)
                        + ") is not supported (uint8, int8, uint16, int16, int32, float32, float64, RGB24 are).");
            };
            if (dim[4] > 1) {
                throw unsupported("The NIfTI image is 4D with " + dim[4] + " time points; only single volumes "
                        + "are supported (split the series first).");
            }
            if (dim[6] > 1 || dim[7] > 1) {
                throw unsupported("The NIfTI image has more than five dimensions (dim[6] = " + dim[6]
                        + ", dim[7] = " + dim[7] + "); only single volumes are supported.");
            }
            if (datatype == DT_RGB24 && dim[5] > 1) {
                throw unsupported("An RGB24 NIfTI image with dim[5] = " + dim[5] + " is not supported.");
            }
            int channels = datatype == DT_RGB24 ? 3 : (int) dim[5];
            double voxOffsetF = b.getFloat(108);
            if (!(voxOffsetF >= HEADER_SIZE) || voxOffsetF > Integer.MAX_VALUE) {
                throw corrupt("The NIfTI vox_offset " + voxOffsetF + " lies inside the 348-byte header.");
            }
            double slope = b.getFloat(112);
            double inter = b.getFloat(116);
            if (slope == 0 || !Double.isFinite(slope)) {
                slope = 1; // the standard: scl_slope = 0 means no scaling, the intercept is ignored too
                inter = 0;
            }
            if (!Double.isFinite(inter)) {
                inter = 0;
            }
            for (int i = 1; i <= 3; i++) {
                if (dim[i] > 1) {   // a singleton axis's pixdim is often 0 and unused
                    HeaderChecks.spacing("NIfTI pixdim[" + i + "]", Math.abs(b.getFloat(76 + 4 * i)) * unitScale(b));
                }
            }
            Geometry g = geometry(b, dim);
            return new Header(b.order(), dim[1], dim[2], dim[3], channels, datatype, type, (long) voxOffsetF,
                    slope, inter, g, java.util.Arrays.copyOfRange(hb, 148, 148 + NiftiDescription.LENGTH));
        }

        /** mm per length unit of xyzt_units (metres, mm, microns; unknown taken as mm). */
        private static double unitScale(ByteBuffer b) {
            return switch (b.get(123) & 0x07) {
                case 1 -> 1000.0;
                case 3 -> 0.001;
                default -> 1.0;
            };
        }

        /**
         * The sform, else the qform, else the pixdim scale; a column of the affine that is zero or not finite falls
         * back to the pixdim scale, and a finite one of an axis longer than 1 must be a plausible spacing
         * ({@link HeaderChecks#spacing}: CORRUPT).
         */
        private static Geometry geometry(ByteBuffer b, long[] dim) throws ImageReadException {
            double unit = unitScale(b);
            double[] pixdim = new double[8];
            for (int i = 0; i < 8; i++) {
                pixdim[i] = b.getFloat(76 + 4 * i);
            }
            int qformCode = b.getShort(252);
            int sformCode = b.getShort(254);
            double[][] ras = null;
            if (sformCode > 0) {
                ras = new double[3][4];
                for (int r = 0; r < 3; r++) {
                    for (int c = 0; c < 4; c++) {
                        ras[r][c] = b.getFloat(280 + 16 * r + 4 * c);
                    }
                }
            } else if (qformCode > 0) {
                ras = qformAffine(b, pixdim);
            }
            double[] scale = new double[3];
            for (int i = 0; i < 3; i++) {
                double p = Math.abs(pixdim[i + 1]);
                scale[i] = (p > 0 && Double.isFinite(p) ? p : 1) * unit;
            }
            Geometry fallback = new Geometry(scale, new double[3], new double[]{1, 0, 0, 0, 1, 0, 0, 0, 1});
            if (ras == null) {
                return fallback;
            }
            double[] spacing = new double[3];
            double[] origin = new double[3];
            double[] dir = new double[9];
            for (int c = 0; c < 3; c++) {
                double norm = 0;
                for (int r = 0; r < 3; r++) {
                    norm += ras[r][c] * ras[r][c];
                }
                norm = Math.sqrt(norm);
                if (!(norm > 0) || !Double.isFinite(norm)) {
                    return fallback;
                }
                spacing[c] = norm * unit;
                if (dim[c + 1] > 1) {
                    HeaderChecks.spacing("NIfTI " + (sformCode > 0 ? "sform" : "qform") + " column " + (c + 1)
                            + " length (voxel size)", spacing[c]);
                }
                for (int r = 0; r < 3; r++) {
                    double sign = r < 2 ? -1 : 1; // RAS -> LPS
                    dir[3 * c + r] = sign * ras[r][c] / norm + 0.0; // + 0.0: no negative zero
                }
            }
            for (int r = 0; r < 3; r++) {
                origin[r] = (r < 2 ? -1 : 1) * ras[r][3] * unit + 0.0;
                if (!Double.isFinite(origin[r])) {
                    return fallback;
                }
            }
            return new Geometry(spacing, origin, dir);
        }

        /** The qform (method 2) voxel-to-RAS affine, 3 rows of 4, in the file's length unit. */
        private static double[][] qformAffine(ByteBuffer b, double[] pixdim) {
            double qb = b.getFloat(256);
            double qc = b.getFloat(260);
            double qd = b.getFloat(264);
            double w2 = 1.0 - (qb * qb + qc * qc + qd * qd);
            double qa;
            if (w2 < 1e-7) {
                // (b, c, d) is (numerically) a unit vector: a 180 degree rotation, a = 0
                double n = Math.sqrt(qb * qb + qc * qc + qd * qd);
                qb /= n;
                qc /= n;
                qd /= n;
                qa = 0;
            } else {
                qa = Math.sqrt(w2);
            }
            double[][] rot = {
                    {qa * qa + qb * qb - qc * qc - qd * qd, 2 * (qb * qc - qa * qd), 2 * (qb * qd + qa * qc)},
                    {2 * (qb * qc + qa * qd), qa * qa + qc * qc - qb * qb - qd * qd, 2 * (qc * qd - qa * qb)},
                    {2 * (qb * qd - qa * qc), 2 * (qc * qd + qa * qb), qa * qa + qd * qd - qc * qc - qb * qb}};
            double qfac = pixdim[0] < 0 ? -1 : 1;
            double[] zooms = new double[3];
            for (int i = 0; i < 3; i++) {
                double p = Math.abs(pixdim[i + 1]);
                zooms[i] = p > 0 && Double.isFinite(p) ? p : 1;
            }
            zooms[2] *= qfac;
            double[][] m = new double[3][4];
            for (int r = 0; r < 3; r++) {
                for (int c = 0; c < 3; c++) {
                    m[r][c] = rot[r][c] * zooms[c];
                }
                m[r][3] = b.getFloat(268 + 4 * r);
            }
            return m;
        }

        private static String datatypeName(int dt) {
            return switch (dt) {
                case 0 -> "unknown";
                case 1 -> "binary";
                case 32 -> "complex64";
                case 256 + 512 -> "uint32";
                case 1024 -> "int64";
                case 1280 -> "uint64";
                case 1536 -> "float128";
                case 1792 -> "complex128";
                case 2048 -> "complex256";
                case 2304 -> "RGBA32";
                default -> "code " + dt;
            };
        }
    }
}
