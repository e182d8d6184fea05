/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.medprep.image.Geometry;
import org.medprep.image.Image;
import org.medprep.image.ImageMetadata;
import org.medprep.image.VoxelType;
import org.medprep.io.DicomReader;
import org.medprep.io.DicomSeriesZipReader;
import org.medprep.io.NiftiReader;
import org.medprep.io.ReadLimits;
import org.medprep.testutil.Python;
import org.medprep.testutil.RealFiles;

/**
 * {@link Resample} against scipy.ndimage.map_coordinates (order 0 / 1 / 3 with prefilter, mode='mirror') run by
 * src/test/python/resample_reference.py on the same real volumes: nibabel's anatomical.nii (T1 MR, read by
 * nibabel in the reference, geometry included), pydicom's CT5N series as a ZIP and CT_small.dcm (2D).
 */
class ResampleTest {

    static final Path ANATOMICAL = Path.of("/usr/lib/python3/dist-packages/nibabel/tests/data/anatomical.nii");
    static final Path CT5N = RealFiles.PYDICOM.resolve("dicomdirtests/98892001/CT5N");

    static Stream<Arguments> niftiCases() {
        return Stream.of(0, 1, 3).flatMap(order -> Stream.of(
                Arguments.of("1.3,2.7,keep", order),
                Arguments.of("3.1,1.5,1.7", order),
                Arguments.of("keep,keep,0.9", order)));
    }

    @ParameterizedTest(name = "anatomical.nii {0} order {1}")
    @MethodSource("niftiCases")
    void realMrMatchesScipy(String target, int order, @TempDir Path tmp) throws Exception {
        Image in = NiftiReader.read(Files.readAllBytes(ANATOMICAL), ReadLimits.DEFAULT)
                .image();
        Path out = tmp.resolve("ref.raw");
        JsonNode ref = Python.json("resample_reference.py", "nifti", ANATOMICAL.toString(), target,
                Integer.toString(order), out.toString());
        compare(in, target, Integer.toString(order), false, ref, out);
    }

    static Stream<Arguments> antiAliasingCases() {
        return Stream.of(1, 3).flatMap(order -> Stream.of(
                Arguments.of("3.1,4.5,keep", order),
                Arguments.of("9,2.6,1.1", order),
                Arguments.of("1.2,keep,13", order)));
    }

    @ParameterizedTest(name = "anatomical.nii anti-aliased {0} order {1}")
    @MethodSource("antiAliasingCases")
    void realMrAntiAliasedMatchesScipyGaussianThenMapCoordinates(String target, int order, @TempDir Path tmp)
            throws Exception {
        Image in = NiftiReader.read(Files.readAllBytes(ANATOMICAL), ReadLimits.DEFAULT).image();
        Path out = tmp.resolve("ref.raw");
        JsonNode ref = Python.json("resample_reference.py", "nifti", ANATOMICAL.toString(), target,
                Integer.toString(order), out.toString(), "1");
        Image aa = compare(in, target, Integer.toString(order), true, ref, out);
        // the smoothing did something: without it the result differs
        Image plain = Resample.apply(in, parse(target), order == 1 ? Resample.Interpolation.LINEAR
                : Resample.Interpolation.BSPLINE, ReadLimits.DEFAULT.maxVoxels());
        double diff = 0;
        for (int i = 0; i < aa.size(); i++) {
            diff = Math.max(diff, Math.abs(aa.get(i) - plain.get(i)));
        }
        assertTrue(diff > 1, "anti-aliasing changed nothing");
    }

    @ParameterizedTest(name = "CT5N anti-aliased {0}")
    @ValueSource(strings = {"1.5,0.6,20", "2.2,2.2,keep"})
    void realCtSeriesAntiAliasedMatchesScipy(String target, @TempDir Path tmp) throws Exception {
        // z: 5 slices to 20 mm gives a Gaussian radius beyond the line: the mirror extension is folded again
        Image in = DicomSeriesZipReader.read(seriesZip(), ReadLimits.DEFAULT).image();
        compareRaw(in, target, "1", true, tmp);
        compareRaw(in, target, "3", true, tmp);
    }

