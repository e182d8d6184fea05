/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.io;

/** Contract only; the implementation replaces this file. */
public final class PictureReader {
    private PictureReader() {
    }

    public static DecodedImage read(byte[] content, ImageFormat format, ReadLimits limits) throws ImageReadException {
        throw new ImageReadException(ImageReadException.Problem.UNSUPPORTED, "PictureReader is not implemented yet.");
    }
}
