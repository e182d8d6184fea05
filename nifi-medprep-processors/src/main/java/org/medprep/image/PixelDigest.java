/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.image;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * SHA-256 of an image's samples serialized in its memory layout (C order of (z, y, x, channels)), little-endian,
 * each sample in its voxel type's width. For a DICOM image this equals
 * {@code hashlib.sha256(ds.pixel_array.astype('<' + dtype).tobytes())} in pydicom: same stored values, same
 * order, so identical pixels give identical digests whatever the file's encoding or header.
 */
public final class PixelDigest {

    private static final int CHUNK = 1 << 16;

    private PixelDigest() {
    }

    /** Lower-case hex SHA-256 of the samples. */
    public static String sha256(Image image) {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
        Object data = image.data();
        if (data instanceof byte[] b) {
            md.update(b);
        } else {
            int width = image.type().bytes();
            ByteBuffer buf = ByteBuffer.allocate(CHUNK * width).order(ByteOrder.LITTLE_ENDIAN);
            int n = image.size();
            for (int start = 0; start < n; start += CHUNK) {
                buf.clear();
                int end = Math.min(n, start + CHUNK);
                switch (data) {
                    case short[] s -> buf.asShortBuffer().put(s, start, end - start);
                    case int[] a -> buf.asIntBuffer().put(a, start, end - start);
                    case float[] f -> buf.asFloatBuffer().put(f, start, end - start);
                    default -> throw new IllegalStateException("unexpected array " + data.getClass());
                }
                md.update(buf.array(), 0, (end - start) * width);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