    static Stream<Arguments> nnUNetCases() {
        return Stream.of(
                // anatomical.nii is 2 mm isotropic: output (2, 2, 7) is anisotropic, z is the low-resolution axis
                Arguments.of("keep,keep,7", 2),
                // output (0.6, 2, 2): anisotropic, but two axes share the largest spacing: B-spline everywhere
                Arguments.of("0.6,keep,keep", -1),
                // neither input nor output anisotropic: B-spline everywhere
                Arguments.of("1.3,1.7,2.9", -1));
    }

    @ParameterizedTest(name = "anatomical.nii nnU-Net {0}")
    @MethodSource("nnUNetCases")
    void realMrNnUNetRuleMatchesScipySeparable(String target, int lowAxis, @TempDir Path tmp) throws Exception {
        Image in = NiftiReader.read(Files.readAllBytes(ANATOMICAL), ReadLimits.DEFAULT).image();
        Path out = tmp.resolve("ref.raw");
        JsonNode ref = Python.json("resample_reference.py", "nifti", ANATOMICAL.toString(), target, "nnunet",
                out.toString());
        assertEquals(lowAxis, ref.get("lowres_axis").asInt(), "reference low-resolution axis");
        compare(in, target, "nnunet", false, ref, out);
    }

    @Test
    void realCtSeriesNnUNetRuleMatchesScipySeparable(@TempDir Path tmp) throws Exception {
        // CT5N: in-plane spacing well below its 5 mm slice spacing: the input is anisotropic, z is low-resolution
        Image in = DicomSeriesZipReader.read(seriesZip(), ReadLimits.DEFAULT).image();
        double[] s = in.geometry().spacing();
        assertEquals(2, Resample.nnUNetLowResolutionAxis(s, s, in.depth()));
        compareRaw(in, "0.5,0.5,1.5", "nnunet", false, tmp);
        // the same voxels declared with a coarse x axis (a sagittal-like acquisition): x is low-resolution
        Image sagittal = in.withGeometry(new Geometry(new double[]{6, s[0], s[1]}, in.geometry().origin(),
                in.geometry().direction()));
        Path sub = Files.createDirectories(tmp.resolve("x"));
        compareRaw(sagittal, "1.5,0.5,0.5", "nnunet", false, sub);
    }

    @Test
    void nnUNetLowResolutionAxisFollowsNnUNet() {
        double[] iso = {1, 1, 1};
        assertEquals(-1, Resample.nnUNetLowResolutionAxis(iso, iso, 10));
        assertEquals(2, Resample.nnUNetLowResolutionAxis(new double[]{0.7, 0.7, 5}, iso, 10));
        // exactly 3 is not above the threshold
        assertEquals(-1, Resample.nnUNetLowResolutionAxis(new double[]{1, 1, 3}, iso, 10));
        // the input decides first, even when its largest spacing is shared (nnU-Net: no separate z)
        assertEquals(-1, Resample.nnUNetLowResolutionAxis(new double[]{0.24, 1.25, 1.25}, new double[]{1, 1, 5},
                10));
        // isotropic input, anisotropic output
        assertEquals(0, Resample.nnUNetLowResolutionAxis(iso, new double[]{4, 1, 1.2}, 10));
        // 2D: z ignored
        assertEquals(-1, Resample.nnUNetLowResolutionAxis(new double[]{1, 1, 5}, new double[]{1, 1, 5}, 1));
        assertEquals(1, Resample.nnUNetLowResolutionAxis(new double[]{1, 3.5, 5}, new double[]{1, 3.5, 5}, 1));
        Resample.Interpolation[] k = Resample.axisKernels(Resample.Interpolation.NNUNET_ANISOTROPIC,
                new double[]{0.7, 0.7, 5}, iso, 10);
        assertEquals(List.of(Resample.Interpolation.BSPLINE, Resample.Interpolation.BSPLINE,
                Resample.Interpolation.NEAREST), List.of(k));
    }

