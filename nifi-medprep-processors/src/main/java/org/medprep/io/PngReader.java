/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.io;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.zip.CRC32;
import org.medprep.image.Geometry;
import org.medprep.image.Image;
import org.medprep.image.ImageMetadata;
import org.medprep.image.VoxelType;
import org.medprep.ops.OpenCv;
import org.opencv.core.Core;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.MatOfByte;
import org.opencv.imgcodecs.Imgcodecs;
import org.opencv.imgproc.Imgproc;

/**
 * Reads a PNG file (ISO/IEC 15948) with OpenCV's decoder ({@code imdecode}, libpng), so samples are exactly
 * {@code cv2.imread}'s. The chunk structure is checked by our own parser first: IHDR first, every chunk complete
 * and its CRC right, an IDAT, an IEND; the width and height from IHDR are checked against {@link ReadLimits}
 * before anything is decoded.
 *
 * <p><b>Result</b>: a 2D {@link Image}, row y = 0 at the top, {@link Geometry#UNIT}, with
 * {@link ColorHandling#KEEP_CHANNELS}: grayscale (with or without alpha) → 1 channel; RGB/RGBA → 3 channels R, G,
 * B (alpha dropped); palette → 3 channels RGB, or 1 channel when every palette entry is gray; 8-bit → UINT8,
 * 16-bit → UINT16 (exact values); 1/2/4-bit gray expanded to 0..255 as libpng does. With
 * {@link ColorHandling#GRAYSCALE}: 1 channel, colour converted by libpng exactly as
 * {@code cv2.imread(path, cv2.IMREAD_GRAYSCALE | cv2.IMREAD_ANYDEPTH)} does (16-bit stays 16-bit).
 * Metadata: {@link ImageMetadata#picture} "PNG", bits 8 or 16, MONOCHROME2 or RGB.
 *
 * <p><b>Errors</b>: a broken chunk structure or a decoder failure is {@link ImageReadException.Problem#CORRUPT};
 * a declared size over the limit {@link ImageReadException.Problem#TOO_LARGE}.
 */
public final class PngReader {

    private static final byte[] SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};

    private PngReader() {
    }

    /**
     * @param content the whole file
     * @param limits  size limits, checked from IHDR before decoding
     * @param color   what to do with a colour PNG
     * @throws ImageReadException CORRUPT or TOO_LARGE as described in the class comment
     */
    public static DecodedImage read(byte[] content, ReadLimits limits, ColorHandling color)
            throws ImageReadException {
        Chunks chunks = checkStructure(content, limits);
        int colorType = content[25] & 0xFF;
        boolean grayType = colorType == 0 || colorType == 4;
        int flags = grayType || color == ColorHandling.GRAYSCALE
                ? Imgcodecs.IMREAD_GRAYSCALE | Imgcodecs.IMREAD_ANYDEPTH : Imgcodecs.IMREAD_UNCHANGED;
        OpenCv.load();
        MatOfByte buffer = new MatOfByte(content);
        Mat decoded = Imgcodecs.imdecode(buffer, flags);
        buffer.release();
        Mat samples = new Mat();
        try {
            if (decoded.empty()) {
                throw new ImageReadException(ImageReadException.Problem.CORRUPT,
                        "The PNG image is damaged: its compressed image data could not be decoded.");
            }
            int depth = decoded.depth();
            if (depth != CvType.CV_8U && depth != CvType.CV_16U) {
                throw new ImageReadException(ImageReadException.Problem.UNSUPPORTED,
                        "The PNG image decodes to an unexpected sample type (OpenCV depth " + depth + ").");
            }
            if (decoded.channels() == 1) {
                decoded.copyTo(samples);
            } else if (chunks.grayPalette) {
                Core.extractChannel(decoded, samples, 0);
            } else {
                Imgproc.cvtColor(decoded, samples, decoded.channels() == 4 ? Imgproc.COLOR_BGRA2RGB
                        : Imgproc.COLOR_BGR2RGB);
            }
            int channels = samples.channels();
            boolean gray = channels == 1;
            VoxelType type = depth == CvType.CV_8U ? VoxelType.UINT8 : VoxelType.UINT16;
            Image img = Image.allocate(type, samples.cols(), samples.rows(), 1, channels, Geometry.UNIT,
                    ImageMetadata.picture("PNG", type == VoxelType.UINT8 ? 8 : 16, gray ? "MONOCHROME2" : "RGB"));
            OpenCv.store(samples, img, 0);
            return new DecodedImage(img, Map.of());
        } finally {
            decoded.release();
            samples.release();
        }
    }

    /** What the structure check learnt: whether a palette (PLTE) holds only gray entries. */
    private record Chunks(boolean grayPalette) {
    }

    /** IHDR size check first (before anything is decoded), then the chunk structure: complete, CRCs, IEND. */
    private static Chunks checkStructure(byte[] b, ReadLimits limits) throws ImageReadException {
        if (b.length < 33 || b[12] != 'I' || b[13] != 'H' || b[14] != 'D' || b[15] != 'R' || be32(b, 8) != 13) {
            throw corrupt("The PNG file does not start with an IHDR chunk.");
        }
        long w = be32(b, 16) & 0xFFFFFFFFL;
        long h = be32(b, 20) & 0xFFFFFFFFL;
        int colorType = b[25] & 0xFF;
        // OpenCV decodes off the Java heap; the heap holds the result, 1 or 2 bytes a sample (bit depth 16)
        limits.check(w, h, 1, colorType == 0 || colorType == 4 ? 1 : 3, (b[24] & 0xFF) == 16 ? 2 : 1);
        int pos = SIGNATURE.length;
        boolean idat = false;
        boolean grayPalette = false;
        CRC32 crc = new CRC32();
        while (true) {
            if (pos + 12 > b.length) {
                throw corrupt("The PNG file is truncated: it ends inside a chunk header at byte " + pos
                        + " and has no IEND chunk.");
            }
            long len = be32(b, pos) & 0xFFFFFFFFL;
            if (pos + 12 + len > b.length) {
                throw corrupt("The PNG file is truncated: a " + chunkName(b, pos + 4) + " chunk declares " + len
                        + " bytes but the file ends first.");
            }
            crc.reset();
            crc.update(b, pos + 4, (int) len + 4);
            if ((int) crc.getValue() != be32(b, pos + 8 + (int) len)) {
                throw corrupt("The PNG file is damaged: the " + chunkName(b, pos + 4) + " chunk's CRC does not match.");
            }
            String type = chunkName(b, pos + 4);
            if (type.equals("IDAT")) {
                idat = true;
            } else if (type.equals("PLTE")) {
                grayPalette = len % 3 == 0;
                for (int i = 0; i + 2 < len && grayPalette; i += 3) {
                    int at = pos + 8 + i;
                    grayPalette = b[at] == b[at + 1] && b[at + 1] == b[at + 2];
                }
            } else if (type.equals("IEND")) {
                break;
            }
            pos += 12 + (int) len;
        }
        if (!idat) {
            throw corrupt("The PNG file has no image data (no IDAT chunk).");
        }
        return new Chunks(grayPalette);
    }

    private static String chunkName(byte[] b, int at) {
        return new String(b, at, 4, StandardCharsets.ISO_8859_1);
    }

    private static int be32(byte[] b, int at) {
        return (b[at] & 0xFF) << 24 | (b[at + 1] & 0xFF) << 16 | (b[at + 2] & 0xFF) << 8 | (b[at + 3] & 0xFF);
    }

    private static ImageReadException corrupt(String message) {
        return new ImageReadException(ImageReadException.Problem.CORRUPT, message);
    }
}
