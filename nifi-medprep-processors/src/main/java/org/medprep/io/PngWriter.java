/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.io;

import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.awt.image.DataBufferUShort;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Iterator;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;
import org.medprep.image.Image;

/**
 * Writes a 2D integer {@link Image} as PNG (ISO/IEC 15948, via the JDK's javax.imageio PNG encoder), samples
 * unchanged (no scaling, no windowing, no gamma): row y = 0 is the top row.
 *
 * <ul>
 *   <li>1 channel, UINT8, or INT8 with no negative value: 8-bit grayscale.</li>
 *   <li>1 channel, UINT16, or INT16/INT32 whose values all lie in 0..65535: 16-bit grayscale.</li>
 *   <li>3 channels UINT8 (R, G, B): 8-bit truecolour.</li>
 * </ul>
 * Anything else — depth &gt; 1 (a volume), FLOAT32, a negative value, a value above 65535, another channel
 * count, multi-channel non-UINT8 — throws {@link IllegalArgumentException} with a sentence saying why (PNG has
 * no float or signed samples; normalize or convert to an integer type first, or choose NIfTI/NumPy output).
 * Geometry and the rescale slope/intercept are not stored. The stream is not closed.
 */
public final class PngWriter {

    private PngWriter() {
    }

    /**
     * @param image a 2D integer image as listed above
     * @param out   where the PNG bytes go (not closed)
     * @throws IllegalArgumentException when the image cannot be represented in PNG (reason in the message)
     * @throws IOException              when the stream fails
     */
    public static void write(Image image, OutputStream out) throws IOException {
        BufferedImage bi = toBufferedImage(image);
        Iterator<ImageWriter> it = ImageIO.getImageWritersByFormatName("png");
        if (!it.hasNext()) {
            throw new IOException("no PNG encoder available in this JVM");
        }
        ImageWriter writer = it.next();
        try (ImageOutputStream ios = new MemoryCacheImageOutputStream(out)) {
            writer.setOutput(ios);
            writer.write(null, new IIOImage(bi, null, null), writer.getDefaultWriteParam());
            ios.flush();
        } finally {
            writer.dispose();
        }
        out.flush();
    }

    /** The BufferedImage PNG encodes, or IllegalArgumentException when the image does not fit PNG. */
    static BufferedImage toBufferedImage(Image image) {
        if (image.depth() != 1) {
            throw new IllegalArgumentException("PNG output needs a 2D image, but this one has " + image.depth()
                    + " slices; choose NIfTI or NumPy output for volumes.");
        }
        if (!image.type().integer()) {
            throw new IllegalArgumentException("PNG output needs integer samples, but this image is "
                    + image.type() + "; convert or normalize to an integer type first, or choose NIfTI or NumPy output.");
        }
        int w = image.width();
        int h = image.height();
        int n = w * h * image.channels();
        if (image.channels() == 3) {
            if (image.type() != org.medprep.image.VoxelType.UINT8) {
                throw new IllegalArgumentException("PNG output of a 3-channel image needs UINT8 samples, but this "
                        + "image is " + image.type() + ".");
            }
            BufferedImage bi = new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR);
            byte[] dst = ((DataBufferByte) bi.getRaster().getDataBuffer()).getData();
            byte[] src = (byte[]) image.data();
            for (int i = 0; i < n; i += 3) {
                dst[i] = src[i + 2];
                dst[i + 1] = src[i + 1];
                dst[i + 2] = src[i];
            }
            return bi;
        }
        if (image.channels() != 1) {
            throw new IllegalArgumentException("PNG output needs 1 (grayscale) or 3 (RGB) channels, but this image "
                    + "has " + image.channels() + ".");
        }
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        if (image.type() != org.medprep.image.VoxelType.UINT8 && image.type() != org.medprep.image.VoxelType.UINT16) {
            for (int i = 0; i < n; i++) {
                double v = image.get(i);
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
            if (min < 0 || max > 65535) {
                throw new IllegalArgumentException("PNG output needs values in 0.." + (image.type().bytes() == 1
                        ? 255 : 65535) + ", but this " + image.type() + " image holds " + (long) min + ".."
                        + (long) max + "; rescale or normalize first, or choose NIfTI or NumPy output.");
            }
        }
        boolean eight = image.type().bytes() == 1;
        BufferedImage bi = new BufferedImage(w, h, eight ? BufferedImage.TYPE_BYTE_GRAY : BufferedImage.TYPE_USHORT_GRAY);
        if (eight) {
            System.arraycopy(image.data(), 0, ((DataBufferByte) bi.getRaster().getDataBuffer()).getData(), 0, n);
        } else {
            short[] dst = ((DataBufferUShort) bi.getRaster().getDataBuffer()).getData();
            if (image.data() instanceof short[] s) {
                System.arraycopy(s, 0, dst, 0, n);
            } else {
                int[] src = (int[]) image.data();
                for (int i = 0; i < n; i++) {
                    dst[i] = (short) src[i];
                }
            }
        }
        return bi;
    }
}
