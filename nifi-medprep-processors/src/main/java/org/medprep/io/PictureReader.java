/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.io;

import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentSampleModel;
import java.awt.image.DataBufferByte;
import java.awt.image.DataBufferShort;
import java.awt.image.DataBufferUShort;
import java.awt.image.DataBuffer;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import javax.imageio.ImageIO;
import java.awt.color.ColorSpace;
import java.awt.color.ICC_ColorSpace;
import javax.imageio.ImageReadParam;
import javax.imageio.ImageReader;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;
import org.medprep.image.Geometry;
import org.medprep.image.Image;
import org.medprep.image.ImageMetadata;
import org.medprep.image.VoxelType;

/**
 * Reads a 2D picture — PNG (ISO/IEC 15948, by {@link PngReader} through OpenCV), JPEG (ISO/IEC 10918-1, by
 * {@link JpegReader} through libjpeg-turbo) or TIFF (TIFF 6.0, here through javax.imageio: the JDK's decoders,
 * jai-imageio-core adds readers too). The result is a 2D {@link Image} (depth 1), row y = 0 at the top,
 * {@link Geometry#UNIT} (1 mm spacing, no real geometry known).
 *
 * <p><b>TIFF samples</b> come from the decoded raster, never through a colour conversion: grayscale 8-bit →
 * UINT8, 16-bit → UINT16, signed 16-bit → INT16, 32-bit integer → INT32, float → FLOAT32; RGB → 3 channels
 * R, G, B (alpha dropped); palette images: a palette whose entries are all gray gives 1 channel of the entries'
 * gray value, any other 3 channels RGB UINT8. A multi-page TIFF gives its first page only. Colour TIFFs are kept
 * as 3 channels here; {@link ColorHandling#GRAYSCALE} is applied by the caller for them (as for DICOM RGB).
 * Metadata: {@link ImageMetadata#picture} with format "PNG"/"JPEG"/"TIFF", bitsStored from the sample size
 * and photometric "MONOCHROME2" or "RGB".
 *
 * <p><b>Errors.</b> The width and height are read from the header and checked against {@link ReadLimits} (with the
 * bytes of the decoder's raster sample type plus our copy, against the memory this JVM can give) before
 * any pixel is decoded: {@link ImageReadException.Problem#TOO_LARGE}. A TIFF whose strips or tiles (first
 * directory) reach beyond the end of the file, or that the decoder cannot read, is
 * {@link ImageReadException.Problem#CORRUPT}; PNG and JPEG rules are in their readers' comments.
 */
public final class PictureReader {

    private PictureReader() {
    }

    /**
     * @param content the whole file
     * @param format  PNG, JPEG or TIFF, as {@link ImageFormat#sniff} found it
     * @param limits  size limits checked from the header before decoding
     * @param color   what to do with colour images ({@link ColorHandling})
     * @return the 2D image and an empty header map
     * @throws ImageReadException CORRUPT, TOO_LARGE or UNSUPPORTED as described in the class comment
     */
    public static DecodedImage read(byte[] content, ImageFormat format, ReadLimits limits, ColorHandling color)
            throws ImageReadException {
        return switch (format) {
            case PNG -> PngReader.read(content, limits, color);
            case JPEG -> JpegReader.read(content, limits, color);
            case TIFF -> {
                checkTiff(content);
                yield new DecodedImage(toImage(decodeImageIo(content, "TIFF", limits), "TIFF"), Map.of());
            }
            default -> throw new IllegalArgumentException("PictureReader reads PNG, JPEG or TIFF, not " + format);
        };
    }

    /**
     * Decodes the first image with the JDK's decoder for {@code name} ("JPEG", "TIFF"), size checked from the
     * header first; a decoder warning (PNG, JPEG) or exception is CORRUPT, "unsupported" messages UNSUPPORTED.
     */
    static BufferedImage decodeImageIo(byte[] content, String name, ReadLimits limits) throws ImageReadException {
        return (BufferedImage) decodeWithImageIo(content, name, limits, false);
    }

    /** As {@link #decodeImageIo} but the raw raster, without colour conversion (YCbCr stays YCbCr). */
    static Raster decodeRawRasterImageIo(byte[] content, String name, ReadLimits limits) throws ImageReadException {
        return (Raster) decodeWithImageIo(content, name, limits, true);
    }

