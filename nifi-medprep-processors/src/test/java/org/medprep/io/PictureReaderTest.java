/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.medprep.image.Geometry;
import org.medprep.image.Image;
import org.medprep.image.VoxelType;
import org.medprep.testutil.Python;

/** PictureReader on real pictures from Debian's python3-skimage, compared with OpenCV's imread(IMREAD_UNCHANGED). */
class PictureReaderTest {

    static final Path SKIMAGE = Path.of("/usr/lib/python3/dist-packages/skimage/data");

    @TempDir
    Path tmp;

    private Image readReal(String name) throws Exception {
        Path f = SKIMAGE.resolve(name);
        Assumptions.assumeTrue(Files.isRegularFile(f), "python3-skimage data not installed");
        return ImageReaders.read(Files.readAllBytes(f), ReadLimits.DEFAULT).image();
    }

    private byte[] cv2(Path f, Image img) throws Exception {
        return cv2(f, img, "unchanged");
    }

    /** OpenCV's samples of {@code f} in one of picture_ref.py's modes, after checking shape and type. */
    private byte[] cv2(Path f, Image img, String mode) throws Exception {
        Path raw = tmp.resolve(f.getFileName() + "." + mode + ".raw");
        JsonNode ref = Python.json("picture_ref.py", f.toString(), raw.toString(), mode);
        assertEquals(img.height(), ref.get("shape").get(0).asInt(), "rows");
        assertEquals(img.width(), ref.get("shape").get(1).asInt(), "columns");
        assertEquals(img.channels(), ref.get("shape").size() > 2 ? ref.get("shape").get(2).asInt() : 1, "channels");
        assertEquals(img.type() == VoxelType.UINT16 ? "uint16" : "uint8", ref.get("dtype").asText());
        return Files.readAllBytes(raw);
    }

    /** Lossless formats (grayscale and RGB PNG, 16-bit TIFF in both byte orders): exactly OpenCV's values. */
    @ParameterizedTest
    @ValueSource(strings = {"camera.png", "coins.png", "moon.png", "page.png", "text.png", "brick.png",
            "cell.png", "checker_bilevel.png", "chessboard_GRAY.png", "microaneurysms.png", "clock_motion.png",
            "astronaut.png", "chelsea.png", "coffee.png", "horse.png", "logo.png", "chessboard_RGB.png",
            "palette_color.png", "green_palette.png", "chessboard_GRAY_U16.tif", "chessboard_GRAY_U16B.tif",
            "multipage.tif"})
    void losslessEqualsOpenCv(String name) throws Exception {
        Image img = readReal(name);
        assertEquals(1, img.depth());
        assertTrue(img.geometry().equals(Geometry.UNIT));
        byte[] ref = cv2(SKIMAGE.resolve(name), img);
        assertArrayEquals(ref, TestImages.bytesLE(img), name);
        System.out.printf("%s: %s bits=%d %s identical to cv2%n", name, img, img.metadata().bitsStored(),
                img.metadata().photometricInterpretation());
    }

    /** JPEG: decoders (JDK's libjpeg 6b port vs OpenCV's libjpeg-turbo) may differ by rounding. */
    @ParameterizedTest
    @ValueSource(strings = {"retina.jpg", "rocket.jpg", "hubble_deep_field.jpg"})
    void jpegCloseToOpenCv(String name) throws Exception {
        Image img = readReal(name);
        byte[] ref = cv2(SKIMAGE.resolve(name), img);
        byte[] ours = (byte[]) img.data();
        int same = 0;
        int maxDiff = 0;
        for (int i = 0; i < ours.length; i++) {
            int d = Math.abs((ours[i] & 0xFF) - (ref[i] & 0xFF));
            same += d == 0 ? 1 : 0;
            maxDiff = Math.max(maxDiff, d);
        }
        double frac = (double) same / ours.length;
        System.out.printf("%s: %s identical %.5f max diff %d%n", name, img, frac, maxDiff);
        assertTrue(frac >= 0.999, name + " identical fraction " + frac);
        assertTrue(maxDiff <= 2, name + " max diff " + maxDiff);
    }

    /** A grayscale JPEG (encoded here from camera.png by the JDK encoder) decodes like OpenCV's. */
    @Test
    void grayscaleJpegCloseToOpenCv() throws Exception {
        Image cam = readReal("camera.png");
        java.awt.image.BufferedImage bi = new java.awt.image.BufferedImage(cam.width(), cam.height(),
                java.awt.image.BufferedImage.TYPE_BYTE_GRAY);
        System.arraycopy(cam.data(), 0, ((java.awt.image.DataBufferByte) bi.getRaster().getDataBuffer()).getData(), 0,
                cam.size());
        Path f = tmp.resolve("camera.jpg");
        assertTrue(javax.imageio.ImageIO.write(bi, "jpeg", f.toFile()));
        Image img = ImageReaders.read(Files.readAllBytes(f), ReadLimits.DEFAULT).image();
        assertEquals(1, img.channels());
        assertEquals("JPEG", img.metadata().format());
        byte[] ref = cv2(f, img);
        byte[] ours = (byte[]) img.data();
        int same = 0;
        int maxDiff = 0;
        for (int i = 0; i < ours.length; i++) {
            int d = Math.abs((ours[i] & 0xFF) - (ref[i] & 0xFF));
            same += d == 0 ? 1 : 0;
            maxDiff = Math.max(maxDiff, d);
        }
        System.out.printf("gray JPEG: identical %.5f max diff %d%n", (double) same / ours.length, maxDiff);
        assertTrue(same >= 0.999 * ours.length);
        assertTrue(maxDiff <= 2);
    }

