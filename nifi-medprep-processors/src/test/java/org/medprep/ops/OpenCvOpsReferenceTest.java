/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.medprep.testutil.ProcessorChecks.assertSamePixels;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medprep.image.Geometry;
import org.medprep.image.Image;
import org.medprep.image.ImageMetadata;
import org.medprep.image.VoxelType;
import org.medprep.io.ImageReaders;
import org.medprep.io.NpyWriter;
import org.medprep.io.ReadLimits;
import org.medprep.testutil.Python;
import org.medprep.testutil.RealFiles;

/**
 * Each OpenCV-backed op against Debian's python3-opencv (4.6) running the same call on the same real file, in the
 * same test run. Our OpenCV is openpnp's 4.9 build: where the two versions' SIMD code paths round differently the
 * allowed difference is stated per case (fraction of identical samples, largest difference in stored units).
 */
class OpenCvOpsReferenceTest {

    @TempDir
    Path tmp;

    private static final Path CAMERA = RealFiles.skimage("camera.png");       // 512 x 512 uint8 photograph
    private static final Path MOON = RealFiles.skimage("moon.png");           // 512 x 512 uint8
    private static final Path MR = RealFiles.pydicom("MR_small.dcm");         // 64 x 64 int16 MR
    private static final Path CT = RealFiles.pydicom("CT_small.dcm");         // 128 x 128 int16 CT
    private static final Path U16 = RealFiles.skimage("chessboard_GRAY_U16.tif"); // uint16
    /**
     * python3-nibabel's test file: a Siemens DTI header (BitsStored 12) whose 256 x 256 pixels are a ramp through
     * all 4096 12-bit values, so every bin edge of v >> 4 is exercised.
     */
    private static final Path MR12 = Path.of("/usr/lib/python3/dist-packages/nibabel/tests/data/0.dcm");
    private static final Path CR12 = RealFiles.pydicom("dicomdirtests/77654033/CR1/6154"); // 16 x 16 12-bit CR

    @Test
    void letterboxMatchesTheSeedRuleInPythonOpenCv() throws Exception {
        for (Letterbox.Interpolation interp : Letterbox.Interpolation.values()) {
            // Cubic resize rounds differently in OpenCV 4.6 and 4.9 (97 % identical seen), never by more than 1.
            double minIdentical = interp == Letterbox.Interpolation.CUBIC ? 0.95 : 0.999;
            compare(CAMERA, img -> Letterbox.apply(img, 224, 160, 0, interp).image(), minIdentical, 1,
                    "letterbox", "224", "160", "0", interp.name());
        }
        compare(MOON, img -> Letterbox.apply(img, 200, 300, 17, Letterbox.Interpolation.LINEAR).image(),
                0.999, 1, "letterbox", "200", "300", "17", "LINEAR");
        compare(CT, img -> Letterbox.apply(img, 224, 224, 0, Letterbox.Interpolation.AREA).image(), 0.999, 1,
                "letterbox", "224", "224", "0", "AREA");
        // 16-bit bilinear: 4.9 and 4.6 round about 0.3 % of samples differently (99.69 % identical seen), by 1 unit.
        compare(MR, img -> Letterbox.apply(img, 224, 224, 0, Letterbox.Interpolation.LINEAR).image(), 0.99, 1,
                "letterbox", "224", "224", "0", "LINEAR");
        compare(U16, img -> Letterbox.apply(img, 224, 224, 0, Letterbox.Interpolation.LINEAR).image(), 0.99, 1,
                "letterbox", "224", "224", "0", "LINEAR");
    }

    @Test
    void letterboxGeometryKeepsPixelsInPlace() throws Exception {
        Image ct = read(CT);
        Letterbox.Result r = Letterbox.apply(ct, 300, 200, 0, Letterbox.Interpolation.LINEAR);
        double scale = Math.min(200.0 / 128, 300.0 / 128);
        assertEquals(scale, r.scale(), 1e-12);
        assertEquals((300 - (int) (128 * scale)) / 2, r.offsetX());
        assertEquals(0, r.offsetY());
        double[] s0 = ct.geometry().spacing();
        double[] s1 = r.image().geometry().spacing();
        assertEquals(s0[0] * 128 / (int) (128 * scale), s1[0], 1e-12);
        // The centre of the input image maps to the centre of the resized block in world space.
        double[] c0 = world(ct, 63.5, 63.5);
        double[] c1 = world(r.image(), r.offsetX() + ((int) (128 * scale) - 1) / 2.0, ((int) (128 * scale) - 1) / 2.0);
        for (int i = 0; i < 3; i++) {
            assertEquals(c0[i], c1[i], 1e-9);
        }
    }

