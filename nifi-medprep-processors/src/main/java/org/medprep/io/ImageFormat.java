/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.io;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.zip.GZIPInputStream;

/** The input formats we read, recognized from content (magic bytes), never from a file name. */
public enum ImageFormat {
    /** DICOM Part 10 ("DICM" at offset 128) or a bare data set starting with a group 0002/0008 tag. */
    DICOM,
    /** A ZIP archive (as MergeContent writes) holding the DICOM slices of one series. */
    DICOM_ZIP,
    /** Single-file NIfTI-1 (.nii), header size 348 and magic "n+1". */
    NIFTI,
    /** NIfTI-1 compressed with gzip (.nii.gz). */
    NIFTI_GZ,
    PNG,
    JPEG,
    TIFF;

    /**
     * Recognizes the format from the first bytes of {@code content}.
     *
     * @throws ImageReadException CORRUPT when the content matches no supported format
     */
    public static ImageFormat sniff(byte[] content) throws ImageReadException {
        int n = content.length;
        if (n == 0) {
            throw new ImageReadException(ImageReadException.Problem.CORRUPT, "The content is empty (0 bytes).");
        }
        if (n >= 132 && content[128] == 'D' && content[129] == 'I' && content[130] == 'C' && content[131] == 'M') {
            return DICOM;
        }
        if (startsWith(content, 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A)) {
            return PNG;
        }
        if (startsWith(content, 0xFF, 0xD8, 0xFF)) {
            return JPEG;
        }
        if (startsWith(content, 'I', 'I', 42, 0) || startsWith(content, 'M', 'M', 0, 42)) {
            return TIFF;
        }
        if (startsWith(content, 'P', 'K', 3, 4)) {
            return DICOM_ZIP;
        }
        if (isNiftiHeader(content)) {
            return NIFTI;
        }
        if (startsWith(content, 0x1F, 0x8B)) {
            try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(content))) {
                if (isNiftiHeader(in.readNBytes(348))) {
                    return NIFTI_GZ;
                }
            } catch (IOException e) {
                throw new ImageReadException(ImageReadException.Problem.CORRUPT,
                        "The content is gzip-compressed but does not decompress" + (HeaderChecks.clean(e.getMessage())
                                .isEmpty() ? " (it ends too early)" : ": " + HeaderChecks.clean(e.getMessage())) + ".");
            }
            throw new ImageReadException(ImageReadException.Problem.CORRUPT,
                    "The content is gzip-compressed but is not a NIfTI-1 image.");
        }
        if (looksLikeBareDicom(content)) {
            return DICOM;
        }
        throw new ImageReadException(ImageReadException.Problem.CORRUPT,
                "The content is not a supported image format (DICOM, ZIP of DICOM, NIfTI-1, PNG, JPEG, TIFF).");
    }

    private static boolean startsWith(byte[] b, int... magic) {
        if (b.length < magic.length) {
            return false;
        }
        for (int i = 0; i < magic.length; i++) {
            if ((b[i] & 0xFF) != (magic[i] & 0xFF)) {
                return false;
            }
        }
        return true;
    }

    /** sizeof_hdr = 348 (either byte order) and magic "n+1\0" at offset 344. */
    static boolean isNiftiHeader(byte[] h) {
        if (h.length < 348) {
            return false;
        }
        boolean le = (h[0] & 0xFF) == 0x5C && (h[1] & 0xFF) == 0x01 && h[2] == 0 && h[3] == 0;
        boolean be = h[0] == 0 && h[1] == 0 && (h[2] & 0xFF) == 0x01 && (h[3] & 0xFF) == 0x5C;
        return (le || be) && h[344] == 'n' && h[345] == '+' && h[346] == '1' && h[347] == 0;
    }

    /**
     * A DICOM data set without preamble or meta header (older files): the first tag is in group 0x0002 or
     * 0x0008 with element number below 0x0100, in little- or big-endian order.
     */
    private static boolean looksLikeBareDicom(byte[] b) {
        if (b.length < 8) {
            return false;
        }
        int groupLe = (b[0] & 0xFF) | (b[1] & 0xFF) << 8;
        int elemLe = (b[2] & 0xFF) | (b[3] & 0xFF) << 8;
        int groupBe = (b[0] & 0xFF) << 8 | (b[1] & 0xFF);
        int elemBe = (b[2] & 0xFF) << 8 | (b[3] & 0xFF);
        return ((groupLe == 0x0008 || groupLe == 0x0002) && elemLe < 0x0100)
                || ((groupBe == 0x0008 || groupBe == 0x0002) && elemBe < 0x0100);
    }
}
