/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.corpus;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * A minimal DICOM Part 10 element walker and editor for the corpus: it finds where each element's tag, length field
 * and value are (meta group in explicit VR little endian, the data set in the transfer syntax the meta group names),
 * and rewrites values in place or by splicing. It reads only what a mutation needs; it is not a DICOM parser for
 * production.
 */
final class DicomElements {

    /** VRs whose explicit encoding has two reserved bytes and a 4-byte length. */
    private static final Set<String> LONG_VR = Set.of("OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN",
            "UR", "UT", "UV");
    private static final int UNDEFINED = -1;

    /**
     * One element as found in the bytes: its tag, VR ("" when implicit), where its tag starts, where its length
     * field is and how wide, where its value starts, its declared length (-1: undefined), its nesting depth.
     */
    record Element(int tag, String vr, int start, int lengthAt, int lengthSize, int valueAt, int length, int depth,
                   boolean meta) {
        int group() {
            return tag >>> 16;
        }
    }

    final byte[] bytes;
    final boolean explicit;
    final boolean bigEndian;
    final List<Element> elements = new ArrayList<>();

    private DicomElements(byte[] bytes, boolean explicit, boolean bigEndian) {
        this.bytes = bytes;
        this.explicit = explicit;
        this.bigEndian = bigEndian;
    }

    /** Walks a Part 10 file (preamble and "DICM"); the data set's encoding comes from (0002,0010). */
    static DicomElements parse(byte[] bytes) {
        if (bytes.length < 132 || bytes[128] != 'D' || bytes[129] != 'I' || bytes[130] != 'C' || bytes[131] != 'M') {
            throw new IllegalArgumentException("not a DICOM Part 10 file");
        }
        DicomElements meta = new DicomElements(bytes, true, false);
        int pos = 132;
        String ts = "1.2.840.10008.1.2.1";
        while (pos + 8 <= bytes.length && meta.u16(pos, false) == 0x0002) {
            pos = meta.walk(pos, bytes.length, 0, true);
            Element e = meta.elements.get(meta.elements.size() - 1);
            if (e.tag == 0x00020010) {
                ts = new String(bytes, e.valueAt, e.length, StandardCharsets.US_ASCII).replace("\0", "").strip();
            }
        }
        boolean explicit = !ts.equals("1.2.840.10008.1.2");
        boolean big = ts.equals("1.2.840.10008.1.2.2");
        DicomElements all = new DicomElements(bytes, explicit, big);
        all.elements.addAll(meta.elements);
        while (pos + 8 <= bytes.length) {
            pos = all.walk(pos, bytes.length, 0, false);
        }
        return all;
    }