    @Test
    void everyThreadCountGivesBitIdenticalResults() throws Exception {
        Image in = NiftiReader.read(Files.readAllBytes(ANATOMICAL), ReadLimits.DEFAULT).image();
        double[] t = {1.3, 2.9, 0.8};
        for (Resample.Interpolation k : Resample.Interpolation.values()) {
            for (boolean aa : new boolean[]{false, true}) {
                Image one = Resample.apply(in, t, k, aa, 1, Long.MAX_VALUE);
                for (int threads : new int[]{2, 3, 7}) {
                    Image many = Resample.apply(in, t, k, aa, threads, Long.MAX_VALUE);
                    assertEquals(one.type(), many.type());
                    for (int i = 0; i < one.size(); i++) {
                        if (Double.doubleToRawLongBits(one.get(i)) != Double.doubleToRawLongBits(many.get(i))) {
                            throw new AssertionError(k + " aa=" + aa + " threads=" + threads + " differs at " + i);
                        }
                    }
                }
            }
        }
    }

    static Stream<Arguments> seriesCases() {
        return Stream.of(0, 1, 3).flatMap(order -> Stream.of(
                Arguments.of("0.6,0.6,1.0", order),
                Arguments.of("keep,0.3,0.7", order),
                Arguments.of("0.976562,0.976562,5", order)));
    }

    @ParameterizedTest(name = "CT5N series ZIP {0} order {1}")
    @MethodSource("seriesCases")
    void realCtSeriesMatchesScipy(String target, int order, @TempDir Path tmp) throws Exception {
        Image in = DicomSeriesZipReader.read(seriesZip(), ReadLimits.DEFAULT).image();
        assertEquals(5, in.depth());
        compareRaw(in, target, Integer.toString(order), false, tmp);
    }

    @ParameterizedTest(name = "CT_small 2D order {0}")
    @MethodSource("orders")
    void realCtSliceMatchesScipyAndIgnoresZ(int order, @TempDir Path tmp) throws Exception {
        Image in = DicomReader.read(Files.readAllBytes(RealFiles.pydicom("CT_small.dcm")), ReadLimits.DEFAULT)
                .image();
        assertEquals(1, in.depth());
        Image out = compareRaw(in, "0.5,1.1,2.0", Integer.toString(order), false, tmp);
        assertEquals(1, out.depth());
        assertEquals(in.geometry().spacing()[2], out.geometry().spacing()[2]);
        assertEquals(in.geometry().origin()[2], out.geometry().origin()[2], 1e-12);
    }

    static Stream<Integer> orders() {
        return Stream.of(0, 1, 3);
    }

    @Test
    void geometryRuleOnAKnownCase() {
        // 10 voxels of 2 mm along x (direction -L), origin 5: extent starts at 4; 3 mm -> round(6.67) = 7 voxels,
        // origin' = 5 + (-1)·(3 − 2)/2 = 4.5 in L, the extent still starts 1.5 mm before it.
        Geometry g = new Geometry(new double[]{2, 1, 4}, new double[]{5, 6, 7}, new double[]{-1, 0, 0, 0, 1, 0, 0, 0, 1});
        Resample.Plan p = Resample.plan(10, 3, 1, g, new double[]{3, Double.NaN, 1});
        assertEquals(7, p.width());
        assertEquals(3, p.height());
        assertEquals(1, p.depth());
        assertEquals(List.of(3.0, 1.0, 4.0), List.of(p.geometry().spacing()[0], p.geometry().spacing()[1],
                p.geometry().spacing()[2]));
        assertEquals(4.5, p.geometry().origin()[0], 1e-12);
        assertEquals(6, p.geometry().origin()[1], 1e-12);
        assertEquals(7, p.geometry().origin()[2], 1e-12);
        // n·s/s' = 2.5 rounds half up to 3; a huge spacing gives at least 1 voxel
        assertEquals(3, Resample.plan(5, 1, 1, Geometry.UNIT, new double[]{2, 1, 1}).width());
        assertEquals(1, Resample.plan(5, 1, 1, Geometry.UNIT, new double[]{100, 1, 1}).width());
    }

    @Test
    void mirrorBoundary() {
        assertEquals(1, Resample.mirror(-1, 4));
        assertEquals(3, Resample.mirror(3, 4));
        assertEquals(2, Resample.mirror(4, 4));
        assertEquals(1, Resample.mirror(7, 4));
        assertEquals(0, Resample.mirror(-5, 1));
        assertEquals(1, Resample.mirror(-3, 2));
    }

