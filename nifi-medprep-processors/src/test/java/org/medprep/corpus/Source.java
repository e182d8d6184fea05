/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.corpus;

/**
 * A real file the corpus mutates, nothing here written by us (a ZIP series is real slices zipped; a .nii.gz may be
 * a real .nii gzipped; a JPEG may be the codestream a real DICOM file carries).
 *
 * @param name   short unique name, e.g. "CT_small.dcm"
 * @param format its format
 * @param origin where it came from, in words
 * @param bytes  its content
 */
public record Source(String name, Format format, String origin, byte[] bytes) {

    /** The supported input formats. */
    public enum Format {
        DICOM("dcm"), JPEG("jpg"), PNG("png"), TIFF("tif"), NIFTI("nii"), NIFTI_GZ("nii.gz"), SERIES_ZIP("zip");

        /** The usual file-name extension. */
        public final String extension;

        Format(String extension) {
            this.extension = extension;
        }
    }
}
