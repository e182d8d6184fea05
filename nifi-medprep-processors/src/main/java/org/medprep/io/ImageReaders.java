/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.io;

/**
 * Reads any supported input into an {@link org.medprep.image.Image}: the format is sniffed from content
 * ({@link ImageFormat#sniff}), never taken from a file name, and the declared size is checked against
 * {@link ReadLimits} before any pixel memory is allocated.
 */
public final class ImageReaders {

    private ImageReaders() {
    }

    /**
     * @param content the whole file (a FlowFile's content)
     * @param limits  size limits checked from the header before allocating
     * @return the decoded image and, for DICOM, its header attributes
     * @throws ImageReadException with a one-sentence reason when the content is unreadable, too large, has no
     *                            pixel data, is an inconsistent series or uses an encoding we cannot decode
     */
    public static DecodedImage read(byte[] content, ReadLimits limits) throws ImageReadException {
        return read(content, limits, ColorHandling.KEEP_CHANNELS);
    }

    /**
     * As {@link #read(byte[], ReadLimits)}, with {@code color} applied by the PNG and JPEG decoders themselves
     * (see {@link ColorHandling}); other formats return colour as 3 channels and leave the conversion to the
     * caller ({@code org.medprep.ops.Grayscale}).
     */
    public static DecodedImage read(byte[] content, ReadLimits limits, ColorHandling color)
            throws ImageReadException {
        ImageFormat format = ImageFormat.sniff(content);
        return switch (format) {
            case DICOM -> DicomReader.read(content, limits);
            case DICOM_ZIP -> DicomSeriesZipReader.read(content, limits);
            case NIFTI, NIFTI_GZ -> NiftiReader.read(content, limits);
            case PNG, JPEG, TIFF -> PictureReader.read(content, format, limits, color);
        };
    }
}
