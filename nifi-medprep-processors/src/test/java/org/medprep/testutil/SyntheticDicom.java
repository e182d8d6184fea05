/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.testutil;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Hand-built DICOM Part 10 bytes (explicit VR little endian) for the corrupt-input tests: a header that declares
 * an image far larger than any limit, followed by only a few bytes of pixel data.
 */
public final class SyntheticDicom {

    private SyntheticDicom() {
    }

    /** Rows = Columns = 65535, NumberOfFrames = 1000, 16-bit: 8.6 TB declared, 16 bytes present. */
    public static byte[] hugeHeader() {
        ByteArrayOutputStream meta = new ByteArrayOutputStream();
        element(meta, 0x0002, 0x0001, "OB", new byte[]{0, 1});
        element(meta, 0x0002, 0x0002, "UI", uid("1.2.840.10008.5.1.4.1.1.2"));
        element(meta, 0x0002, 0x0003, "UI", uid("1.2.826.0.1.3680043.9.7147.1"));
        element(meta, 0x0002, 0x0010, "UI", uid("1.2.840.10008.1.2.1"));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[128]);
        out.writeBytes("DICM".getBytes(StandardCharsets.US_ASCII));
        element(out, 0x0002, 0x0000, "UL", le(4).putInt(meta.size()).array());
        out.writeBytes(meta.toByteArray());
        element(out, 0x0008, 0x0016, "UI", uid("1.2.840.10008.5.1.4.1.1.2"));
        element(out, 0x0008, 0x0060, "CS", text("CT"));
        element(out, 0x0010, 0x0020, "LO", text("HUGE01"));
        element(out, 0x0020, 0x000D, "UI", uid("1.2.826.0.1.3680043.9.7147.2"));
        element(out, 0x0020, 0x000E, "UI", uid("1.2.826.0.1.3680043.9.7147.3"));
        element(out, 0x0028, 0x0002, "US", le(2).putShort((short) 1).array());
        element(out, 0x0028, 0x0004, "CS", text("MONOCHROME2"));
        element(out, 0x0028, 0x0008, "IS", text("1000"));
        element(out, 0x0028, 0x0010, "US", le(2).putShort((short) 65535).array());
        element(out, 0x0028, 0x0011, "US", le(2).putShort((short) 65535).array());
        element(out, 0x0028, 0x0100, "US", le(2).putShort((short) 16).array());
        element(out, 0x0028, 0x0101, "US", le(2).putShort((short) 16).array());
        element(out, 0x0028, 0x0102, "US", le(2).putShort((short) 15).array());
        element(out, 0x0028, 0x0103, "US", le(2).putShort((short) 0).array());
        // Pixel Data: OW with the largest even 32-bit length, but only 16 bytes follow.
        out.writeBytes(le(4).putShort((short) 0x7FE0).putShort((short) 0x0010).array());
        out.writeBytes("OW".getBytes(StandardCharsets.US_ASCII));
        out.writeBytes(new byte[2]);
        out.writeBytes(le(4).putInt(0xFFFFFFFE).array());
        out.writeBytes(new byte[16]);
        return out.toByteArray();
    }

    private static void element(ByteArrayOutputStream out, int group, int element, String vr, byte[] value) {
        out.writeBytes(le(4).putShort((short) group).putShort((short) element).array());
        out.writeBytes(vr.getBytes(StandardCharsets.US_ASCII));
        if (vr.equals("OB") || vr.equals("OW")) {
            out.writeBytes(new byte[2]);
            out.writeBytes(le(4).putInt(value.length).array());
        } else {
            out.writeBytes(le(2).putShort((short) value.length).array());
        }
        out.writeBytes(value);
    }

    private static byte[] uid(String s) {
        return pad(s, (byte) 0);
    }

    private static byte[] text(String s) {
        return pad(s, (byte) ' ');
    }

    private static byte[] pad(String s, byte padding) {
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        if (b.length % 2 == 0) {
            return b;
        }
        byte[] p = new byte[b.length + 1];
        System.arraycopy(b, 0, p, 0, b.length);
        p[b.length] = padding;
        return p;
    }

    private static ByteBuffer le(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    }
}
