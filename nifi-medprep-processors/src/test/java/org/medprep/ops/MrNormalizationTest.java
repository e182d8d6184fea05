/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.medprep.image.Image;
import org.medprep.image.VoxelType;
import org.medprep.io.ImageReaders;
import org.medprep.io.ReadLimits;
import org.medprep.testutil.Python;
import org.medprep.testutil.RealFiles;

/**
 * WhiteStripe, nnU-Net's foreground z-score and Nyúl–Udupa standardization against an independent NumPy/SciPy
 * implementation ({@code mr_normalization_reference.py}, written from the papers) on real MR: nibabel's
 * anatomical.nii (int16, 33 × 41 × 25), mricron-data's Colin27 ch2.nii.gz (uint8, 181 × 217 × 181) and the slices
 * of pydicom's MR700 series (16 × 16; a radial series, so read slice by slice).
 */
class MrNormalizationTest {

    static final Path ANATOMICAL = RealFiles.nibabel("tests/data/anatomical.nii");
    static final Path CH2 = RealFiles.mricron("ch2.nii.gz");
    static final Path MR700 = RealFiles.pydicom("dicomdirtests/98892003/MR700/4467").getParent();

    /** Standard-scale landmarks for the tests (increasing, 11 values for the default percentiles). */
    static final double[] STANDARD = {1, 8, 15, 24, 33, 42, 51, 60, 70, 82, 100};

    @TempDir
    Path tmp;

    static Image read(Path file) throws Exception {
        return ImageReaders.read(Files.readAllBytes(file), ReadLimits.DEFAULT).image();
    }

    static List<Path> mr700Slices() throws Exception {
        try (Stream<Path> s = Files.list(MR700)) {
            return s.sorted().toList();
        }
    }

    static Stream<Arguments> whiteStripeCases() {
        return Stream.of(
                Arguments.of(ANATOMICAL, WhiteStripe.Contrast.T1, 0.05, ForegroundMask.Kind.ABOVE_MEAN),
                Arguments.of(ANATOMICAL, WhiteStripe.Contrast.T2, 0.05, ForegroundMask.Kind.ABOVE_MEAN),
                Arguments.of(ANATOMICAL, WhiteStripe.Contrast.FLAIR, 0.1, ForegroundMask.Kind.NONZERO),
                Arguments.of(CH2, WhiteStripe.Contrast.T1, 0.05, ForegroundMask.Kind.ABOVE_MEAN),
                Arguments.of(CH2, WhiteStripe.Contrast.T1, 0.05, ForegroundMask.Kind.NONZERO),
                Arguments.of(CH2, WhiteStripe.Contrast.T2, 0.05, ForegroundMask.Kind.ABOVE_MEAN));
    }

    @ParameterizedTest(name = "{0} {1} width {2} {3}")
    @MethodSource("whiteStripeCases")
    void whiteStripeMatchesReference(Path file, WhiteStripe.Contrast contrast, double width,
                                     ForegroundMask.Kind fg) throws Exception {
        WhiteStripe.Result ours = WhiteStripe.normalize(read(file), contrast, width, fg);
        JsonNode ref = reference(file, ours.image(), "whitestripe", contrast.name().toLowerCase(Locale.ROOT),
                Double.toString(width), fgName(fg));
        // Same smoothed histogram and mode rule: the same grid point.
        assertEquals(ref.get("mode").asDouble(), ours.mode(), 1e-9 * Math.abs(ours.mode()), "mode");
        // The linear binning does not move the mode on these volumes: the exact KDE peaks at the same grid point.
        assertEquals(ref.get("mode_exact_kde").asDouble(), ours.mode(), ref.get("grid_step").asDouble(), "exact KDE");
        assertEquals(ref.get("lower").asDouble(), ours.lower(), "stripe lower");
        assertEquals(ref.get("upper").asDouble(), ours.upper(), "stripe upper");
        assertEquals(ref.get("stripe_voxels").asInt(), ours.stripeVoxels(), "stripe voxels");
        assertEquals(ref.get("mean").asDouble(), ours.mean(), 1e-9 * Math.abs(ours.mean()), "stripe mean");
        assertEquals(ref.get("sd").asDouble(), ours.sd(), 1e-9 * Math.abs(ours.sd()), "stripe sd");
    }

