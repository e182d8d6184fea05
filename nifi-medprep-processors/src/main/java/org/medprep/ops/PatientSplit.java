/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.ops;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * Patient-level train / validation / test assignment by hashing, so that every image of one patient lands in one
 * split, on any node, in any order, after any restart, with no shared state.
 *
 * <p>{@code u = first 53 bits of SHA-256(UTF-8(salt) ‖ 0x00 ‖ UTF-8(key)) / 2^53} is uniform on [0, 1);
 * {@code u < train → TRAIN}, {@code u < train + validation → VALIDATION}, else {@code TEST}. Changing the salt
 * draws a new, independent split.
 */
public final class PatientSplit {

    /** The three splits, with the names used in attributes and relationships. */
    public enum Split {
        TRAIN("train"), VALIDATION("validation"), TEST("test");

        private final String label;

        Split(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }
    }

    private PatientSplit() {
    }

    /** The hash position of {@code key} under {@code salt}, in [0, 1). */
    public static double position(String salt, String key) {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
        md.update(salt.getBytes(StandardCharsets.UTF_8));
        md.update((byte) 0);
        byte[] d = md.digest(key.getBytes(StandardCharsets.UTF_8));
        long bits = 0;
        for (int i = 0; i < 8; i++) {
            bits = (bits << 8) | (d[i] & 0xFF);
        }
        return (bits >>> 11) / (double) (1L << 53);
    }

    /**
     * @param trainRatio      fraction for train, [0, 1]
     * @param validationRatio fraction for validation, [0, 1]; test gets 1 − train − validation
     * @throws IllegalArgumentException when the key is empty or the ratios are outside [0, 1] or sum above 1
     */
    public static Split assign(String salt, String key, double trainRatio, double validationRatio) {
        if (key == null || key.isEmpty()) {
            throw new IllegalArgumentException("the group key is empty");
        }
        if (trainRatio < 0 || validationRatio < 0 || trainRatio + validationRatio > 1 + 1e-9) {
            throw new IllegalArgumentException("ratios must be non-negative and sum to at most 1");
        }
        double u = position(salt, key);
        if (u < trainRatio) {
            return Split.TRAIN;
        }
        return u < trainRatio + validationRatio ? Split.VALIDATION : Split.TEST;
    }
}
