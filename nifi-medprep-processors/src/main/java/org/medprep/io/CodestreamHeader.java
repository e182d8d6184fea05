/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.io;

/**
 * The image size a compressed codestream declares in its own header, read without decoding: the JPEG frame header
 * (SOFn, ITU-T T.81 B.2.2; also JPEG-LS SOF55, T.87) or the JPEG 2000 image and tile size marker (SIZ, ITU-T T.800
 * A.5.1). A codec allocates from these numbers, not from the DICOM Rows and Columns, so they are checked before
 * a frame is handed to it.
 *
 * @param codec      "JPEG" or "JPEG 2000"
 * @param width      samples per line (JPEG X; J2K Xsiz − XOsiz)
 * @param height     lines (JPEG Y, 0 when a DNL marker defines it later; J2K Ysiz − YOsiz)
 * @param components number of components (JPEG Nf; J2K Csiz)
 * @param precision  bits per sample of the first component (JPEG P; J2K Ssiz + 1)
 * @param tiles      number of tiles (J2K: ⌈(Xsiz − XTOsiz) / XTsiz⌉ × ⌈(Ysiz − YTOsiz) / YTsiz⌉, 0 when a tile size
 *                   is 0; JPEG: 1)
 */
public record CodestreamHeader(String codec, long width, long height, int components, int precision, long tiles) {

    /** Most tiles a JPEG 2000 codestream may have: the tile index Isot is 0 to 65534 (T.800 A.4.2). */
    public static final long MAX_J2K_TILES = 65535;

    /**
     * True when the bytes at {@code offset} start a JPEG (SOI, FF D8) or JPEG 2000 (SOC then SIZ, FF 4F FF 51)
     * codestream, whether or not its frame header follows within {@code length}.
     */
    public static boolean starts(byte[] c, int offset, int length) {
        int end = (int) Math.min(c.length, (long) offset + length);
        if (end - offset < 2 || (c[offset] & 0xFF) != 0xFF) {
            return false;
        }
        int second = c[offset + 1] & 0xFF;
        return second == 0xD8 || second == 0x4F && end - offset >= 4 && (c[offset + 2] & 0xFF) == 0xFF
                && (c[offset + 3] & 0xFF) == 0x51;
    }

    /**
     * Reads the header of the codestream starting at {@code offset}.
     *
     * @return the declared size, or null when the bytes do not start a JPEG or JPEG 2000 codestream or end before
     *         its frame header
     */
    public static CodestreamHeader read(byte[] c, int offset, int length) {
        int end = (int) Math.min(c.length, (long) offset + length);
        if (end - offset < 4 || (c[offset] & 0xFF) != 0xFF) {
            return null;
        }
        int second = c[offset + 1] & 0xFF;
        if (second == 0x4F && (c[offset + 2] & 0xFF) == 0xFF && (c[offset + 3] & 0xFF) == 0x51) {
            return siz(c, offset + 4, end);
        }
        return second == 0xD8 ? sof(c, offset + 2, end) : null;
    }

    /** JPEG 2000 SIZ body after its marker: Lsiz, Rsiz, Xsiz, Ysiz, XOsiz, YOsiz, 4 tile values, Csiz, Ssiz... */
    private static CodestreamHeader siz(byte[] c, int p, int end) {
        if (p + 38 + 1 > end) {
            return null;
        }
        long x = u32(c, p + 4);
        long y = u32(c, p + 8);
        long xo = u32(c, p + 12);
        long yo = u32(c, p + 16);
        long xt = u32(c, p + 20);
        long yt = u32(c, p + 24);
        long xto = u32(c, p + 28);
        long yto = u32(c, p + 32);
        int components = u16(c, p + 36);
        int precision = (c[p + 38] & 0x7F) + 1;
        long tiles = xt == 0 || yt == 0 ? 0
                : Math.min(1L << 31, ceilDiv(Math.max(0, x - xto), xt))
                        * Math.min(1L << 31, ceilDiv(Math.max(0, y - yto), yt)); // capped: no overflow
        return new CodestreamHeader("JPEG 2000", Math.max(0, x - xo), Math.max(0, y - yo), components, precision,
                tiles);
    }

    /** Walks JPEG marker segments after SOI up to the first SOFn (or SOF55). */
    private static CodestreamHeader sof(byte[] c, int p, int end) {
        while (p + 4 <= end) {
            if ((c[p] & 0xFF) != 0xFF) {
                return null;
            }
            int marker = c[p + 1] & 0xFF;
            if (marker == 0xFF) {
                p++; // fill byte
                continue;
            }
            if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {
                p += 2; // no length
                continue;
            }
            if (marker == 0xD9 || marker == 0xDA) {
                return null; // end of image or scan data before any frame header
            }
            int len = u16(c, p + 2);
            boolean frameHeader = (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8
                    && marker != 0xCC) || marker == 0xF7;
            if (frameHeader) {
                if (p + 10 > end) {
                    return null;
                }
                int precision = c[p + 4] & 0xFF;
                int height = u16(c, p + 5);
                int width = u16(c, p + 7);
                int components = c[p + 9] & 0xFF;
                return new CodestreamHeader("JPEG", width, height, components, precision, 1);
            }
            if (len < 2) {
                return null;
            }
            p += 2 + len;
        }
        return null;
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }

    private static int u16(byte[] c, int i) {
        return (c[i] & 0xFF) << 8 | (c[i + 1] & 0xFF);
    }

    private static long u32(byte[] c, int i) {
        return ((long) u16(c, i) << 16) | u16(c, i + 2);
    }
}