    @Test
    void whiteStripeOnCh2T1FindsWhiteMatterAboveGreyMatter() throws Exception {
        Image ch2 = read(CH2);
        WhiteStripe.Result t1 = WhiteStripe.normalize(ch2, WhiteStripe.Contrast.T1, 0.05,
                ForegroundMask.Kind.ABOVE_MEAN);
        WhiteStripe.Result largest = WhiteStripe.normalize(ch2, WhiteStripe.Contrast.T2, 0.05,
                ForegroundMask.Kind.ABOVE_MEAN);
        // In a T1 the last peak (white matter) is brighter than the most frequent tissue (grey matter).
        assertTrue(t1.mode() > largest.mode() + 10, t1.mode() + " vs " + largest.mode());
        // After normalization the stripe (normal-appearing white matter) has mean 0 and sd 1.
        float[] o = (float[]) t1.image().data();
        boolean[] mask = ForegroundMask.aboveMean(ch2);
        double s = 0;
        double ss = 0;
        int n = 0;
        for (int i = 0; i < o.length; i++) {
            double v = ch2.get(i);
            if (mask[i] && v >= t1.lower() && v <= t1.upper()) {
                s += o[i];
                ss += (double) o[i] * o[i];
                n++;
            }
        }
        assertEquals(t1.stripeVoxels(), n);
        assertEquals(0, s / n, 1e-5);
        assertEquals(1, Math.sqrt(ss / n - (s / n) * (s / n)), 1e-5);
    }

    @Test
    void foregroundZScoreMatchesNnUNetReference() throws Exception {
        compare(ANATOMICAL, Intensity.zScoreInMask(read(ANATOMICAL), ForegroundMask.nonzeroFilled(read(ANATOMICAL))),
                "zscore_fg");
        Image ch2 = read(CH2);
        Image z = Intensity.zScoreInMask(ch2, ForegroundMask.nonzeroFilled(ch2));
        JsonNode ref = compare(CH2, z, "zscore_fg");
        // Background (outside the filled nonzero mask) is exactly 0.
        boolean[] mask = ForegroundMask.nonzeroFilled(ch2);
        assertEquals(ref.get("mask_voxels").asInt(), ForegroundMask.count(mask));
        for (int i = 0; i < mask.length; i++) {
            if (!mask[i]) {
                assertEquals(0f, ((float[]) z.data())[i]);
            }
        }
        for (Path slice : mr700Slices()) {
            Image im = read(slice);
            compare(slice, Intensity.zScoreInMask(im, ForegroundMask.nonzeroFilled(im)), "zscore_fg");
        }
    }

    @Test
    void nonzeroMaskFillsHolesLikeScipy() {
        // A ring of 1s with a hole of 0s inside and a notch open to the border: the hole is filled, the notch not.
        int w = 7;
        int h = 7;
        Image im = Image.allocate(VoxelType.UINT8, w, h, 1, 1, org.medprep.image.Geometry.UNIT,
                org.medprep.image.ImageMetadata.picture("PNG", 16, "MONOCHROME2"));
        for (int y = 1; y < 6; y++) {
            for (int x = 1; x < 6; x++) {
                boolean ring = x == 1 || x == 5 || y == 1 || y == 5;
                im.set(y * w + x, ring ? 1 : 0);
            }
        }
        im.set(3 * w + 5, 0); // notch in the right side: the inside is now connected to the border
        boolean[] open = ForegroundMask.nonzeroFilled(im);
        assertTrue(!open[3 * w + 3], "connected to the outside: not a hole");
        im.set(3 * w + 5, 1);
        boolean[] closed = ForegroundMask.nonzeroFilled(im);
        assertTrue(closed[3 * w + 3], "enclosed: filled");
        assertTrue(!closed[0]);
        assertEquals(25, ForegroundMask.count(closed));
    }

    @Test
    void nyulMatchesReferenceOnRealMr() throws Exception {
        double[] pcs = NyulStandardization.DEFAULT_PERCENTILES;
        for (Path file : List.of(ANATOMICAL, CH2)) {
            for (ForegroundMask.Kind fg : ForegroundMask.Kind.values()) {
                NyulStandardization.Result ours = NyulStandardization.standardize(read(file), pcs, STANDARD, fg);
                JsonNode ref = reference(file, ours.image(), "nyul", join(pcs), join(STANDARD), fgName(fg));
                double[] refLandmarks = new double[pcs.length];
                for (int i = 0; i < pcs.length; i++) {
                    refLandmarks[i] = ref.get("landmarks").get(i).asDouble();
                }
                assertArrayEquals(refLandmarks, ours.landmarks(), 1e-9, file + " " + fg);
            }
        }
        for (Path slice : mr700Slices()) {
            NyulStandardization.Result ours = NyulStandardization.standardize(read(slice), new double[] {1, 50, 99},
                    new double[] {0, 40, 100}, ForegroundMask.Kind.NONZERO);
            reference(slice, ours.image(), "nyul", "1,50,99", "0,40,100", "nonzero");
        }
    }