    @Test
    void bSplineOfALinearRampIsTheRampInside() {
        // cubic B-spline interpolation reproduces polynomials up to degree 3 away from the boundary
        double[] line = new double[40];
        for (int k = 0; k < line.length; k++) {
            line[k] = 3 * k - 7;
        }
        Image ramp = new Image(VoxelType.FLOAT32, 40, 1, 1, 1, toFloat(line), Geometry.UNIT,
                ImageMetadata.picture("test", 32, "MONOCHROME2"));
        Image out = Resample.apply(ramp, new double[]{0.5, Double.NaN, Double.NaN}, Resample.Interpolation.BSPLINE,
                ReadLimits.DEFAULT.maxVoxels());
        assertEquals(80, out.width());
        for (int i = 20; i < 60; i++) {
            double x = Resample.sourceIndex(i, 0.5);
            assertEquals(3 * x - 7, out.get(i), 1e-4, "at output " + i);
        }
    }

    @Test
    void channelsAreResampledOneByOne() throws Exception {
        Image ct = DicomReader.read(Files.readAllBytes(RealFiles.pydicom("CT_small.dcm")), ReadLimits.DEFAULT)
                .image();
        int n = ct.width() * ct.height();
        float[] two = new float[2 * n];
        float[] first = new float[n];
        float[] second = new float[n];
        for (int i = 0; i < n; i++) {
            first[i] = (float) ct.get(i);
            second[i] = (float) (-2 * ct.get(i) + 7);
            two[2 * i] = first[i];
            two[2 * i + 1] = second[i];
        }
        Image both = new Image(VoxelType.FLOAT32, ct.width(), ct.height(), 1, 2, two, ct.geometry(), ct.metadata());
        Image a = new Image(VoxelType.FLOAT32, ct.width(), ct.height(), 1, 1, first, ct.geometry(), ct.metadata());
        Image b = new Image(VoxelType.FLOAT32, ct.width(), ct.height(), 1, 1, second, ct.geometry(), ct.metadata());
        for (Resample.Interpolation k : Resample.Interpolation.values()) {
            double[] t = {0.9, 0.45, Double.NaN};
            Image rb = Resample.apply(both, t, k, Long.MAX_VALUE);
            Image ra = Resample.apply(a, t, k, Long.MAX_VALUE);
            Image rc = Resample.apply(b, t, k, Long.MAX_VALUE);
            assertEquals(2, rb.channels());
            for (int i = 0; i < ra.size(); i++) {
                assertEquals(ra.get(i), rb.get(2 * i), 0, k + " channel 0 at " + i);
                assertEquals(rc.get(i), rb.get(2 * i + 1), 0, k + " channel 1 at " + i);
            }
        }
    }

    @Test
    void tooLargeOutputIsRefusedBeforeAllocating() throws Exception {
        Image ct = DicomReader.read(Files.readAllBytes(RealFiles.pydicom("CT_small.dcm")), ReadLimits.DEFAULT)
                .image();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Resample.apply(ct,
                new double[]{0.0001, 0.0001, 1}, Resample.Interpolation.LINEAR, ReadLimits.DEFAULT.maxVoxels()));
        assertTrue(e.getMessage().contains("exceeds the limit of 500000000 voxels"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Resample.apply(ct, new double[]{1e-300, 1e-300, 1},
                Resample.Interpolation.NEAREST, ReadLimits.DEFAULT.maxVoxels()));
        IllegalArgumentException huge = assertThrows(IllegalArgumentException.class, () -> Resample.apply(ct,
                new double[]{1e-300, 1e-300, 1}, Resample.Interpolation.NEAREST, Long.MAX_VALUE));
        assertTrue(huge.getMessage().contains("exceeds what one image can hold"), huge.getMessage());
        Image noSpacing = ct.withGeometry(new Geometry(new double[]{0, 1, 1}, new double[3],
                new double[]{1, 0, 0, 0, 1, 0, 0, 0, 1}));
        assertThrows(IllegalArgumentException.class, () -> Resample.apply(noSpacing, new double[]{1, 1, 1},
                Resample.Interpolation.LINEAR, ReadLimits.DEFAULT.maxVoxels()));
    }

