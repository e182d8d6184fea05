/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.corpus;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.zip.CRC32;

/**
 * PNG, JPEG and TIFF mutations that follow the format's structure: PNG chunk lengths and IHDR fields (CRC
 * recomputed three times in four, so the value reaches the decoder), JPEG segment lengths and SOF/DQT/DHT/SOS
 * fields, TIFF IFD counts, strip offsets/byte counts and tag values.
 */
final class PictureMutations {

    private static final long[] PNG_DIMS = {0, 1, 2, 22000, 65535, 65536, 0x7FFFFFFFL, 0x80000000L, 0xFFFFFFFFL};

    private PictureMutations() {
    }

    // ---------------------------------------------------------------- PNG

    /** Offsets of each chunk's length field (the chunk starts there). */
    private static List<Integer> pngChunks(byte[] b) {
        List<Integer> chunks = new ArrayList<>();
        int p = 8;
        while (p + 12 <= b.length) {
            chunks.add(p);
            long len = ByteBuffer.wrap(b, p, 4).getInt() & 0xFFFFFFFFL;
            p += 12 + (int) Math.min(len, b.length);
        }
        return chunks;
    }

    static Change pngLength(byte[] b, SplittableRandom r) {
        List<Integer> chunks = pngChunks(b);
        int at = chunks.get(r.nextInt(chunks.size()));
        byte[] c = b.clone();
        ByteBuffer bb = ByteBuffer.wrap(c);
        long old = bb.getInt(at) & 0xFFFFFFFFL;
        long v = ByteMutations.lengthValue(r, old, 4, b.length);
        bb.putInt(at, (int) v);
        return new Change(c, "length of chunk " + type(b, at) + " " + old + " -> " + v);
    }

    static Change pngHeader(byte[] b, SplittableRandom r) {
        byte[] c = b.clone();
        ByteBuffer bb = ByteBuffer.wrap(c);
        String what;
        int f = r.nextInt(6);
        if (f < 2) {
            long v = PNG_DIMS[r.nextInt(PNG_DIMS.length)];
            bb.putInt(16 + 4 * f, (int) v);
            if (r.nextInt(3) == 0) {
                bb.putInt(20 - 4 * f, (int) PNG_DIMS[r.nextInt(PNG_DIMS.length)]);
            }
            what = "IHDR width x height = " + (bb.getInt(16) & 0xFFFFFFFFL) + " x " + (bb.getInt(20) & 0xFFFFFFFFL);
        } else {
            int[] at = {24, 25, 26, 27, 28};
            String[] names = {"bit depth", "color type", "compression", "filter", "interlace"};
            int i = r.nextInt(at.length);
            int[] values = {0, 1, 2, 3, 4, 5, 6, 7, 8, 16, 32, 255};
            int v = ByteMutations.pick(r, values);
            c[at[i]] = (byte) v;
            what = "IHDR " + names[i] + " = " + v;
        }
        if (r.nextInt(4) != 0) {
            fixCrc(c, 8);
            what += " (CRC fixed)";
        }
        return new Change(c, what);
    }

    /** Bit flips inside one chunk's data with its CRC recomputed, so the damage reaches zlib or the decoder. */
    static Change pngDataFlip(byte[] b, SplittableRandom r) {
        List<Integer> chunks = pngChunks(b);
        int at = chunks.get(r.nextInt(chunks.size()));
        int len = ByteBuffer.wrap(b, at, 4).getInt();
        if (len <= 0 || at + 12 + len > b.length) {
            return ByteMutations.flip(b, r);
        }
        Change f = ByteMutations.flip(b, r, at + 8, at + 8 + len);
        fixCrc(f.bytes(), at);
        return new Change(f.bytes(), f.what() + " in chunk " + type(b, at) + " (CRC fixed)");
    }

    private static void fixCrc(byte[] c, int chunk) {
        int len = ByteBuffer.wrap(c, chunk, 4).getInt();
        if (len < 0 || chunk + 12L + len > c.length) {
            return;
        }
        CRC32 crc = new CRC32();
        crc.update(c, chunk + 4, 4 + len);
        ByteBuffer.wrap(c).putInt(chunk + 8 + len, (int) crc.getValue());
    }

    private static String type(byte[] b, int at) {
        return new String(b, at + 4, 4, java.nio.charset.StandardCharsets.ISO_8859_1).replaceAll("[^A-Za-z]", "?");
    }

    // ---------------------------------------------------------------- JPEG