    @Test
    void medianMatchesPythonOpenCv() throws Exception {
        compare(CAMERA, img -> Denoise.median(img, 3), 1.0, 0, "median", "3");
        compare(CAMERA, img -> Denoise.median(img, 7), 1.0, 0, "median", "7");
        compare(MR, img -> Denoise.median(img, 5), 1.0, 0, "median", "5");
    }

    @Test
    void gaussianBilateralAndNonLocalMeansMatchPythonOpenCv() throws Exception {
        compare(CAMERA, img -> Denoise.gaussian(img, 1.5, 1.5), 0.999, 1, "gaussian", "1.5", "1.5");
        // 8-bit bilateral: 4.9's vectorized weights round half the samples differently from 4.6 (50 % identical
        // seen); the bound that matters is one stored unit.
        compare(CAMERA, img -> Denoise.bilateral(img, 5, 50, 5), 0.4, 1, "bilateral", "5", "50", "5");
        compare(CT, img -> Denoise.bilateral(img, 5, 80, 3), 0.999, 1, "bilateral", "5", "80", "3");
        compare(MOON, img -> Denoise.nonLocalMeans(img, 10, 7, 21), 0.999, 1, "nlmeans", "10", "7", "21");
    }

    @Test
    void claheOpenCvNativeMatchesPythonOpenCv() throws Exception {
        compare(CAMERA, img -> Clahe.apply(img, 2.0, 8, 8, Clahe.Bins.OPENCV_NATIVE), 1.0, 0, "clahe", "2.0", "8", "8");
        compare(MOON, img -> Clahe.apply(img, 40, 4, 6, Clahe.Bins.OPENCV_NATIVE), 1.0, 0, "clahe", "40", "4", "6");
        compare(U16, img -> Clahe.apply(img, 2.0, 8, 8, Clahe.Bins.OPENCV_NATIVE), 1.0, 0, "clahe", "2.0", "8", "8");
        // 16-bit with real content: camera x 257 (65,536 bins).
        compare(camera16(), npy(camera16(), "camera16"), img -> Clahe.apply(img, 2.0, 8, 8, Clahe.Bins.OPENCV_NATIVE), 1.0, 0,
                "clahe", "2.0", "8", "8");
    }

    @Test
    void claheDefaultBinsMatchShiftThenPythonOpenCv() throws Exception {
        // 8-bit input: the bins are the values, so the default is OpenCV's own 8-bit CLAHE, bit for bit.
        compare(CAMERA, img -> Clahe.apply(img, 2.0, 8, 8, Clahe.Bins.BITS_STORED_256), 1.0, 0, "clahe", "2.0", "8", "8");
        compare(MOON, img -> Clahe.apply(img, 40, 4, 6, Clahe.Bins.BITS_STORED_256), 1.0, 0, "clahe", "40", "4", "6");
        // 12-bit (BitsStored from the DICOM header): v >> 4, then cv2's 8-bit CLAHE.
        compare(MR12, img -> Clahe.apply(img, 2.0, 8, 8, Clahe.Bins.BITS_STORED_256), 1.0, 0,
                "clahe256", "2.0", "8", "8");
        compare(MR12, img -> Clahe.apply(img, 3.5, 4, 2, Clahe.Bins.BITS_STORED_256), 1.0, 0,
                "clahe256", "3.5", "4", "2");
        compare(CR12, img -> Clahe.apply(img, 2.0, 2, 2, Clahe.Bins.BITS_STORED_256), 1.0, 0,
                "clahe256", "2.0", "2", "2");
        // 16-bit: v >> 8.
        compare(camera16(), npy(camera16(), "camera16"), img -> Clahe.apply(img, 2.0, 8, 8, Clahe.Bins.BITS_STORED_256), 1.0, 0,
                "clahe256", "2.0", "8", "8");
        // int16 (CT, MR) and float32: 256 bins over the image's own range.
        compare(CT, img -> Clahe.apply(img, 2.0, 8, 8, Clahe.Bins.BITS_STORED_256), 1.0, 0,
                "clahe256", "2.0", "8", "8");
        compare(MR, img -> Clahe.apply(img, 2.0, 4, 4, Clahe.Bins.BITS_STORED_256), 1.0, 0,
                "clahe256", "2.0", "4", "4");
        Image ctFloat = ctAsFloat();
        compare(ctFloat, npy(ctFloat, "CT_small-float"), img -> Clahe.apply(img, 2.0, 8, 8, Clahe.Bins.BITS_STORED_256), 1.0, 0,
                "clahe256", "2.0", "8", "8");
    }