    private static Object decodeWithImageIo(byte[] content, String name, ReadLimits limits, boolean raster)
            throws ImageReadException {
        ImageReader reader = decoder(name);
        List<String> warnings = new ArrayList<>();
        Object decoded;
        try (ImageInputStream iis = new MemoryCacheImageInputStream(new ByteArrayInputStream(content))) {
            reader.setInput(iis, true, true);
            reader.addIIOReadWarningListener((source, warning) -> warnings.add(warning));
            int w = reader.getWidth(0);
            int h = reader.getHeight(0);
            ImageTypeSpecifier raw = reader.getRawImageType(0);
            // the decoder's raster (its own sample type, e.g. double for a floating-point TIFF) plus our copy
            int bands = raw == null ? 3 : Math.max(1, raw.getNumBands());
            long rasterBytes = raw == null ? 4
                    : Math.max(1, java.awt.image.DataBuffer.getDataTypeSize(raw.getSampleModel().getDataType()) / 8);
            limits.check(w, h, 1, bands, rasterBytes + 4);
            decoded = raster ? reader.readRaster(0, reader.getDefaultReadParam())
                    : reader.read(0, rawParam(reader, name));
        } catch (ImageReadException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            String msg = e.getMessage();
            if (msg != null && msg.toLowerCase().contains("unsupported")) {
                throw new ImageReadException(ImageReadException.Problem.UNSUPPORTED,
                        "The " + name + " image uses an encoding this build cannot decode: " + HeaderChecks.clean(msg)
                                + ".", e);
            }
            throw new ImageReadException(ImageReadException.Problem.CORRUPT,
                    "The " + name + " image is damaged or truncated"
                            + (HeaderChecks.clean(msg).isEmpty() ? "" : ": " + HeaderChecks.clean(msg)) + ".", e);
        } finally {
            reader.dispose();
        }
        if (!warnings.isEmpty() && !name.equals("TIFF")) {
            throw new ImageReadException(ImageReadException.Problem.CORRUPT,
                    "The " + name + " image is damaged or truncated: the decoder reported \""
                            + HeaderChecks.clean(warnings.get(0)) + "\".");
        }
        return decoded;
    }

    /**
     * For a JPEG with an embedded ICC profile, the JDK decoder converts the decoded RGB to sRGB through the
     * profile unless the destination type is the profile's own colour space: choose that type so the samples are
     * the decoded values themselves, as libjpeg (and OpenCV, pydicom) give them.
     */
    private static ImageReadParam rawParam(ImageReader reader, String format) throws IOException {
        ImageReadParam param = reader.getDefaultReadParam();
        if (!format.equals("JPEG")) {
            return param;
        }
        Iterator<ImageTypeSpecifier> types = reader.getImageTypes(0);
        while (types.hasNext()) {
            ImageTypeSpecifier t = types.next();
            ColorSpace cs = t.getColorModel().getColorSpace();
            if (cs instanceof ICC_ColorSpace && !cs.isCS_sRGB() && cs.getType() == ColorSpace.TYPE_RGB
                    && cs != ColorSpace.getInstance(ColorSpace.CS_LINEAR_RGB)) {
                param.setDestinationType(t);
                break;
            }
        }
        return param;
    }

    /**
     * The JDK's own decoder when present (com.sun.imageio), else the first registered one: the registry's order
     * can change with class loading (jai-imageio registers a second TIFF reader), and the result must not.
     */
    private static ImageReader decoder(String name) throws ImageReadException {
        ImageReader first = null;
        Iterator<ImageReader> readers = ImageIO.getImageReadersByFormatName(name.toLowerCase());
        while (readers.hasNext()) {
            ImageReader r = readers.next();
            if (r.getClass().getName().startsWith("com.sun.imageio.")) {
                if (first != null) {
                    first.dispose();
                }
                return r;
            }
            if (first == null) {
                first = r;
            } else {
                r.dispose();
            }
        }
        if (first == null) {
            throw new ImageReadException(ImageReadException.Problem.UNSUPPORTED,
                    "No " + name + " decoder is available in this JVM.");
        }
        return first;
    }