    /** Offsets of the markers (0xFF) of segments with a length, up to and including SOS. */
    private static List<Integer> jpegSegments(byte[] b) {
        List<Integer> segs = new ArrayList<>();
        int p = 2;
        while (p + 4 <= b.length && (b[p] & 0xFF) == 0xFF) {
            int m = b[p + 1] & 0xFF;
            if (m == 0xD8 || (m >= 0xD0 && m <= 0xD7) || m == 0x01 || m == 0xFF) {
                p += m == 0xFF ? 1 : 2;
                continue;
            }
            segs.add(p);
            if (m == 0xDA) {
                break;
            }
            p += 2 + ((b[p + 2] & 0xFF) << 8 | b[p + 3] & 0xFF);
        }
        return segs;
    }

    static Change jpegLength(byte[] b, SplittableRandom r) {
        List<Integer> segs = jpegSegments(b);
        int at = segs.get(r.nextInt(segs.size()));
        byte[] c = b.clone();
        int old = (c[at + 2] & 0xFF) << 8 | c[at + 3] & 0xFF;
        int v = (int) ByteMutations.lengthValue(r, old, 2, b.length);
        c[at + 2] = (byte) (v >> 8);
        c[at + 3] = (byte) v;
        return new Change(c, String.format("length of segment FF%02X %d -> %d", b[at + 1] & 0xFF, old, v));
    }