    @Test
    void twelveBitImageAndItsEightBitExportGiveIdenticalResults() throws Exception {
        // The real 12-bit CR (MONOCHROME1: inverted once, as the processors do, then exported).
        Image cr = Monochrome.toMonochrome2(read(CR12));
        Image crExport = Image.allocate(VoxelType.UINT8, cr.width(), cr.height(), 1, 1, cr.geometry(),
                ImageMetadata.picture("PNG", 8, "MONOCHROME2"));
        for (int i = 0; i < cr.size(); i++) {
            crExport.set(i, (int) cr.get(i) >> 4);
        }
        assertSamePixels(Clahe.apply(crExport, 2.0, 2, 2, Clahe.Bins.BITS_STORED_256),
                Clahe.apply(cr, 2.0, 2, 2, Clahe.Bins.BITS_STORED_256));

        Image mr = read(MR12);
        assertEquals(12, mr.metadata().bitsStored());
        Image export = Image.allocate(VoxelType.UINT8, mr.width(), mr.height(), 1, 1, mr.geometry(),
                ImageMetadata.picture("PNG", 8, "MONOCHROME2"));
        Image sixteen = Image.allocate(VoxelType.UINT16, mr.width(), mr.height(), 1, 1, mr.geometry(),
                ImageMetadata.picture("PNG", 16, "MONOCHROME2"));
        for (int i = 0; i < mr.size(); i++) {
            export.set(i, (int) mr.get(i) >> 4);
            sixteen.set(i, (int) mr.get(i) << 4);
        }
        Image fromDicom = Clahe.apply(mr, 2.0, 8, 8, Clahe.Bins.BITS_STORED_256);
        assertEquals(VoxelType.UINT8, fromDicom.type());
        assertEquals(8, fromDicom.metadata().bitsStored());
        assertSamePixels(fromDicom, Clahe.apply(export, 2.0, 8, 8, Clahe.Bins.BITS_STORED_256));
        // The same values scaled to 16 bits (BitsStored 16) land in the same bins too.
        assertSamePixels(fromDicom, Clahe.apply(sixteen, 2.0, 8, 8, Clahe.Bins.BITS_STORED_256));
        // Python: export to 8 bits by the shift, then cv2's CLAHE on the 8-bit image.
        compare(MR12, img -> Clahe.apply(img, 2.0, 8, 8, Clahe.Bins.BITS_STORED_256), 1.0, 0,
                "clahe256", "2.0", "8", "8", "export8");

        // OpenCV native (the issue): the 12-bit image and its export differ by far more than rounding.
        Image nativeDicom = Clahe.apply(mr, 2.0, 8, 8, Clahe.Bins.OPENCV_NATIVE);
        Image nativeExport = Clahe.apply(export, 2.0, 8, 8, Clahe.Bins.OPENCV_NATIVE);
        assertSamePixels(nativeExport, fromDicom);
        double mad = 0;
        for (int i = 0; i < mr.size(); i++) {
            mad += Math.abs(nativeDicom.get(i) / 65535 - nativeExport.get(i) / 255);
        }
        mad /= mr.size();
        System.out.printf(Locale.ROOT, "12-bit MR, OpenCV native: mean |DICOM - 8-bit export| on [0,1] = %.4f%n", mad);
        assertTrue(mad > 0.05, "native 16-bit CLAHE differs from the 8-bit export's: " + mad);
    }