    /**
     * The first TIFF directory's strips or tiles must lie inside the file (decoders may otherwise fill the
     * missing part with zeros). Only classic TIFF is checked; BigTIFF is left to the decoder.
     */
    private static void checkTiff(byte[] b) throws ImageReadException {
        if (b.length < 8) {
            throw corrupt("The TIFF file is truncated inside its header.");
        }
        ByteBuffer bb = ByteBuffer.wrap(b).order(b[0] == 'I' ? ByteOrder.LITTLE_ENDIAN : ByteOrder.BIG_ENDIAN);
        if ((bb.getShort(2) & 0xFFFF) != 42) {
            return;
        }
        long ifd = bb.getInt(4) & 0xFFFFFFFFL;
        if (ifd + 2 > b.length) {
            throw corrupt("The TIFF file is truncated: its first image directory lies beyond the end of the file.");
        }
        int entries = bb.getShort((int) ifd) & 0xFFFF;
        if (ifd + 2 + 12L * entries > b.length) {
            throw corrupt("The TIFF file is truncated inside its first image directory.");
        }
        long[] offsets = null;
        long[] counts = null;
        for (int e = 0; e < entries; e++) {
            int at = (int) ifd + 2 + 12 * e;
            int tag = bb.getShort(at) & 0xFFFF;
            if (tag == 273 || tag == 324) {
                offsets = tiffValues(bb, at);
            } else if (tag == 279 || tag == 325) {
                counts = tiffValues(bb, at);
            }
        }
        if (offsets == null || counts == null) {
            return;
        }
        for (int i = 0; i < Math.min(offsets.length, counts.length); i++) {
            if (offsets[i] + counts[i] > b.length) {
                throw corrupt("The TIFF file is truncated: image data segment " + i + " ends at byte "
                        + (offsets[i] + counts[i]) + " but the file has " + b.length + " bytes.");
            }
        }
    }

    /** SHORT or LONG values of one IFD entry (inline or at its offset); empty when unreadable. */
    private static long[] tiffValues(ByteBuffer bb, int entry) throws ImageReadException {
        int type = bb.getShort(entry + 2) & 0xFFFF;
        long count = bb.getInt(entry + 4) & 0xFFFFFFFFL;
        int size = type == 3 ? 2 : type == 4 ? 4 : 0;
        if (size == 0 || count > bb.capacity()) {
            return new long[0];
        }
        long at = size * count <= 4 ? entry + 8 : bb.getInt(entry + 8) & 0xFFFFFFFFL;
        if (at + size * count > bb.capacity()) {
            throw corrupt("The TIFF file is truncated: a strip or tile table lies beyond the end of the file.");
        }
        long[] v = new long[(int) count];
        for (int i = 0; i < count; i++) {
            int p = (int) at + i * size;
            v[i] = size == 2 ? bb.getShort(p) & 0xFFFF : bb.getInt(p) & 0xFFFFFFFFL;
        }
        return v;
    }

    private static ImageReadException corrupt(String message) {
        return new ImageReadException(ImageReadException.Problem.CORRUPT, message);
    }

    static Image toImage(BufferedImage bi, String format) throws ImageReadException {
        Raster raster = bi.getRaster();
        int w = raster.getWidth();
        int h = raster.getHeight();
        int x0 = raster.getMinX();
        int y0 = raster.getMinY();
        ColorModel cm = bi.getColorModel();
        if (cm instanceof IndexColorModel icm) {
            return fromPalette(raster, icm, format);
        }
        int colors = cm.getNumColorComponents();
        if (colors != 1 && colors != 3) {
            throw new ImageReadException(ImageReadException.Problem.UNSUPPORTED, "The " + format + " image has "
                    + colors + " colour components (e.g. CMYK); only grayscale and RGB are supported.");
        }
        int bands = raster.getNumBands();
        int bits = raster.getSampleModel().getSampleSize(0);
        VoxelType type = switch (raster.getSampleModel().getDataType()) {
            case DataBuffer.TYPE_BYTE -> VoxelType.UINT8;
            case DataBuffer.TYPE_USHORT -> VoxelType.UINT16;
            case DataBuffer.TYPE_SHORT -> VoxelType.INT16;
            case DataBuffer.TYPE_INT -> VoxelType.INT32;
            case DataBuffer.TYPE_FLOAT, DataBuffer.TYPE_DOUBLE -> VoxelType.FLOAT32;
            default -> throw new ImageReadException(ImageReadException.Problem.UNSUPPORTED,
                    "The " + format + " image's sample type is not supported.");
        };
        ImageMetadata md = ImageMetadata.picture(format, type == VoxelType.FLOAT32 ? 32 : Math.min(bits,
                8 * type.bytes()), colors == 1 ? "MONOCHROME2" : "RGB");
        Image img = Image.allocate(type, w, h, 1, colors, Geometry.UNIT, md);
        Object data = img.data();
        if (copiedInBulk(raster, bands, colors, data)) {
            return img;
        }
        if (type == VoxelType.FLOAT32) {
            float[] row = new float[w * bands];
            float[] dst = (float[]) data;
            for (int y = 0; y < h; y++) {
                raster.getPixels(x0, y0 + y, w, 1, row);
                for (int x = 0; x < w; x++) {
                    for (int c = 0; c < colors; c++) {
                        dst[(y * w + x) * colors + c] = row[x * bands + c];
                    }
                }
            }
        } else {
            int[] row = new int[w * bands];
            for (int y = 0; y < h; y++) {
                raster.getPixels(x0, y0 + y, w, 1, row);
                int base = y * w * colors;
                for (int x = 0; x < w; x++) {
                    for (int c = 0; c < colors; c++) {
                        int v = row[x * bands + c];
                        int i = base + x * colors + c;
                        switch (type) {
                            case UINT8 -> ((byte[]) data)[i] = (byte) v;
                            case UINT16, INT16 -> ((short[]) data)[i] = (short) v;
                            default -> ((int[]) data)[i] = v;
                        }
                    }
                }
            }
        }
        return img;
    }

