/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.nifi.shared;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Keyed pseudonym of a patient identifier: lower-case hex HMAC-SHA256 (RFC 2104, FIPS 180-4) of the UTF-8
 * identifier (leading/trailing whitespace and DICOM's trailing padding removed) under a secret key. The same
 * identifier and secret give the same pseudonym on every node; without the secret it can neither be reversed
 * nor recomputed from a guessed identifier.
 */
public final class PatientPseudonym {

    private PatientPseudonym() {
    }

    /**
     * @param secret     the Patient Key Secret (UTF-8), non-empty
     * @param identifier the patient identifier (PatientID, or one derived from a file name)
     * @return 64 hex characters
     * @throws IllegalArgumentException when the secret or identifier is empty
     */
    public static String of(String secret, String identifier) {
        if (secret == null || secret.isEmpty()) {
            throw new IllegalArgumentException("the patient key secret is empty");
        }
        String id = identifier == null ? "" : identifier.strip();
        if (id.isEmpty()) {
            throw new IllegalArgumentException("the patient identifier is empty");
        }
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            return HexFormat.of().formatHex(mac.doFinal(id.getBytes(StandardCharsets.UTF_8)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK has no HmacSHA256", e);
        }
    }
}
