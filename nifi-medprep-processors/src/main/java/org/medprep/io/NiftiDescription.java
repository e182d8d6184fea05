/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.io;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.medprep.image.ImageMetadata;
import org.medprep.image.VoxelType;

/**
 * The NIfTI-1 {@code descrip} field (80 bytes at offset 148) as medprep writes it, so that the metadata NIfTI has
 * no field for survives between processors: {@code medprep modality=CR photometric=MONOCHROME2 bits=12}.
 * Without it a 12-bit X-ray written as uint16 would come back as 16-bit and "scale by bit depth" would divide by
 * 65535 instead of 4095. Files from other tools keep the reader's defaults.
 */
final class NiftiDescription {

    static final int LENGTH = 80;
    private static final String PREFIX = "medprep";

    private NiftiDescription() {
    }

    /** The descrip bytes (≤ 79, NUL-terminated by the caller's zeroed buffer) for {@code metadata}. */
    static byte[] format(ImageMetadata metadata) {
        String text = PREFIX + " modality=" + token(metadata.modality()) + " photometric="
                + token(metadata.photometricInterpretation()) + " bits=" + metadata.bitsStored();
        byte[] b = text.getBytes(StandardCharsets.US_ASCII);
        return b.length < LENGTH ? b : PREFIX.getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * Applies a medprep descrip to the reader's default metadata; anything else (another tool's text, a value
     * that does not fit the voxel type) leaves the defaults.
     */
    static ImageMetadata apply(byte[] descrip, ImageMetadata defaults, VoxelType type) {
        int n = 0;
        while (n < descrip.length && descrip[n] != 0) {
            n++;
        }
        String text = new String(descrip, 0, n, StandardCharsets.US_ASCII).strip();
        if (!text.startsWith(PREFIX + " ")) {
            return defaults;
        }
        Map<String, String> fields = new HashMap<>();
        for (String part : text.substring(PREFIX.length()).strip().split("\\s+")) {
            int eq = part.indexOf('=');
            if (eq > 0) {
                fields.put(part.substring(0, eq), part.substring(eq + 1));
            }
        }
        int bits = defaults.bitsStored();
        try {
            int b = Integer.parseInt(fields.getOrDefault("bits", ""));
            if (b >= 1 && b <= type.bytes() * 8) {
                bits = b;
            }
        } catch (NumberFormatException e) {
            // keep the default
        }
        String photometric = fields.getOrDefault("photometric", defaults.photometricInterpretation());
        return new ImageMetadata(defaults.format(), fields.getOrDefault("modality", defaults.modality()),
                photometric, bits, defaults.signedPixels(), defaults.rescaleSlope(), defaults.rescaleIntercept(), defaults.windowCenter(),
                defaults.windowWidth(), null, null, null);
    }

    private static String token(String s) {
        return s == null || s.isBlank() ? "OT" : s.strip().replaceAll("\\s+", "_");
    }
}