    static Change jpegHeader(byte[] b, SplittableRandom r) {
        List<Integer> segs = jpegSegments(b);
        byte[] c = b.clone();
        int sof = -1;
        int sos = -1;
        List<Integer> tables = new ArrayList<>();
        for (int s : segs) {
            int m = b[s + 1] & 0xFF;
            if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC && sof < 0) {
                sof = s;
            } else if (m == 0xDA) {
                sos = s;
            } else if (m == 0xDB || m == 0xC4) {
                tables.add(s);
            }
        }
        int f = r.nextInt(10);
        if (f < 5 && sof >= 0) {
            int[] dims = {0, 1, 2, 7, 8, 9, 16, 17, 4096, 20000, 22000, 32767, 65500, 65535};
            int h = r.nextInt(3) == 0 ? (c[sof + 5] & 0xFF) << 8 | c[sof + 6] & 0xFF : ByteMutations.pick(r, dims);
            int w = r.nextInt(3) == 0 ? (c[sof + 7] & 0xFF) << 8 | c[sof + 8] & 0xFF : ByteMutations.pick(r, dims);
            ByteBuffer.wrap(c).putShort(sof + 5, (short) h).putShort(sof + 7, (short) w);
            return new Change(c, "SOF height x width = " + h + " x " + w);
        }
        if (f < 8 && sof >= 0) {
            int n = c[sof + 9] & 0xFF;
            switch (r.nextInt(4)) {
                case 0 -> {
                    int v = ByteMutations.pick(r, new int[]{0, 1, 2, 7, 12, 16, 17, 255});
                    c[sof + 4] = (byte) v;
                    return new Change(c, "SOF precision = " + v);
                }
                case 1 -> {
                    int v = ByteMutations.pick(r, new int[]{0, 1, 2, 4, 5, 255});
                    c[sof + 9] = (byte) v;
                    return new Change(c, "SOF components = " + v + " (was " + n + ")");
                }
                case 2 -> {
                    int comp = r.nextInt(Math.max(1, n));
                    int v = ByteMutations.pick(r, new int[]{0x00, 0x01, 0x10, 0x44, 0x55, 0xFF, 0x41, 0x14});
                    c[sof + 11 + 3 * comp] = (byte) v;
                    return new Change(c, String.format("SOF sampling of component %d = 0x%02X", comp, v));
                }
                default -> {
                    int comp = r.nextInt(Math.max(1, n));
                    int v = ByteMutations.pick(r, new int[]{1, 3, 4, 15, 255});
                    c[sof + 12 + 3 * comp] = (byte) v;
                    return new Change(c, "SOF quantization table of component " + comp + " = " + v);
                }
            }
        }
        if (f == 8 && !tables.isEmpty()) {
            int t = tables.get(r.nextInt(tables.size()));
            int v = ByteMutations.pick(r, new int[]{0x04, 0x10, 0x13, 0x1F, 0xF0, 0xFF, 0x20});
            c[t + 4] = (byte) v;
            if ((b[t + 1] & 0xFF) == 0xC4 && r.nextBoolean()) {
                for (int i = 0; i < 16 && t + 5 + i < c.length; i++) {
                    c[t + 5 + i] = (byte) 0xFF;
                }
                return new Change(c, "DHT class/id byte = " + v + ", every code count 255");
            }
            return new Change(c, String.format("FF%02X table id byte = 0x%02X", b[t + 1] & 0xFF, v));
        }
        if (sos >= 0) {
            int v = ByteMutations.pick(r, new int[]{0, 2, 4, 5, 255});
            c[sos + 4] = (byte) v;
            return new Change(c, "SOS component count = " + v);
        }
        return null;
    }

    // ---------------------------------------------------------------- TIFF

    private record Ifd(ByteBuffer bb, int at, int count) {
    }

    private static Ifd ifd(byte[] c) {
        ByteBuffer bb = ByteBuffer.wrap(c).order(c[0] == 'I' ? ByteOrder.LITTLE_ENDIAN : ByteOrder.BIG_ENDIAN);
        int at = bb.getInt(4);
        return new Ifd(bb, at, bb.getShort(at) & 0xFFFF);
    }

    /** The entry of {@code tag} in the first IFD, or -1. */
    private static int entry(Ifd d, int tag) {
        for (int k = 0; k < d.count; k++) {
            int e = d.at + 2 + 12 * k;
            if ((d.bb.getShort(e) & 0xFFFF) == tag) {
                return e;
            }
        }
        return -1;
    }

    /** Sets every value of an entry (inline or at its offset) to {@code v}. */
    private static void setValues(Ifd d, int e, long v) {
        int type = d.bb.getShort(e + 2);
        long count = d.bb.getInt(e + 4) & 0xFFFFFFFFL;
        int size = type == 3 ? 2 : 4;
        int at = count * size <= 4 ? e + 8 : d.bb.getInt(e + 8);
        for (long i = 0; i < Math.min(count, 64); i++) {
            int p = (int) (at + i * size);
            if (p < 0 || p + size > d.bb.capacity()) {
                return;
            }
            if (size == 2) {
                d.bb.putShort(p, (short) v);
            } else {
                d.bb.putInt(p, (int) v);
            }
        }
    }

    static Change tiffLength(byte[] b, SplittableRandom r) {
        byte[] c = b.clone();
        Ifd d = ifd(c);
        int f = r.nextInt(6);
        if (f == 0) {
            int v = (int) ByteMutations.lengthValue(r, d.count, 2, b.length);
            d.bb.putShort(d.at, (short) v);
            return new Change(c, "IFD entry count " + d.count + " -> " + v);
        }
        if (f == 1) {
            long v = ByteMutations.lengthValue(r, d.at, 4, b.length);
            d.bb.putInt(4, (int) v);
            return new Change(c, "first IFD offset " + d.at + " -> " + v);
        }
        if (f == 2) {
            int e = d.at + 2 + 12 * r.nextInt(d.count);
            long old = d.bb.getInt(e + 4) & 0xFFFFFFFFL;
            long v = ByteMutations.lengthValue(r, old, 4, b.length);
            d.bb.putInt(e + 4, (int) v);
            return new Change(c, "value count of tag " + (d.bb.getShort(e) & 0xFFFF) + " " + old + " -> " + v);
        }
        int tag = f == 3 ? 273 : 279;
        int e = entry(d, tag);
        if (e < 0) {
            return null;
        }
        long v = ByteMutations.lengthValue(r, 1000, 4, b.length);
        setValues(d, e, v);
        return new Change(c, (tag == 273 ? "StripOffsets" : "StripByteCounts") + " = " + v);
    }

    static Change tiffHeader(byte[] b, SplittableRandom r) {
        int[] tags = {256, 257, 258, 259, 262, 277, 278, 284, 339, 317, 296};
        String[] names = {"ImageWidth", "ImageLength", "BitsPerSample", "Compression", "PhotometricInterpretation",
                "SamplesPerPixel", "RowsPerStrip", "PlanarConfiguration", "SampleFormat", "Predictor",
                "ResolutionUnit"};
        long[] values = {0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 24, 32, 33, 64, 255, 32773, 22000, 65535, 0x7FFFFFFFL,
                0xFFFFFFFFL};
        byte[] c = b.clone();
        Ifd d = ifd(c);
        int i = r.nextInt(tags.length);
        int e = entry(d, tags[i]);
        if (e < 0) {
            return null;
        }
        long v = values[r.nextInt(values.length)];
        setValues(d, e, v);
        return new Change(c, names[i] + " = " + v);
    }
}
