/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.io;

import java.awt.image.Raster;
import org.libjpegturbo.turbojpeg.TJ;
import org.libjpegturbo.turbojpeg.TJDecompressor;
import org.libjpegturbo.turbojpeg.TJException;
import org.medprep.image.Geometry;
import org.medprep.image.Image;
import org.medprep.image.ImageMetadata;
import org.medprep.image.VoxelType;

/**
 * Reads a JPEG file (ISO/IEC 10918-1: baseline, extended and progressive Huffman, arithmetic; 8-bit samples)
 * with libjpeg-turbo's TurboJPEG API when the machine has it (Debian: {@code libturbojpeg0} and
 * {@code libturbojpeg-java}), else with the JDK's decoder (javax.imageio, about half as fast). Both are libjpeg
 * decoders with the accurate integer inverse DCT, and both give OpenCV's values ({@code cv2.imread}, itself
 * libjpeg-turbo) for grayscale JPEGs; the tests compare each with python3-opencv.
 *
 * <p><b>Result.</b> A 2D {@link Image}, UINT8, row y = 0 at the top, {@link Geometry#UNIT}: 1 channel for a
 * grayscale JPEG; for a colour (YCbCr or RGB) JPEG 3 channels R, G, B, or with {@link ColorHandling#GRAYSCALE}
 * 1 channel of the decoder's luma (libjpeg's {@code JCS_GRAYSCALE} output, what {@code cv2.IMREAD_GRAYSCALE}
 * gives). Metadata: {@link ImageMetadata#picture} "JPEG", 8 bits, MONOCHROME2 or RGB.
 *
 * <p><b>Errors.</b> The size from the frame header is checked against {@link ReadLimits} before any pixel memory
 * is allocated ({@link ImageReadException.Problem#TOO_LARGE}). Every libjpeg warning is an error
 * ({@link ImageReadException.Problem#CORRUPT}): "Premature end of JPEG file" (a truncated file, which libjpeg
 * would otherwise fill with gray), "Corrupt JPEG data: …", bad Huffman codes. CMYK/YCCK JPEG, 12-bit JPEG and
 * what the decoder calls unsupported are {@link ImageReadException.Problem#UNSUPPORTED}.
 */
public final class JpegReader {

    private static final boolean TURBOJPEG = turboJpegLoads();

    private JpegReader() {
    }

    /** True when libjpeg-turbo's TurboJPEG library was found and is used; false: the JDK's decoder is. */
    public static boolean usesTurboJpeg() {
        return TURBOJPEG;
    }

    /** Decoder name, for what a step records: "libjpeg-turbo (TurboJPEG)" or "JDK ImageIO". */
    public static String decoderName() {
        return TURBOJPEG ? "libjpeg-turbo (TurboJPEG)" : "JDK ImageIO";
    }

    /**
     * @param content the whole file
     * @param limits  size limits, checked from the frame header before decoding
     * @param color   what to do with a colour JPEG
     * @throws ImageReadException CORRUPT, TOO_LARGE or UNSUPPORTED as described in the class comment
     */
    public static DecodedImage read(byte[] content, ReadLimits limits, ColorHandling color)
            throws ImageReadException {
        return TURBOJPEG ? readTurbo(content, limits, color) : readImageIo(content, limits, color);
    }

    /** The JDK decoder, also when TurboJPEG is present (for tests that compare the two). */
    static DecodedImage readImageIo(byte[] content, ReadLimits limits, ColorHandling color)
            throws ImageReadException {
        if (color == ColorHandling.KEEP_CHANNELS) {
            return new DecodedImage(PictureReader.toImage(PictureReader.decodeImageIo(content, "JPEG", limits),
                    "JPEG"), java.util.Map.of());
        }
        // luma: the raw (not colour-converted) raster's first band is Y for a YCbCr JPEG, the image for a gray one
        Raster raw = PictureReader.decodeRawRasterImageIo(content, "JPEG", limits);
        int bands = raw.getNumBands();
        if (bands != 1 && bands != 3) {
            throw unsupported("has " + bands + " colour components (e.g. CMYK); only grayscale and YCbCr are "
                    + "supported");
        }
        int w = raw.getWidth();
        int h = raw.getHeight();
        Image img = Image.allocate(VoxelType.UINT8, w, h, 1, 1, Geometry.UNIT,
                ImageMetadata.picture("JPEG", 8, "MONOCHROME2"));
        int[] row = new int[w];
        byte[] dst = (byte[]) img.data();
        for (int y = 0; y < h; y++) {
            raw.getSamples(raw.getMinX(), raw.getMinY() + y, w, 1, 0, row);
            for (int x = 0; x < w; x++) {
                dst[y * w + x] = (byte) row[x];
            }
        }
        return new DecodedImage(img, java.util.Map.of());
    }

    static DecodedImage readTurbo(byte[] content, ReadLimits limits, ColorHandling color)
            throws ImageReadException {
        try (TJDecompressor tj = new TJDecompressor()) {
            tj.setSourceImage(content, content.length);
            int w = tj.getWidth();
            int h = tj.getHeight();
            int colorspace = tj.getColorspace();
            if (colorspace == TJ.CS_CMYK || colorspace == TJ.CS_YCCK) {
                throw unsupported("is " + (colorspace == TJ.CS_CMYK ? "CMYK" : "YCCK")
                        + "; only grayscale and RGB/YCbCr JPEG are supported");
            }
            boolean gray = colorspace == TJ.CS_GRAY || color == ColorHandling.GRAYSCALE;
            int channels = gray ? 1 : 3;
            limits.check(w, h, 1, channels);
            Image img = Image.allocate(VoxelType.UINT8, w, h, 1, channels, Geometry.UNIT,
                    ImageMetadata.picture("JPEG", 8, gray ? "MONOCHROME2" : "RGB"));
            tj.decompress((byte[]) img.data(), 0, 0, w, w * channels, h, gray ? TJ.PF_GRAY : TJ.PF_RGB,
                    TJ.FLAG_STOPONWARNING | TJ.FLAG_ACCURATEDCT);
            return new DecodedImage(img, java.util.Map.of());
        } catch (TJException e) {
            String msg = HeaderChecks.clean(e.getMessage()).isEmpty() ? "no message" : HeaderChecks.clean(e.getMessage());
            if (msg.toLowerCase(java.util.Locale.ROOT).contains("unsupported")) {
                throw unsupported("uses an encoding this build cannot decode: " + msg);
            }
            throw new ImageReadException(ImageReadException.Problem.CORRUPT,
                    "The JPEG image is damaged or truncated: libjpeg-turbo reported \"" + msg + "\".", e);
        } catch (IllegalStateException e) {
            // TurboJPEG's Java wrapper: a header it could not read leaves "no JPEG image associated"
            throw new ImageReadException(ImageReadException.Problem.CORRUPT,
                    "The JPEG image is damaged or truncated: libjpeg-turbo found no readable JPEG header.", e);
        }
    }

    private static ImageReadException unsupported(String what) {
        return new ImageReadException(ImageReadException.Problem.UNSUPPORTED, "The JPEG image " + what + ".");
    }

    /**
     * Loads TurboJPEG's JNI library once (its loader looks for {@code libturbojpeg.so} on java.library.path and in
     * /usr/lib/x86_64-linux-gnu) and decodes nothing; false when the classes or the library are missing.
     */
    private static boolean turboJpegLoads() {
        if (Boolean.getBoolean("medprep.jpeg.imageio")) {
            return false;
        }
        try (TJDecompressor ignored = new TJDecompressor()) {
            return true;
        } catch (Exception | LinkageError e) {
            return false;
        }
    }
}