    // ---------------------------------------------------------------------------------------------------------

    private static Image compareRaw(Image in, String target, String order, boolean aa, Path tmp)
            throws Exception {
        Path raw = tmp.resolve("in.raw");
        ByteBuffer buf = ByteBuffer.allocate(8 * in.size()).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < in.size(); i++) {
            buf.putDouble(in.get(i));
        }
        Files.write(raw, buf.array());
        Geometry g = in.geometry();
        Path out = tmp.resolve("ref.raw");
        JsonNode ref = Python.json("resample_reference.py", "raw", raw.toString(),
                in.width() + "," + in.height() + "," + in.depth(), csv(g.spacing()), csv(g.origin()),
                csv(g.direction()), target, order, out.toString(), aa ? "1" : "0");
        return compare(in, target, order, aa, ref, out);
    }

    private static Image compare(Image in, String target, String order, boolean aa, JsonNode ref, Path refRaw)
            throws IOException {
        double[] t = parse(target);
        Resample.Interpolation kernel = switch (order) {
            case "0" -> Resample.Interpolation.NEAREST;
            case "1" -> Resample.Interpolation.LINEAR;
            case "3" -> Resample.Interpolation.BSPLINE;
            default -> Resample.Interpolation.NNUNET_ANISOTROPIC;
        };
        Image out = Resample.apply(in, t, kernel, aa, 2, ReadLimits.DEFAULT.maxVoxels());
        assertEquals(ref.get("shape").get(0).asInt(), out.depth(), "depth");
        assertEquals(ref.get("shape").get(1).asInt(), out.height(), "height");
        assertEquals(ref.get("shape").get(2).asInt(), out.width(), "width");
        for (int a = 0; a < 3; a++) {
            assertEquals(ref.get("spacing").get(a).asDouble(), out.geometry().spacing()[a], 1e-6, "spacing " + a);
            assertEquals(ref.get("origin").get(a).asDouble(), out.geometry().origin()[a], 1e-3, "origin " + a);
        }
        assertEquals(order.equals("0") ? in.type() : VoxelType.FLOAT32, out.type());
        double range = ref.get("in_max").asDouble() - ref.get("in_min").asDouble();
        assertTrue(range > 0, "a real image has a range");
        double tol = order.equals("0") ? 0 : order.equals("1") ? 1e-4 * range : 1e-3 * range;
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(refRaw)).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(8L * out.size(), b.capacity(), "reference sample count");
        double worst = 0;
        for (int i = 0; i < out.size(); i++) {
            double e = b.getDouble();
            double d = Math.abs(e - out.get(i));
            if (d > worst) {
                worst = d;
            }
            if (d > tol) {
                throw new AssertionError(String.format(Locale.ROOT, "sample %d: reference %.6f, got %.6f (tol %.3g)",
                        i, e, out.get(i), tol));
            }
        }
        System.out.printf(Locale.ROOT, "resample %s order %s%s: %dx%dx%d, worst |diff| %.3g (%.3g of range)%n",
                target, order, aa ? " anti-aliased" : "", out.width(), out.height(), out.depth(), worst, worst / range);
        return out;
    }

    private static double[] parse(String target) {
        String[] p = target.split(",");
        double[] t = new double[3];
        for (int a = 0; a < 3; a++) {
            t[a] = p[a].equals("keep") ? Double.NaN : Double.parseDouble(p[a]);
        }
        return t;
    }

    private static String csv(double[] v) {
        StringBuilder s = new StringBuilder();
        for (double d : v) {
            s.append(s.isEmpty() ? "" : ",").append(Double.toString(d));
        }
        return s.toString();
    }

    private static float[] toFloat(double[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            f[i] = (float) v[i];
        }
        return f;
    }

    static byte[] seriesZip() throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.list(CT5N)) {
            files = s.filter(Files::isRegularFile).sorted().toList();
        }
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(bos)) {
            int i = 0;
            for (Path p : files) {
                z.putNextEntry(new ZipEntry("series/" + (i++) + ".dcm"));
                z.write(Files.readAllBytes(p));
                z.closeEntry();
            }
        }
        return bos.toByteArray();
    }
}