    /**
     * Copies the raster's one bank straight into {@code data} when its layout already is ours (samples
     * interleaved in channel order, rows packed, no offsets): the common case of 8/16-bit gray and RGB, in one
     * {@code System.arraycopy} instead of a per-pixel loop. False (nothing copied) for any other layout.
     */
    private static boolean copiedInBulk(Raster raster, int bands, int colors, Object data) {
        if (bands != colors || raster.getSampleModelTranslateX() != 0 || raster.getSampleModelTranslateY() != 0
                || !(raster.getSampleModel() instanceof ComponentSampleModel sm)
                || sm.getPixelStride() != bands || sm.getScanlineStride() != raster.getWidth() * bands
                || raster.getDataBuffer().getNumBanks() != 1 || raster.getDataBuffer().getOffset() != 0) {
            return false;
        }
        int[] offsets = sm.getBandOffsets();
        for (int b = 0; b < bands; b++) {
            if (offsets[b] != b || sm.getBankIndices()[b] != 0) {
                return false;
            }
        }
        Object bank = switch (raster.getDataBuffer()) {
            case DataBufferByte d -> data instanceof byte[] ? d.getData() : null;
            case DataBufferUShort d -> data instanceof short[] ? d.getData() : null;
            case DataBufferShort d -> data instanceof short[] ? d.getData() : null;
            default -> null;
        };
        int n = raster.getWidth() * raster.getHeight() * bands;
        if (bank == null || java.lang.reflect.Array.getLength(bank) < n) {
            return false;
        }
        System.arraycopy(bank, 0, data, 0, n);
        return true;
    }

    private static Image fromPalette(Raster raster, IndexColorModel icm, String format) {
        int n = icm.getMapSize();
        boolean gray = true;
        for (int i = 0; i < n; i++) {
            if (icm.getRed(i) != icm.getGreen(i) || icm.getRed(i) != icm.getBlue(i)) {
                gray = false;
                break;
            }
        }
        int w = raster.getWidth();
        int h = raster.getHeight();
        int ch = gray ? 1 : 3;
        Image img = Image.allocate(VoxelType.UINT8, w, h, 1, ch, Geometry.UNIT,
                ImageMetadata.picture(format, 8, gray ? "MONOCHROME2" : "RGB"));
        byte[] dst = (byte[]) img.data();
        int[] row = new int[w];
        for (int y = 0; y < h; y++) {
            raster.getSamples(raster.getMinX(), raster.getMinY() + y, w, 1, 0, row);
            for (int x = 0; x < w; x++) {
                int idx = Math.min(row[x], n - 1);
                int i = (y * w + x) * ch;
                dst[i] = (byte) icm.getRed(idx);
                if (!gray) {
                    dst[i + 1] = (byte) icm.getGreen(idx);
                    dst[i + 2] = (byte) icm.getBlue(idx);
                }
            }
        }
        return img;
    }
}