    /** Reads the element at {@code pos} (and what it nests), records it, returns where the next one starts. */
    private int walk(int pos, int end, int depth, boolean metaGroup) {
        boolean be = bigEndian && !metaGroup;
        int group = u16(pos, be);
        int element = u16(pos + 2, be);
        int tag = group << 16 | element;
        String vr = "";
        int lengthAt;
        int lengthSize;
        int valueAt;
        boolean item = group == 0xFFFE;
        if (item || !(explicit || metaGroup)) {
            lengthAt = pos + 4;
            lengthSize = 4;
            valueAt = pos + 8;
        } else {
            vr = new String(bytes, pos + 4, 2, StandardCharsets.US_ASCII);
            if (LONG_VR.contains(vr)) {
                lengthAt = pos + 8;
                lengthSize = 4;
                valueAt = pos + 12;
            } else {
                lengthAt = pos + 6;
                lengthSize = 2;
                valueAt = pos + 8;
            }
        }
        if (valueAt > end) {
            return end;
        }
        long raw = lengthSize == 2 ? u16(lengthAt, be) : u32(lengthAt, be);
        int length = raw == 0xFFFFFFFFL ? UNDEFINED : (int) Math.min(raw, Integer.MAX_VALUE);
        elements.add(new Element(tag, vr, pos, lengthAt, lengthSize, valueAt, length, depth, metaGroup));
        boolean sequence = vr.equals("SQ") || (!explicit && length == UNDEFINED && !item && tag != 0x7FE00010);
        if (length == UNDEFINED) {
            int p = valueAt;
            while (p + 8 <= end) {
                int g = u16(p, be);
                int el = u16(p + 2, be);
                if (g == 0xFFFE && (el == 0xE0DD || el == 0xE00D)) {
                    elements.add(new Element(0xFFFE0000 | el, "", p, p + 4, 4, p + 8, 0, depth + 1, metaGroup));
                    return p + 8;
                }
                if (tag == 0x7FE00010 || (!sequence && !item)) {
                    // encapsulated pixel data fragments: skip by length
                    long fl = u32(p + 4, be);
                    elements.add(new Element(g << 16 | el, "", p, p + 4, 4, p + 8, (int) Math.min(fl,
                            Integer.MAX_VALUE), depth + 1, metaGroup));
                    p = (int) Math.min(end, p + 8 + fl);
                } else {
                    p = walk(p, end, depth + 1, metaGroup);
                }
            }
            return end;
        }
        long next = (long) valueAt + length;
        if ((sequence || item) && length > 0) {
            int p = valueAt;
            int stop = (int) Math.min(end, next);
            while (p + 8 <= stop) {
                p = walk(p, stop, depth + 1, metaGroup);
            }
        }
        return (int) Math.min(end, next);
    }

    /** The first element with this tag at the top level (depth 0), or null. */
    Element find(int tag) {
        for (Element e : elements) {
            if (e.tag == tag && e.depth == 0) {
                return e;
            }
        }
        return null;
    }

    /** Top-level, defined-length elements whose value an edit may replace. */
    List<Element> topLevel() {
        List<Element> out = new ArrayList<>();
        for (Element e : elements) {
            if (e.depth == 0) {
                out.add(e);
            }
        }
        return out;
    }

    /** A copy with the element's length field set to {@code value} (truncated to the field's width). */
    byte[] withLengthField(Element e, long value) {
        byte[] b = bytes.clone();
        ByteBuffer bb = ByteBuffer.wrap(b).order(order(e));
        if (e.lengthSize == 2) {
            bb.putShort(e.lengthAt, (short) value);
        } else {
            bb.putInt(e.lengthAt, (int) value);
        }
        return b;
    }

    /** A copy with a 2-byte (US/SS) value of the element set; null if the element's value is not 2 bytes wide. */
    byte[] withUs(int tag, int value) {
        Element e = find(tag);
        if (e == null || e.length < 2) {
            return null;
        }
        byte[] b = bytes.clone();
        ByteBuffer.wrap(b).order(order(e)).putShort(e.valueAt, (short) value);
        return b;
    }

    /** A copy with a 4-byte (UL) value of the element set; null if absent. */
    byte[] withUl(int tag, long value) {
        Element e = find(tag);
        if (e == null || e.length < 4) {
            return null;
        }
        byte[] b = bytes.clone();
        ByteBuffer.wrap(b).order(order(e)).putInt(e.valueAt, (int) value);
        return b;
    }

    /**
     * A copy with the top-level element {@code tag} holding {@code value} (inserted in tag order when absent),
     * its length field and, in the meta group, (0002,0000) updated. {@code vr} is used when inserting.
     */
    byte[] withValue(int tag, String vr, byte[] value) {
        Element e = find(tag);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int delta;
        boolean meta;
        if (e != null) {
            if (e.length == UNDEFINED || e.lengthSize == 2 && value.length > 0xFFFF) {
                return null;
            }
            meta = e.meta;
            out.write(bytes, 0, e.valueAt);
            out.write(value, 0, value.length);
            out.write(bytes, e.valueAt + e.length, Math.max(0, bytes.length - e.valueAt - e.length));
            delta = value.length - e.length;
            byte[] b = out.toByteArray();
            ByteBuffer bb = ByteBuffer.wrap(b).order(order(e));
            if (e.lengthSize == 2) {
                bb.putShort(e.lengthAt, (short) value.length);
            } else {
                bb.putInt(e.lengthAt, value.length);
            }
            return meta ? fixMetaLength(b, delta) : b;
        }
        meta = (tag >>> 16) == 0x0002;
        int at = -1;
        for (Element x : elements) {
            if (x.depth == 0 && x.meta == meta && Integer.compareUnsigned(x.tag, tag) > 0) {
                at = x.start;
                break;
            }
        }
        if (at < 0) {
            return null;
        }
        byte[] element = encode(tag, vr, value, meta);
        out.write(bytes, 0, at);
        out.write(element, 0, element.length);
        out.write(bytes, at, bytes.length - at);
        byte[] b = out.toByteArray();
        return meta ? fixMetaLength(b, element.length) : b;
    }

