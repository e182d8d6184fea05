/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.io;

/** Contract only; the implementation replaces this file. */
public final class DicomReader {
    private DicomReader() {
    }

    public static DecodedImage read(byte[] content, ReadLimits limits) throws ImageReadException {
        throw new ImageReadException(ImageReadException.Problem.UNSUPPORTED, "DicomReader is not implemented yet.");
    }
}
