/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.image;

/**
 * The per-image metadata that processors need, read from DICOM (or defaulted for other formats). It never holds
 * patient identity: no PatientName, no PatientID, no birth date. Identity travels only as a keyed pseudonym
 * computed by the caller (see the ValidateImage processor).
 *
 * <p><b>Pixel value rule.</b> Images hold <em>stored values</em>, exactly as in the file (as pydicom's
 * {@code pixel_array} gives them). The Modality LUT maps them to physical units:
 * {@code value = storedValue × rescaleSlope + rescaleIntercept} (Hounsfield units for CT). MONOCHROME1 images
 * (low values displayed white) are <em>not</em> inverted when read; {@code photometricInterpretation} says
 * which convention the stored values follow, and {@link org.medprep.ops.Monochrome} converts to MONOCHROME2
 * (high values bright) where a step needs it.
 *
 * @param format                    source format: "DICOM", "DICOM-ZIP", "NIfTI", "PNG", "JPEG", "TIFF"
 * @param modality                  DICOM Modality (CT, MR, CR, DX, ...), or "OT" when unknown
 * @param photometricInterpretation MONOCHROME1, MONOCHROME2, RGB, ... (MONOCHROME2 for grayscale non-DICOM)
 * @param bitsStored                significant bits per sample (e.g. 12 for a 12-bit CT in 16-bit words)
 * @param signedPixels              DICOM PixelRepresentation = 1 (two's complement stored values)
 * @param rescaleSlope              Modality LUT slope (1 when absent)
 * @param rescaleIntercept          Modality LUT intercept (0 when absent)
 * @param windowCenter              first VOI window center, NaN when absent
 * @param windowWidth               first VOI window width, NaN when absent
 * @param studyInstanceUid          StudyInstanceUID or null
 * @param seriesInstanceUid         SeriesInstanceUID or null
 * @param transferSyntaxUid         DICOM transfer syntax UID or null for non-DICOM input
 */
public record ImageMetadata(String format, String modality, String photometricInterpretation, int bitsStored,
                            boolean signedPixels, double rescaleSlope, double rescaleIntercept,
                            double windowCenter, double windowWidth, String studyInstanceUid,
                            String seriesInstanceUid, String transferSyntaxUid) {

    /** Metadata for a plain grayscale picture of the given bit depth (PNG, JPEG, TIFF). */
    public static ImageMetadata picture(String format, int bitsStored, String photometric) {
        return new ImageMetadata(format, "OT", photometric, bitsStored, false, 1, 0, Double.NaN, Double.NaN,
                null, null, null);
    }

    /** True when stored values display with low values bright (DICOM MONOCHROME1). */
    public boolean monochrome1() {
        return "MONOCHROME1".equals(photometricInterpretation);
    }

    public ImageMetadata withFormat(String newFormat) {
        return new ImageMetadata(newFormat, modality, photometricInterpretation, bitsStored, signedPixels,
                rescaleSlope, rescaleIntercept, windowCenter, windowWidth, studyInstanceUid, seriesInstanceUid,
                transferSyntaxUid);
    }

    public ImageMetadata withPhotometric(String photometric) {
        return new ImageMetadata(format, modality, photometric, bitsStored, signedPixels, rescaleSlope,
                rescaleIntercept, windowCenter, windowWidth, studyInstanceUid, seriesInstanceUid, transferSyntaxUid);
    }

    /** After a step that changes the value scale (e.g. normalization): identity Modality LUT, new bit depth. */
    public ImageMetadata withValueScale(int newBitsStored, boolean signed) {
        return new ImageMetadata(format, modality, photometricInterpretation, newBitsStored, signed, 1, 0,
                Double.NaN, Double.NaN, studyInstanceUid, seriesInstanceUid, transferSyntaxUid);
    }
}
