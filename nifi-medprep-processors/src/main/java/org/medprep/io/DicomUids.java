/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.io;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.UUID;

/**
 * New DICOM UIDs under the {@code 2.25} root: "2.25." followed by a 128-bit unsigned integer in decimal (PS3.5
 * B.2, ITU-T X.667), at most 44 characters. The integer is random (a UUID), or the first 128 bits of a keyed hash the
 * caller already holds (so one source UID always maps to the same replacement), or of SHA-256 over a text.
 */
public final class DicomUids {

    private DicomUids() {
    }

    /** A new random UID (UUID version 4 as the 128-bit integer). */
    public static String random() {
        UUID u = UUID.randomUUID();
        return fromBytes(ByteBuffer.allocate(16).putLong(u.getMostSignificantBits())
                .putLong(u.getLeastSignificantBits()).array());
    }

    /**
     * The UID of the first 128 bits of a hexadecimal digest, e.g. a {@code medprep.*.key} HMAC-SHA256.
     *
     * @throws IllegalArgumentException when {@code hex} has fewer than 32 hexadecimal digits
     */
    public static String fromHexDigest(String hex) {
        if (hex == null || hex.length() < 32) {
            throw new IllegalArgumentException("A UID needs a digest of at least 128 bits.");
        }
        return fromBytes(HexFormat.of().parseHex(hex.substring(0, 32)));
    }

    /** The UID of the first 128 bits of SHA-256 over the UTF-8 text: the same text gives the same UID. */
    public static String fromText(String text) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
            byte[] first = new byte[16];
            System.arraycopy(digest, 0, first, 0, 16);
            return fromBytes(first);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("The JDK has no SHA-256.", e);
        }
    }

    private static String fromBytes(byte[] sixteen) {
        return "2.25." + new BigInteger(1, sixteen);
    }
}
