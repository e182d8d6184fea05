/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.io;

import java.io.IOException;
import java.io.OutputStream;
import org.medprep.image.Image;

/**
 * The formats a transforming step can write, with the filename extension and MIME type it sets. NIfTI is the
 * default: uncompressed NIfTI-1 is how images travel between steps (geometry and rescale kept, no codec cost).
 * This enum implements no NiFi interface; the processor layer wraps it in its property choices.
 */
public enum OutputFormat {
    /** Uncompressed NIfTI-1 ({@link NiftiWriter}); MIME {@code application/x-nifti}, no registered type exists. */
    NIFTI("NIfTI", ".nii", "application/x-nifti"),
    /** gzip-compressed NIfTI-1 ({@link NiftiWriter} with gzip). */
    NIFTI_GZ("NIfTI gzip", ".nii.gz", "application/gzip"),
    /** NumPy .npy v1.0 ({@link NpyWriter}): stored values only, no geometry. */
    NPY("NumPy", ".npy", "application/x-npy"),
    /** PNG ({@link PngWriter}): 2D integer images only; others throw IllegalArgumentException. */
    PNG("PNG", ".png", "image/png"),
    /**
     * A new derived DICOM object ({@link DerivedDicomWriter}: Multi-frame Secondary Capture, geometry in functional
     * groups); needs a {@link DerivedDicomSource}, others throw IllegalArgumentException.
     */
    DICOM("DICOM", ".dcm", "application/dicom");

    private final String displayName;
    private final String extension;
    private final String mimeType;

    OutputFormat(String displayName, String extension, String mimeType) {
        this.displayName = displayName;
        this.extension = extension;
        this.mimeType = mimeType;
    }

    /** A short human-readable name ("NIfTI", "NIfTI gzip", "NumPy", "PNG", "DICOM"). */
    public String displayName() {
        return displayName;
    }

    /** Filename extension including the dot, e.g. ".nii.gz". */
    public String extension() {
        return extension;
    }

    /** The MIME type for the {@code mime.type} attribute. */
    public String mimeType() {
        return mimeType;
    }

    /**
     * Writes the image in this format (the stream is not closed).
     *
     * @throws IllegalArgumentException when the image cannot be represented (PNG: volume, float, out of range)
     * @throws IOException              when the stream fails
     */
    public void write(Image image, OutputStream out) throws IOException {
        write(image, null, out);
    }

    /**
     * Writes the image in this format (the stream is not closed); {@code source} is used by {@link #DICOM} only.
     *
     * @param source what the derived DICOM object says about its source (identity, UIDs, derivation); required
     *               for {@link #DICOM}, ignored (may be null) otherwise
     * @throws IllegalArgumentException when the image cannot be represented (PNG: volume, float, out of range;
     *                                  DICOM: no source, NaN, colour that is not 8-bit)
     * @throws IOException              when the stream fails
     */
    public void write(Image image, DerivedDicomSource source, OutputStream out) throws IOException {
        switch (this) {
            case NIFTI -> NiftiWriter.write(image, out, false);
            case NIFTI_GZ -> NiftiWriter.write(image, out, true);
            case NPY -> NpyWriter.write(image, out);
            case PNG -> PngWriter.write(image, out);
            case DICOM -> {
                if (source == null) {
                    throw new IllegalArgumentException("DICOM output needs a description of the source object.");
                }
                DerivedDicomWriter.write(image, source, out);
            }
        }
    }

    /**
     * A buffer size, in bytes, that holds this format's encoding of {@code image} without growing: the exact size
     * for uncompressed NIfTI and NumPy (header + samples), a small start for the compressed formats.
     */
    public int bufferSizeHint(Image image) {
        long samples = (long) image.size() * image.type().bytes();
        long hint = switch (this) {
            case NIFTI -> 352 + samples;
            case NPY -> 256 + samples;
            case DICOM -> 4096 + 2L * image.size();
            case NIFTI_GZ, PNG -> Math.min(samples / 2, 1 << 20);
        };
        return (int) Math.max(1024, Math.min(hint, Integer.MAX_VALUE - 8));
    }
}