    @Test
    void defaultBinsRejectValuesAboveBitsStoredAndNaN() {
        Image u16 = Image.allocate(VoxelType.UINT16, 8, 8, 1, 1, Geometry.UNIT,
                ImageMetadata.picture("PNG", 12, "MONOCHROME2"));
        u16.set(9, 4096);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Clahe.apply(u16, 2.0, 2, 2, Clahe.Bins.BITS_STORED_256));
        assertEquals("a sample value 4096 is above the BitsStored 12 range 0 to 4095, so CLAHE's 256 bins over that "
                + "range cannot hold it", e.getMessage());
        u16.set(9, 4095);
        assertEquals(255, Clahe.apply(u16, 2.0, 2, 2, Clahe.Bins.BITS_STORED_256).get(9));
        Image f = Image.allocate(VoxelType.FLOAT32, 8, 8, 1, 1, Geometry.UNIT,
                ImageMetadata.picture("NIfTI", 16, "MONOCHROME2"));
        f.set(3, Double.NaN);
        assertThrows(IllegalArgumentException.class, () -> Clahe.apply(f, 2.0, 2, 2, Clahe.Bins.BITS_STORED_256));
    }

    @Test
    void binsOfAVolumeUseOneRangeForAllSlices() {
        // Two slices of int16 with different ranges: the bins come from the volume's min and max.
        Image v = Image.allocate(VoxelType.INT16, 2, 2, 2, 1, Geometry.UNIT,
                ImageMetadata.picture("NIfTI", 16, "MONOCHROME2"));
        int[] values = {-1000, -500, 0, 500, 1000, 1500, 2000, 2999};
        for (int i = 0; i < values.length; i++) {
            v.set(i, values[i]);
        }
        Image bins = HistogramBins.apply(v);
        // bin = floor((v + 1000) * 256 / 4000)
        int[] expected = {0, 32, 64, 96, 128, 160, 192, 255};
        for (int i = 0; i < values.length; i++) {
            assertEquals(expected[i], bins.get(i), "sample " + i);
        }
        assertEquals(8, bins.metadata().bitsStored());
        assertEquals(VoxelType.UINT8, bins.type());
    }

    private static double[] world(Image img, double x, double y) {
        double[] o = img.geometry().origin();
        double[] s = img.geometry().spacing();
        double[] ax = img.geometry().axis(0);
        double[] ay = img.geometry().axis(1);
        return new double[]{o[0] + x * s[0] * ax[0] + y * s[1] * ay[0], o[1] + x * s[0] * ax[1] + y * s[1] * ay[1],
                o[2] + x * s[0] * ax[2] + y * s[1] * ay[2]};
    }

    private static Image read(Path file) throws Exception {
        return ImageReaders.read(Files.readAllBytes(file), ReadLimits.DEFAULT).image();
    }

    /** camera.png x 257 as uint16 with BitsStored 16: a 16-bit image with real image content. */
    private static Image camera16() throws Exception {
        Image cam = read(CAMERA);
        Image u16 = Image.allocate(VoxelType.UINT16, cam.width(), cam.height(), 1, 1, cam.geometry(),
                ImageMetadata.picture("PNG", 16, "MONOCHROME2"));
        for (int i = 0; i < cam.size(); i++) {
            u16.set(i, cam.get(i) * 257);
        }
        return u16;
    }

    /** CT_small's Hounsfield units as float32 (slope 1, intercept -1024). */
    private static Image ctAsFloat() throws Exception {
        Image ct = read(CT);
        Image f = Image.allocate(VoxelType.FLOAT32, ct.width(), ct.height(), 1, 1, ct.geometry(), ct.metadata());
        for (int i = 0; i < ct.size(); i++) {
            f.set(i, ct.get(i) * ct.metadata().rescaleSlope() + ct.metadata().rescaleIntercept());
        }
        return f;
    }

    /** {@code image} written as a .npy file the reference script loads. */
    private Path npy(Image image, String name) throws Exception {
        Path p = tmp.resolve(name + ".npy");
        try (OutputStream out = Files.newOutputStream(p)) {
            NpyWriter.write(image, out);
        }
        return p;
    }

    /** Runs our op and the reference on {@code file}; asserts shape, type and agreement. */
    private void compare(Path file, UnaryOperator<Image> op, double minIdentical, double maxDiff, String... refArgs)
            throws Exception {
        compare(read(file), file, op, minIdentical, maxDiff, refArgs);
    }

    /** Runs our op on {@code input} and the reference on {@code file} (the same image); asserts agreement. */
    private void compare(Image input, Path file, UnaryOperator<Image> op, double minIdentical, double maxDiff,
                         String... refArgs) throws Exception {
        Image ours = op.apply(input);
        Path raw = tmp.resolve("ref.raw");
        String[] args = new String[refArgs.length + 2];
        args[0] = file.toString();
        args[1] = raw.toString();
        System.arraycopy(refArgs, 0, args, 2, refArgs.length);
        JsonNode ref = Python.json("opencv_reference.py", args);
        String what = file.getFileName() + " " + String.join(" ", refArgs);
        assertEquals(ours.height(), ref.get("shape").get(0).asInt(), what);
        assertEquals(ours.width(), ref.get("shape").get(1).asInt(), what);
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(raw)).order(ByteOrder.LITTLE_ENDIAN);
        String dtype = ref.get("dtype").asText();
        assertEquals(expectedDtype(ours), dtype, what);
        long identical = 0;
        double worst = 0;
        for (int i = 0; i < ours.size(); i++) {
            double r = switch (dtype) {
                case "uint8" -> b.get(i) & 0xFF;
                case "int16" -> b.getShort(2 * i);
                case "uint16" -> b.getShort(2 * i) & 0xFFFF;
                case "float32" -> b.getFloat(4 * i);
                default -> throw new AssertionError(dtype);
            };
            double d = Math.abs(r - ours.get(i));
            identical += d == 0 ? 1 : 0;
            worst = Math.max(worst, d);
        }
        double fraction = identical / (double) ours.size();
        System.out.printf(Locale.ROOT, "opencv reference %-40s identical %.5f max diff %.3g (python cv2 %s)%n",
                what, fraction, worst, ref.get("cv2").asText());
        assertTrue(fraction >= minIdentical, what + ": identical fraction " + fraction);
        assertTrue(worst <= maxDiff, what + ": max difference " + worst);
    }

    private static String expectedDtype(Image img) {
        return switch (img.type()) {
            case UINT8 -> "uint8";
            case INT16 -> "int16";
            case UINT16 -> "uint16";
            case FLOAT32 -> "float32";
            default -> img.type().name();
        };
    }
}
