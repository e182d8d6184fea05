/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.ops;

import org.medprep.image.Image;
import org.medprep.image.ImageMetadata;

/**
 * The MONOCHROME1 rule of nifi-medprep.
 *
 * <p>Readers keep <b>stored values</b>: a MONOCHROME1 image (DICOM PS3.3 C.7.6.3.1.2: the minimum sample value is
 * displayed as white) is read as it is stored, with {@code photometricInterpretation = "MONOCHROME1"}, the same
 * numbers pydicom's {@code pixel_array} gives. Steps that produce pixels for training (every transforming
 * processor) call {@link #toMonochrome2} first, so what they write is always MONOCHROME2: larger value = brighter
 * (bone bright on an X-ray).
 *
 * <p>Inversion is over the stored range given by BitsStored and PixelRepresentation:
 * {@code v' = (minStored + maxStored) − v}, i.e. {@code (2^BitsStored − 1) − v} for unsigned and {@code −1 − v}
 * for two's-complement samples. The Modality LUT is rewritten so that physical values are unchanged:
 * slope' = −slope, intercept' = intercept + slope·(minStored + maxStored).
 */
public final class Monochrome {

    private Monochrome() {
    }

    /**
     * Returns {@code image} itself if it is not MONOCHROME1, else a new inverted image with photometric
     * interpretation MONOCHROME2 and the rewritten Modality LUT.
     *
     * @throws IllegalArgumentException for a float32 MONOCHROME1 image (no stored range to invert over)
     */
    public static Image toMonochrome2(Image image) {
        ImageMetadata m = image.metadata();
        if (!m.monochrome1()) {
            return image;
        }
        if (!image.type().integer()) {
            throw new IllegalArgumentException("a float MONOCHROME1 image has no stored range to invert over");
        }
        int bits = Math.max(1, Math.min(m.bitsStored(), image.type().bytes() * 8));
        long minStored = m.signedPixels() ? -(1L << (bits - 1)) : 0;
        long maxStored = m.signedPixels() ? (1L << (bits - 1)) - 1 : (1L << bits) - 1;
        long sum = minStored + maxStored;
        Image out = image.blank(image.type(), image.width(), image.height(), image.depth());
        int n = image.size();
        for (int i = 0; i < n; i++) {
            out.set(i, sum - image.get(i));
        }
        ImageMetadata inverted = new ImageMetadata(m.format(), m.modality(), "MONOCHROME2", m.bitsStored(),
                m.signedPixels(), -m.rescaleSlope(), m.rescaleIntercept() + m.rescaleSlope() * sum,
                m.windowCenter(), m.windowWidth(), m.studyInstanceUid(), m.seriesInstanceUid(),
                m.transferSyntaxUid());
        return out.withMetadata(inverted);
    }
}