    /** A copy without the top-level element {@code tag}; null if absent. */
    byte[] without(int tag) {
        Element e = find(tag);
        if (e == null || e.length == UNDEFINED) {
            return null;
        }
        int end = (int) Math.min(bytes.length, (long) e.valueAt + e.length);
        byte[] b = new byte[bytes.length - (end - e.start)];
        System.arraycopy(bytes, 0, b, 0, e.start);
        System.arraycopy(bytes, end, b, e.start, bytes.length - end);
        return e.meta ? fixMetaLength(b, -(end - e.start)) : b;
    }

    private byte[] encode(int tag, String vr, byte[] value, boolean meta) {
        boolean be = bigEndian && !meta;
        boolean exp = explicit || meta;
        boolean longVr = LONG_VR.contains(vr);
        int header = !exp ? 8 : longVr ? 12 : 8;
        ByteBuffer bb = ByteBuffer.allocate(header + value.length).order(be ? ByteOrder.BIG_ENDIAN
                : ByteOrder.LITTLE_ENDIAN);
        bb.putShort((short) (tag >>> 16)).putShort((short) tag);
        if (!exp) {
            bb.putInt(value.length);
        } else if (longVr) {
            bb.put(vr.getBytes(StandardCharsets.US_ASCII)).putShort((short) 0).putInt(value.length);
        } else {
            bb.put(vr.getBytes(StandardCharsets.US_ASCII)).putShort((short) value.length);
        }
        bb.put(value);
        return bb.array();
    }

    /** (0002,0000) group length adjusted by {@code delta} bytes, if the file has one. */
    private static byte[] fixMetaLength(byte[] b, int delta) {
        if (b.length >= 144 && b[132] == 0x02 && b[133] == 0 && b[134] == 0 && b[135] == 0 && b[136] == 'U'
                && b[137] == 'L') {
            ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
            bb.putInt(140, bb.getInt(140) + delta);
        }
        return b;
    }

    /** A text value padded to even length with a space, as DICOM stores it. */
    static byte[] text(String s) {
        byte[] v = s.getBytes(StandardCharsets.ISO_8859_1);
        return v.length % 2 == 0 ? v : Arrays.copyOf(v, v.length + 1);
    }

    /** A UID value padded to even length with NUL. */
    static byte[] uid(String s) {
        byte[] v = s.getBytes(StandardCharsets.ISO_8859_1);
        if (v.length % 2 == 0) {
            return v;
        }
        byte[] p = Arrays.copyOf(v, v.length + 1);
        p[v.length] = 0;
        return p;
    }

    private ByteOrder order(Element e) {
        return bigEndian && !e.meta ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
    }

    private int u16(int pos, boolean be) {
        if (pos + 2 > bytes.length) {
            return -1;
        }
        return be ? (bytes[pos] & 0xFF) << 8 | bytes[pos + 1] & 0xFF : bytes[pos] & 0xFF | (bytes[pos + 1] & 0xFF) << 8;
    }

    private long u32(int pos, boolean be) {
        if (pos + 4 > bytes.length) {
            return 0;
        }
        ByteBuffer bb = ByteBuffer.wrap(bytes, pos, 4).order(be ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
        return bb.getInt() & 0xFFFFFFFFL;
    }
}
