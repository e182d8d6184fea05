/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.corpus;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * Writes a ZIP archive byte by byte, so the corpus can make what {@link java.util.zip.ZipOutputStream} refuses to:
 * duplicate names, names with NUL or "..", sizes that lie, and entries whose deflated data was made elsewhere (a
 * bomb's repeated block). It also tells where each length field is, for the length-field mutations.
 */
final class ZipBuilder {

    /** One entry: raw name bytes, method (0 stored, 8 deflated), data as stored, CRC and both sizes. */
    record Entry(byte[] name, int method, byte[] data, long crc, long compressedSize, long size) {
    }

    /** Where a length field of the written archive is: offset, width in bytes, current value and a label. */
    record Field(int offset, int width, long value, String label) {
    }

    private final List<Entry> entries = new ArrayList<>();

    /** Adds {@code content} under {@code name}, deflated. */
    ZipBuilder add(String name, byte[] content) {
        return add(name.getBytes(StandardCharsets.UTF_8), content);
    }

    /** Adds {@code content} under raw name bytes, deflated. */
    ZipBuilder add(byte[] name, byte[] content) {
        CRC32 crc = new CRC32();
        crc.update(content);
        byte[] deflated = deflate(content);
        entries.add(new Entry(name, 8, deflated, crc.getValue(), deflated.length, content.length));
        return this;
    }

    /** Adds an entry as given (its data already in its method's form). */
    ZipBuilder add(Entry e) {
        entries.add(e);
        return this;
    }

    /** The archive: local headers and data, central directory, end record. */
    byte[] build() {
        return build(null);
    }

    /** As {@link #build()}, recording every length field into {@code fields} when it is not null. */
    byte[] build(List<Field> fields) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        long[] offsets = new long[entries.size()];
        for (int i = 0; i < entries.size(); i++) {
            Entry e = entries.get(i);
            offsets[i] = out.size();
            ByteBuffer h = le(30);
            h.putInt(0x04034b50).putShort((short) 20).putShort((short) 0x0800).putShort((short) e.method)
                    .putShort((short) 0).putShort((short) 0x21).putInt((int) e.crc).putInt((int) e.compressedSize)
                    .putInt((int) e.size).putShort((short) e.name.length).putShort((short) 0);
            int base = out.size();
            record(fields, base + 18, 4, e.compressedSize, "local compressed size of entry " + i);
            record(fields, base + 22, 4, e.size, "local size of entry " + i);
            record(fields, base + 26, 2, e.name.length, "local name length of entry " + i);
            record(fields, base + 28, 2, 0, "local extra length of entry " + i);
            out.writeBytes(h.array());
            out.writeBytes(e.name);
            out.writeBytes(e.data);
        }
        int cdStart = out.size();
        for (int i = 0; i < entries.size(); i++) {
            Entry e = entries.get(i);
            int base = out.size();
            ByteBuffer c = le(46);
            c.putInt(0x02014b50).putShort((short) 20).putShort((short) 20).putShort((short) 0x0800)
                    .putShort((short) e.method).putShort((short) 0).putShort((short) 0x21).putInt((int) e.crc)
                    .putInt((int) e.compressedSize).putInt((int) e.size).putShort((short) e.name.length)
                    .putShort((short) 0).putShort((short) 0).putShort((short) 0).putShort((short) 0).putInt(0)
                    .putInt((int) offsets[i]);
            record(fields, base + 20, 4, e.compressedSize, "central compressed size of entry " + i);
            record(fields, base + 24, 4, e.size, "central size of entry " + i);
            record(fields, base + 28, 2, e.name.length, "central name length of entry " + i);
            record(fields, base + 30, 2, 0, "central extra length of entry " + i);
            record(fields, base + 42, 4, offsets[i], "central local-header offset of entry " + i);
            out.writeBytes(c.array());
            out.writeBytes(e.name);
        }
        int cdSize = out.size() - cdStart;
        int base = out.size();
        ByteBuffer end = le(22);
        end.putInt(0x06054b50).putShort((short) 0).putShort((short) 0).putShort((short) entries.size())
                .putShort((short) entries.size()).putInt(cdSize).putInt(cdStart).putShort((short) 0);
        record(fields, base + 10, 2, entries.size(), "end record entry count");
        record(fields, base + 12, 4, cdSize, "end record directory size");
        record(fields, base + 16, 4, cdStart, "end record directory offset");
        record(fields, base + 20, 2, 0, "end record comment length");
        out.writeBytes(end.array());
        return out.toByteArray();
    }

    /** {@code content} as a raw deflate stream (no zlib header), as ZIP stores it. */
    static byte[] deflate(byte[] content) {
        Deflater d = new Deflater(Deflater.DEFAULT_COMPRESSION, true);
        d.setInput(content);
        d.finish();
        ByteArrayOutputStream out = new ByteArrayOutputStream(content.length / 2 + 64);
        byte[] buf = new byte[1 << 16];
        while (!d.finished()) {
            out.write(buf, 0, d.deflate(buf));
        }
        d.end();
        return out.toByteArray();
    }

    private static void record(List<Field> fields, int offset, int width, long value, String label) {
        if (fields != null) {
            fields.add(new Field(offset, width, value, label));
        }
    }

    private static ByteBuffer le(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    }
}