    @Test
    void sixteenBitPngExact() throws Exception {
        Image img = Image.allocate(VoxelType.UINT16, 300, 200, 1, 1, Geometry.UNIT,
                org.medprep.image.ImageMetadata.picture("PNG", 16, "MONOCHROME2"));
        for (int i = 0; i < img.size(); i++) {
            img.set(i, (i * 7919L) % 65536);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PngWriter.write(img, out);
        Image back = ImageReaders.read(out.toByteArray(), ReadLimits.DEFAULT).image();
        assertEquals(VoxelType.UINT16, back.type());
        assertEquals(16, back.metadata().bitsStored());
        assertArrayEquals((short[]) img.data(), (short[]) back.data());
    }

    @ParameterizedTest
    @ValueSource(strings = {"camera.png", "astronaut.png", "retina.jpg", "rocket.jpg", "chessboard_GRAY_U16.tif"})
    void truncatedAt60PercentIsCorrupt(String name) throws Exception {
        Path f = SKIMAGE.resolve(name);
        Assumptions.assumeTrue(Files.isRegularFile(f), "python3-skimage data not installed");
        byte[] all = Files.readAllBytes(f);
        byte[] cut = Arrays.copyOf(all, all.length * 6 / 10);
        ImageReadException e = assertThrows(ImageReadException.class, () -> ImageReaders.read(cut, ReadLimits.DEFAULT));
        assertEquals(ImageReadException.Problem.CORRUPT, e.problem(), e.getMessage());
        System.out.println(name + " cut at 60%: " + e.getMessage());
    }

    @Test
    void skimageTruncatedJpegIsCorrupt() throws Exception {
        Path f = SKIMAGE.resolve("truncated.jpg");
        Assumptions.assumeTrue(Files.isRegularFile(f), "python3-skimage data not installed");
        ImageReadException e = assertThrows(ImageReadException.class,
                () -> ImageReaders.read(Files.readAllBytes(f), ReadLimits.DEFAULT));
        assertEquals(ImageReadException.Problem.CORRUPT, e.problem(), e.getMessage());
    }

    @Test
    void declaredHugePngIsTooLargeWithoutDecoding() throws Exception {
        ByteBuffer b = ByteBuffer.allocate(8 + 25);
        b.put(new byte[]{(byte) 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A});
        b.putInt(13).put(new byte[]{'I', 'H', 'D', 'R'}).putInt(65535).putInt(65535)
                .put((byte) 16).put((byte) 0).put((byte) 0).put((byte) 0).put((byte) 0);
        CRC32 crc = new CRC32();
        crc.update(b.array(), 12, 17);
        b.putInt((int) crc.getValue());
        byte[] png = b.array();
        long t0 = System.nanoTime();
        ImageReadException e = assertThrows(ImageReadException.class, () -> ImageReaders.read(png, ReadLimits.DEFAULT));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(ImageReadException.Problem.TOO_LARGE, e.problem(), e.getMessage());
        assertTrue(ms < 1000, "took " + ms + " ms");
        System.out.println("65535x65535 PNG: " + e.getMessage() + " in " + ms + " ms");
    }

    /**
     * Color Images = Convert to Grayscale on real colour JPEGs and PNGs (RGB, RGBA, palette, 16-bit RGB) and a
     * 3-channel JPEG of a gray X-ray-like picture (as about 5 % of public chest X-ray JPEGs are stored): exactly
     * OpenCV's cv2.imread(IMREAD_GRAYSCALE | IMREAD_ANYDEPTH).
     */
    @ParameterizedTest
    @ValueSource(strings = {"retina.jpg", "rocket.jpg", "hubble_deep_field.jpg", "astronaut.png", "chelsea.png",
            "coffee.png", "horse.png", "logo.png", "palette_color.png", "green_palette.png", "chessboard_RGB.png",
            "camera.png", "moon.png", "chessboard_GRAY_U16.tif"})
    void grayscaleConversionEqualsOpenCvImreadGrayscale(String name) throws Exception {
        Path f = SKIMAGE.resolve(name);
        Assumptions.assumeTrue(Files.isRegularFile(f), "python3-skimage data not installed");
        Image img = ImageReaders.read(Files.readAllBytes(f), ReadLimits.DEFAULT, ColorHandling.GRAYSCALE).image();
        if (name.endsWith(".tif")) {   // TIFF is converted by the caller (ops.Grayscale); gray TIFF stays as is
            assertEquals(1, img.channels());
            return;
        }
        assertEquals(1, img.channels(), name);
        assertEquals("MONOCHROME2", img.metadata().photometricInterpretation());
        assertArrayEquals(cv2(f, img, "gray"), TestImages.bytesLE(img), name);
        System.out.printf("%s as grayscale: %s identical to cv2.IMREAD_GRAYSCALE%n", name, img);
    }

    /** A gray picture stored as a 3-channel (YCbCr 4:2:0) JPEG, written by OpenCV as the Kaggle set's are. */
    @Test
    void threeChannelGrayJpegBecomesItsLumaLikeOpenCv() throws Exception {
        Path f = tmp.resolve("person1_bacteria_1.jpeg");
        Python.json("picture_ref_make.py", SKIMAGE.resolve("camera.png").toString(), f.toString());
        Image keep = ImageReaders.read(Files.readAllBytes(f), ReadLimits.DEFAULT).image();
        assertEquals(3, keep.channels(), "the file really has three channels");
        Image gray = ImageReaders.read(Files.readAllBytes(f), ReadLimits.DEFAULT, ColorHandling.GRAYSCALE).image();
        assertArrayEquals(cv2(f, gray, "gray"), TestImages.bytesLE(gray));
    }

    /** This machine has libjpeg-turbo's TurboJPEG (./medprep installs it): the fast decoder is the one in use. */
    @Test
    void turboJpegIsInUse() {
        assertTrue(JpegReader.usesTurboJpeg(), "TurboJPEG did not load: " + JpegReader.decoderName());
    }

    /** The JDK fallback decodes every real JPEG, kept or converted to gray, to the same samples as TurboJPEG. */
    @ParameterizedTest
    @ValueSource(strings = {"retina.jpg", "rocket.jpg", "hubble_deep_field.jpg"})
    void imageIoFallbackEqualsTurboJpeg(String name) throws Exception {
        Path f = SKIMAGE.resolve(name);
        Assumptions.assumeTrue(Files.isRegularFile(f) && JpegReader.usesTurboJpeg());
        byte[] b = Files.readAllBytes(f);
        for (ColorHandling c : ColorHandling.values()) {
            Image turbo = JpegReader.readTurbo(b, ReadLimits.DEFAULT, c).image();
            Image jdk = JpegReader.readImageIo(b, ReadLimits.DEFAULT, c).image();
            assertEquals(turbo.channels(), jdk.channels(), name + " " + c);
            int differ = 0;
            int maxDiff = 0;
            byte[] x = (byte[]) turbo.data();
            byte[] y = (byte[]) jdk.data();
            for (int i = 0; i < x.length; i++) {
                int d = Math.abs((x[i] & 0xFF) - (y[i] & 0xFF));
                differ += d == 0 ? 0 : 1;
                maxDiff = Math.max(maxDiff, d);
            }
            System.out.printf("%s %s: JDK vs TurboJPEG differ in %d of %d samples, max %d%n", name, c, differ,
                    x.length, maxDiff);
            // gray output is the IDCT's Y alone: identical; RGB goes through each library's own upsampling
            if (c == ColorHandling.GRAYSCALE) {
                assertEquals(0, differ, name);
            } else {
                assertTrue(maxDiff <= 2 && differ <= x.length / 1000, name + " " + differ + " max " + maxDiff);
            }
        }
    }

    /** Both JPEG decoders refuse a truncated file instead of filling it with gray. */
    @Test
    void bothJpegDecodersRefuseTruncation() throws Exception {
        Path f = SKIMAGE.resolve("retina.jpg");
        Assumptions.assumeTrue(Files.isRegularFile(f));
        byte[] all = Files.readAllBytes(f);
        byte[] cut = Arrays.copyOf(all, all.length * 6 / 10);
        for (ColorHandling c : ColorHandling.values()) {
            ImageReadException e1 = assertThrows(ImageReadException.class,
                    () -> JpegReader.readImageIo(cut, ReadLimits.DEFAULT, c));
            assertEquals(ImageReadException.Problem.CORRUPT, e1.problem());
            if (JpegReader.usesTurboJpeg()) {
                ImageReadException e2 = assertThrows(ImageReadException.class,
                        () -> JpegReader.readTurbo(cut, ReadLimits.DEFAULT, c));
                assertEquals(ImageReadException.Problem.CORRUPT, e2.problem());
                System.out.println("truncated, TurboJPEG: " + e2.getMessage());
            }
        }
    }

    /** Colour that no decoder converts (here a PNG read with its channels kept): ops.Grayscale = cv2.cvtColor. */
    @ParameterizedTest
    @ValueSource(strings = {"astronaut.png", "coffee.png", "chessboard_RGB.png"})
    void grayscaleOfKeptChannelsEqualsOpenCvCvtColor(String name) throws Exception {
        Image rgb = readReal(name);
        Image gray = org.medprep.ops.Grayscale.fromRgb(rgb);
        assertEquals(1, gray.channels());
        assertEquals(rgb.type(), gray.type());
        assertArrayEquals(cv2(SKIMAGE.resolve(name), gray, "cvtgray"), TestImages.bytesLE(gray), name);
    }
}