    @Test
    void nyulMapsLandmarksOntoTheStandardScaleAndExtendsTheEndSegments() throws Exception {
        Image ch2 = read(CH2);
        NyulStandardization.Result r = NyulStandardization.standardize(ch2, NyulStandardization.DEFAULT_PERCENTILES,
                STANDARD, ForegroundMask.Kind.ABOVE_MEAN);
        double[] m = r.landmarks();
        float[] o = (float[]) r.image().data();
        for (int i = 0; i < o.length; i++) {
            double v = ch2.get(i);
            for (int k = 0; k < m.length; k++) {
                if (v == m[k]) {
                    assertEquals(STANDARD[k], o[i], 1e-4, "a voxel at landmark " + k);
                }
            }
            if (v < m[0]) {
                double slope = (STANDARD[1] - STANDARD[0]) / (m[1] - m[0]);
                assertEquals(STANDARD[0] + (v - m[0]) * slope, o[i], 1e-4, "below pc1: first segment extended");
            }
        }
    }

    @Test
    void invalidConfigurationsAndDegenerateImagesAreRefused() throws Exception {
        assertTrue(NyulStandardization.check(new double[] {1, 50}, new double[] {0, 1, 2}).contains("3 standard"));
        assertTrue(NyulStandardization.check(new double[] {1, 50, 40}, new double[] {0, 1, 2}).contains("percentiles"));
        assertTrue(NyulStandardization.check(new double[] {1, 50, 99}, new double[] {0, 1, 1}).contains("standard"));
        Image constant = Image.allocate(VoxelType.UINT16, 8, 8, 1, 1, org.medprep.image.Geometry.UNIT,
                org.medprep.image.ImageMetadata.picture("PNG", 16, "MONOCHROME2"));
        Arrays.fill((short[]) constant.data(), (short) 7);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> NyulStandardization.standardize(constant, new double[] {1, 99}, new double[] {0, 1},
                        ForegroundMask.Kind.NONZERO));
        assertTrue(e.getMessage().contains("not distinct"), e.getMessage());
        Image zero = Image.allocate(VoxelType.UINT16, 8, 8, 1, 1, org.medprep.image.Geometry.UNIT,
                org.medprep.image.ImageMetadata.picture("PNG", 16, "MONOCHROME2"));
        assertThrows(IllegalArgumentException.class, () -> Intensity.zScoreInMask(zero,
                ForegroundMask.nonzeroFilled(zero)));
        assertThrows(IllegalArgumentException.class, () -> WhiteStripe.normalize(zero, WhiteStripe.Contrast.T1, 0.05,
                ForegroundMask.Kind.ABOVE_MEAN));
    }

    @Test
    void whiteStripeRefusesAStripeWithoutSpread() throws Exception {
        // pydicom's MR700 slices are 16 x 16 integers: the reference finds a stripe of 7 voxels, all 66 (sd 0).
        Path slice = MR700.resolve("4467");
        JsonNode ref = Python.json("mr_normalization_reference.py", slice.toString(), tmp.resolve("r.raw").toString(),
                "whitestripe", "t1", "0.05", "above_mean");
        assertEquals(0.0, ref.get("sd").asDouble());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> WhiteStripe.normalize(
                read(slice), WhiteStripe.Contrast.T1, 0.05, ForegroundMask.Kind.ABOVE_MEAN));
        assertTrue(e.getMessage().contains("all " + ref.get("stripe_voxels").asInt() + " stripe voxels have the value "
                + "66.0"), e.getMessage());
    }

    private static String fgName(ForegroundMask.Kind fg) {
        return fg == ForegroundMask.Kind.ABOVE_MEAN ? "above_mean" : "nonzero";
    }

    private static String join(double[] v) {
        return Arrays.stream(v).mapToObj(Double::toString).collect(Collectors.joining(","));
    }

    private JsonNode compare(Path file, Image ours, String op, String... args) throws Exception {
        return reference(file, ours, op, args);
    }

    /** Runs the reference and compares every voxel at float32 precision; returns the reference's facts. */
    private JsonNode reference(Path file, Image ours, String op, String... refArgs) throws Exception {
        assertEquals(VoxelType.FLOAT32, ours.type());
        Path raw = tmp.resolve("ref.raw");
        String[] args = new String[refArgs.length + 3];
        args[0] = file.toString();
        args[1] = raw.toString();
        args[2] = op;
        System.arraycopy(refArgs, 0, args, 3, refArgs.length);
        JsonNode facts = Python.json("mr_normalization_reference.py", args);
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(raw)).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(ours.size() * 4, b.capacity(), "size");
        for (int i = 0; i < ours.size(); i++) {
            float r = b.getFloat(4 * i);
            assertEquals(r, ours.get(i), 2e-6 * Math.max(1, Math.abs(r)), file.getFileName() + " " + op
                    + " sample " + i);
        }
        return facts;
    }
}
