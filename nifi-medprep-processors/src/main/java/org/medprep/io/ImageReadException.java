/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.io;

/**
 * An image could not be read. The message is one readable sentence for the user (it ends up in the
 * {@code medprep.invalid.reason} attribute) and never contains patient identity. {@link #problem()} tells
 * callers whether the content itself is bad or only this reader cannot decode it.
 */
public class ImageReadException extends Exception {

    /** What went wrong. */
    public enum Problem {
        /** Not an image we recognize, or damaged: truncated, inconsistent, unparsable. */
        CORRUPT,
        /** Declared size exceeds the caller's limit; detected from the header before allocating. */
        TOO_LARGE,
        /** A DICOM object without Pixel Data (structured report, encapsulated document, ...). */
        NO_PIXEL_DATA,
        /**
         * Slices of one ZIP do not form one regular volume: mixed series, orientation or size, duplicate positions,
         * gantry tilt, missing slices or non-uniform spacing.
         */
        INCONSISTENT_SERIES,
        /** A valid file whose encoding this build cannot decode (e.g. JPEG-LS); the message names it. */
        UNSUPPORTED
    }

    private final Problem problem;

    public ImageReadException(Problem problem, String message) {
        super(message);
        this.problem = problem;
    }

    public ImageReadException(Problem problem, String message, Throwable cause) {
        super(message, cause);
        this.problem = problem;
    }

    public Problem problem() {
        return problem;
    }
}
