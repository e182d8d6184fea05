/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.io;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.util.Set;

/**
 * The File Meta Information Group Length (0002,0000) of a DICOM Part 10 file, checked against the meta elements
 * that really follow it (PS3.10 7.1: the meta information is always explicit VR little endian, group 0002, starting
 * after the 128-byte preamble and "DICM").
 *
 * <p>PixelMed trusts the declared length: with a value of 1 it stops reading the meta information after one element,
 * never sees the TransferSyntaxUID and guesses the transfer syntax (so JPEG data is read as Explicit VR Little Endian
 * and refused with a wrong reason); with a value past the real end it reads the data set as meta information, parses
 * encapsulated JPEG bytes as elements and allocates a garbage value length (1.6 GB, 3.8 s of page zeroing, measured on
 * pydicom's SC_rgb_jpeg_gdcm.dcm with 100000). pydicom and dcmtk read group 0002 up to the first element of another
 * group and only warn. {@link #open} does the same for PixelMed: it gives PixelMed the content with (0002,0000)
 * set to the length of the elements really present, so the file is read as its TransferSyntaxUID says.
 */
final class DicomMetaGroup {

    /** Offset of (0002,0000)'s tag: after the preamble (128) and "DICM" (4). */
    static final int GROUP_LENGTH_TAG = 132;
    /** Offset of its 4-byte value: tag (4), "UL" (2), length 4 (2). */
    static final int GROUP_LENGTH_VALUE = GROUP_LENGTH_TAG + 8;

    /** Explicit VRs with a 2-byte reserved field and a 4-byte length (PS3.5 7.1.2). */
    private static final Set<String> LONG_VRS = Set.of("OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN",
            "UR", "UT", "UV");

    private DicomMetaGroup() {
    }

    /**
     * The group length declared in (0002,0000), or -1 when the content is not a Part 10 file whose first meta
     * element is (0002,0000) UL with a 4-byte value.
     */
    static long declaredLength(byte[] c) {
        if (c.length < GROUP_LENGTH_VALUE + 4 || c[128] != 'D' || c[129] != 'I' || c[130] != 'C' || c[131] != 'M') {
            return -1;
        }
        int p = GROUP_LENGTH_TAG;
        if (u16(c, p) != 0x0002 || u16(c, p + 2) != 0x0000 || c[p + 4] != 'U' || c[p + 5] != 'L' || u16(c, p + 6) != 4) {
            return -1;
        }
        return u32(c, GROUP_LENGTH_VALUE);
    }

    /**
     * The bytes the group 0002 elements after (0002,0000) really take: walked element by element up to the first
     * element of another group or the end of the content. -1 when there is no (0002,0000) or an element cannot be
     * walked (a VR that is not two letters, a length running past the end, an undefined length).
     */
    static long actualLength(byte[] c) {
        if (declaredLength(c) < 0) {
            return -1;
        }
        int start = GROUP_LENGTH_VALUE + 4;
        long p = start;
        while (p + 8 <= c.length && u16(c, (int) p) == 0x0002) {
            int i = (int) p;
            char v0 = (char) (c[i + 4] & 0xFF);
            char v1 = (char) (c[i + 5] & 0xFF);
            if (v0 < 'A' || v0 > 'Z' || v1 < 'A' || v1 > 'Z') {
                return -1;
            }
            long next;
            if (LONG_VRS.contains("" + v0 + v1)) {
                if (p + 12 > c.length) {
                    return -1;
                }
                long len = u32(c, i + 8);
                if (len == 0xFFFFFFFFL) {
                    return -1;
                }
                next = p + 12 + len;
            } else {
                next = p + 8 + u16(c, i + 6);
            }
            if (next > c.length) {
                return -1;
            }
            p = next;
        }
        return p - start;
    }

    /**
     * The content as a stream for PixelMed: the same bytes, except that a (0002,0000) value disagreeing with
     * {@link #actualLength} reads as the actual length. Nothing is copied; mark, reset, skip and available behave as
     * for a {@link ByteArrayInputStream} over the content.
     */
    static InputStream open(byte[] content) {
        long declared = declaredLength(content);
        long actual = actualLength(content);
        if (declared < 0 || actual < 0 || declared == actual) {
            return new ByteArrayInputStream(content);
        }
        byte[] value = new byte[4];
        for (int k = 0; k < 4; k++) {
            value[k] = (byte) (actual >> (8 * k));
        }
        return new Patched(content, value);
    }

    /** A ByteArrayInputStream whose bytes at {@link #GROUP_LENGTH_VALUE} .. +3 read as {@code value}. */
    private static final class Patched extends ByteArrayInputStream {
        private final byte[] value;

        Patched(byte[] content, byte[] value) {
            super(content);
            this.value = value;
        }

        @Override
        public synchronized int read() {
            int at = pos;
            int b = super.read();
            return b >= 0 && at >= GROUP_LENGTH_VALUE && at < GROUP_LENGTH_VALUE + 4
                    ? value[at - GROUP_LENGTH_VALUE] & 0xFF : b;
        }

        @Override
        public synchronized int read(byte[] b, int off, int len) {
            int at = pos;
            int n = super.read(b, off, len);
            for (int i = Math.max(at, GROUP_LENGTH_VALUE); n > 0 && i < Math.min(at + n, GROUP_LENGTH_VALUE + 4); i++) {
                b[off + i - at] = value[i - GROUP_LENGTH_VALUE];
            }
            return n;
        }

        @Override
        public synchronized byte[] readAllBytes() {
            byte[] out = new byte[available()];
            int n = read(out, 0, out.length);
            return n == out.length ? out : java.util.Arrays.copyOf(out, Math.max(0, n));
        }

        @Override
        public synchronized long transferTo(java.io.OutputStream out) throws java.io.IOException {
            byte[] rest = readAllBytes();
            out.write(rest);
            return rest.length;
        }
    }

    private static int u16(byte[] c, int i) {
        return (c[i] & 0xFF) | (c[i + 1] & 0xFF) << 8;
    }

    private static long u32(byte[] c, int i) {
        return (c[i] & 0xFFL) | (c[i + 1] & 0xFFL) << 8 | (c[i + 2] & 0xFFL) << 16 | (c[i + 3] & 0xFFL) << 24;
    }
}
