/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.corpus;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * Deflate streams of up to gigabytes of zeros without deflating gigabytes: a block of {@value #BLOCK_MIB} MiB of
 * zeros is deflated once by a fresh deflater and sync-flushed (byte aligned, no reference before its start), so it
 * can be repeated any number of times; a final empty block ends the stream. Used for ZIP entries and gzip members.
 */
final class Bombs {

    static final int BLOCK_MIB = 16;
    private static final int BLOCK = BLOCK_MIB << 20;
    /** A final fixed-Huffman block holding only end-of-block. */
    private static final byte[] FINAL_EMPTY_BLOCK = {0x03, 0x00};
    private static final byte[] ZERO_BLOCK = syncFlushed(new byte[BLOCK]);
    private static final Map<Long, Long> CRC_OF_ZEROS = new ConcurrentHashMap<>();

    private Bombs() {
    }

    /** A raw deflate stream of {@code prefix} followed by {@code zeros} zero bytes. */
    static byte[] deflate(byte[] prefix, long zeros) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        if (prefix.length > 0) {
            out.writeBytes(syncFlushed(prefix));
        }
        long full = zeros / BLOCK;
        for (long i = 0; i < full; i++) {
            out.writeBytes(ZERO_BLOCK);
        }
        int rest = (int) (zeros % BLOCK);
        if (rest > 0) {
            out.writeBytes(syncFlushed(new byte[rest]));
        }
        out.writeBytes(FINAL_EMPTY_BLOCK);
        return out.toByteArray();
    }

    /** CRC-32 of {@code prefix} followed by {@code zeros} zero bytes. */
    static long crc(byte[] prefix, long zeros) {
        if (prefix.length == 0) {
            return CRC_OF_ZEROS.computeIfAbsent(zeros, n -> crcOf(new byte[0], n));
        }
        return crcOf(prefix, zeros);
    }

    private static long crcOf(byte[] prefix, long zeros) {
        CRC32 crc = new CRC32();
        crc.update(prefix);
        byte[] z = new byte[1 << 20];
        for (long done = 0; done < zeros; done += z.length) {
            crc.update(z, 0, (int) Math.min(z.length, zeros - done));
        }
        return crc.getValue();
    }

    /** A ZIP entry of {@code prefix} + zeros; its local and central sizes say {@code declaredSize} (-1: the truth). */
    static ZipBuilder.Entry zipEntry(byte[] name, byte[] prefix, long zeros, long declaredSize) {
        byte[] data = deflate(prefix, zeros);
        long size = prefix.length + zeros;
        return new ZipBuilder.Entry(name, 8, data, crc(prefix, zeros), data.length,
                declaredSize < 0 ? size & 0xFFFFFFFFL : declaredSize);
    }

    /** One gzip member holding {@code prefix} + zeros (members may follow each other in one file). */
    static byte[] gzipMember(byte[] prefix, long zeros) {
        byte[] data = deflate(prefix, zeros);
        ByteBuffer bb = ByteBuffer.allocate(18 + data.length).order(ByteOrder.LITTLE_ENDIAN);
        bb.put(new byte[]{0x1f, (byte) 0x8b, 8, 0, 0, 0, 0, 0, 0, (byte) 0xff}).put(data);
        bb.putInt((int) crc(prefix, zeros)).putInt((int) (prefix.length + zeros));
        return bb.array();
    }

    private static byte[] syncFlushed(byte[] content) {
        Deflater d = new Deflater(Deflater.BEST_COMPRESSION, true);
        d.setInput(content);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[1 << 16];
        int n;
        do {
            n = d.deflate(buf, 0, buf.length, Deflater.SYNC_FLUSH);
            out.write(buf, 0, n);
        } while (n == buf.length || !d.needsInput());
        d.end();
        return out.toByteArray();
    }
}
