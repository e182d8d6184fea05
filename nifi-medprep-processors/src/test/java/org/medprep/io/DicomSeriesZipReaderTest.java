/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medprep.image.Geometry;
import org.medprep.image.Image;
import org.medprep.testutil.Python;

/**
 * Series ZIPs built in the test from pydicom's dicomdirtests folders (Debian python3-pydicom), checked against
 * dcm2niix's geometry (world positions of the corner voxels) and pydicom's pixel arrays stacked in position
 * order, both computed in the same run by {@code src/test/python/series_reference.py}.
 */
class DicomSeriesZipReaderTest {

    static final Path DIRS = DicomReaderPydicomTest.TEST_FILES.resolve("dicomdirtests");
    static final Path CT5N = DIRS.resolve("98892001/CT5N");
    static final Path MR700 = DIRS.resolve("98892003/MR700");
    static final Path CT2 = DIRS.resolve("77654033/CT2");

    @Test
    void ct5nMatchesDcm2niixGeometryAndPydicomValues(@TempDir Path tmp) throws Exception {
        checkAgainstReferences(CT5N, 5, tmp);
    }

    /**
     * MR700 is not a stack: its 7 slices share the column cosine but each has a different row cosine (a radial
     * acquisition rotating about one axis), so no single voxel grid holds them. dcm2niix also splits it.
     */
    @Test
    void mr700RadialSlicesAreMixedOrientations() throws Exception {
        assumeTrue(Files.isDirectory(MR700));
        ImageReadException e = assertThrows(ImageReadException.class,
                () -> DicomSeriesZipReader.read(zip(shuffled(files(MR700), 3), true), ReadLimits.DEFAULT));
        assertEquals(ImageReadException.Problem.INCONSISTENT_SERIES, e.problem());
        assertTrue(e.getMessage().contains("ImageOrientationPatient"), e.getMessage());
    }

    @Test
    void ct5nInAnyEntryOrderGivesTheSameVolume() throws Exception {
        assumeTrue(Files.isDirectory(CT5N));
        Image a = DicomSeriesZipReader.read(zip(files(CT5N), false), ReadLimits.DEFAULT).image();
        for (long seed = 1; seed <= 5; seed++) {
            Image b = DicomSeriesZipReader.read(zip(shuffled(files(CT5N), seed), true), ReadLimits.DEFAULT).image();
            assertEquals(a.geometry(), b.geometry());
            assertEquals(sha256(DicomReaderPydicomTest.littleEndian(a)), sha256(DicomReaderPydicomTest.littleEndian(b)));
        }
    }

    private void checkAgainstReferences(Path folder, int slices, Path tmp) throws Exception {
        assumeTrue(Files.isDirectory(folder), "python3-pydicom test files are not installed");
        byte[] zip = zip(shuffled(files(folder), 42), true);
        DecodedImage d = DicomSeriesZipReader.read(zip, ReadLimits.DEFAULT);
        Image im = d.image();
        assertEquals(slices, im.depth());
        assertEquals("DICOM-ZIP", im.metadata().format());

        JsonNode ref = Python.json("series_reference.py", folder.toString(), tmp.toString());
        // Values: pydicom's stored values stacked in position order.
        assertEquals(ref.get("sha256").asText(), sha256(DicomReaderPydicomTest.littleEndian(im)),
                "voxels differ from pydicom's stack in position order");
        List<Double> positions = new ArrayList<>();
        ref.get("positions").forEach(p -> positions.add(p.asDouble()));
        double step = (positions.get(positions.size() - 1) - positions.get(0)) / (positions.size() - 1);
        assertEquals(step, im.geometry().spacing()[2], 1e-9);

        // Geometry: the 8 corner voxel centres in world space (RAS = LPS with x, y negated) equal dcm2niix's,
        // whatever voxel order dcm2niix chose.
        double[][] ours = cornersRas(im);
        JsonNode refCorners = ref.get("cornersRas");
        assertEquals(8, refCorners.size());
        for (JsonNode c : refCorners) {
            double best = Double.MAX_VALUE;
            for (double[] o : ours) {
                double dist = Math.max(Math.abs(o[0] - c.get(0).asDouble()),
                        Math.max(Math.abs(o[1] - c.get(1).asDouble()), Math.abs(o[2] - c.get(2).asDouble())));
                best = Math.min(best, dist);
            }
            assertTrue(best < 1e-4, "dcm2niix corner " + c + " has no counterpart in ours (closest " + best + " mm)");
        }
        List<Double> refZooms = new ArrayList<>();
        ref.get("zooms").forEach(z -> refZooms.add(z.asDouble()));
        List<Double> ourZooms = new ArrayList<>();
        for (double s : im.geometry().spacing()) {
            ourZooms.add(s);
        }
        Collections.sort(refZooms);
        Collections.sort(ourZooms);
        for (int i = 0; i < 3; i++) {
            assertEquals(refZooms.get(i), ourZooms.get(i), 1e-4);
        }
        // z axis points from slice k to slice k+1: positions along it increase.
        Geometry g = im.geometry();
        double[] z = g.axis(2);
        double[] x = g.axis(0);
        double[] y = g.axis(1);
        double[] n = DicomReader.cross(x, y);
        assertEquals(1.0, DicomReader.dot(n, z), 1e-9, "z axis is the slice normal (right-handed)");
        assertTrue(d.header().containsKey("SeriesInstanceUID"));
    }

    private static double[][] cornersRas(Image im) {
        double[][] a = im.geometry().affineLps();
        double[][] out = new double[8][];
        int k = 0;
        for (int i : new int[]{0, im.width() - 1}) {
            for (int j : new int[]{0, im.height() - 1}) {
                for (int l : new int[]{0, im.depth() - 1}) {
                    double[] w = new double[3];
                    for (int r = 0; r < 3; r++) {
                        w[r] = a[r][0] * i + a[r][1] * j + a[r][2] * l + a[r][3];
                    }
                    out[k++] = new double[]{-w[0], -w[1], w[2]};
                }
            }
        }
        return out;
    }

    /**
     * CT2's 4 slices lie at −99.48, 103.02, 104.27 and 105.52 mm: the first gap is exactly 162 × 1.25 mm, and the
     * InstanceNumbers (18, 180, 181, 182) agree that 161 slices between them are not in the folder.
     */
    @Test
    void ct2OutlierIsReportedAsMissingSlices() throws Exception {
        assumeTrue(Files.isDirectory(CT2));
        ImageReadException e = assertThrows(ImageReadException.class,
                () -> DicomSeriesZipReader.read(zip(files(CT2), false), ReadLimits.DEFAULT));
        assertEquals(ImageReadException.Problem.INCONSISTENT_SERIES, e.problem());
        assertEquals("The series has 161 slices missing between positions -99.48 and 103.02 mm along the slice normal "
                + "(spacing 1.25 mm).", e.getMessage());
    }

    /** CT5N lies at −1.2375, 1.2625, ... 8.7625 mm (2.5 mm apart); each interior slice dropped in turn. */
    @Test
    void ct5nWithOneSliceDroppedIsAGap() throws Exception {
        assumeTrue(Files.isDirectory(CT5N));
        List<Path> all = byPosition(files(CT5N));
        for (int drop = 1; drop <= 3; drop++) {
            List<Path> kept = new ArrayList<>(all);
            Path gone = kept.remove(drop);
            ImageReadException e = assertThrows(ImageReadException.class,
                    () -> DicomSeriesZipReader.read(zip(shuffled(kept, 11), true), ReadLimits.DEFAULT));
            assertEquals(ImageReadException.Problem.INCONSISTENT_SERIES, e.problem());
            assertTrue(e.getMessage().startsWith("The series has 1 slice missing between positions "), e.getMessage());
            assertTrue(e.getMessage().endsWith(" mm along the slice normal (spacing 2.5 mm)."), e.getMessage());
            assertTrue(!e.getMessage().contains(gone.getFileName().toString()), "no file names in reasons");
        }
        // two adjacent slices dropped: one gap of 3 x 2.5 mm
        List<Path> kept = new ArrayList<>(all);
        kept.remove(2);
        kept.remove(1);
        ImageReadException e = assertThrows(ImageReadException.class,
                () -> DicomSeriesZipReader.read(zip(kept, false), ReadLimits.DEFAULT));
        assertTrue(e.getMessage().startsWith("The series has 2 slices missing between positions "), e.getMessage());
        // every other slice dropped: 3 slices 5 mm apart are a regular series (and read as one)
        List<Path> everyOther = List.of(all.get(0), all.get(2), all.get(4));
        Image im = DicomSeriesZipReader.read(zip(everyOther, false), ReadLimits.DEFAULT).image();
        assertEquals(3, im.depth());
        assertEquals(5.0, im.geometry().spacing()[2], 1e-6);
    }

    @Test
    void ct5nSliceMovedOffTheGridIsNonUniform(@TempDir Path tmp) throws Exception {
        assumeTrue(Files.isDirectory(CT5N));
        // the lowest slice (-1.2375 mm) moved 1.1 mm further down: gaps of 3.6, 2.5, 2.5, 2.5 mm
        Path lowest = byPosition(files(CT5N)).get(0);
        Path moved = tmp.resolve("moved");
        Python.run("series_mutant.py", CT5N.toString(), moved.toString(), "--move",
                lowest.getFileName().toString(), "-1.1");
        ImageReadException e = assertThrows(ImageReadException.class,
                () -> DicomSeriesZipReader.read(zip(files(moved), false), ReadLimits.DEFAULT));
        assertEquals(ImageReadException.Problem.INCONSISTENT_SERIES, e.problem());
        assertEquals("The slice spacing is non-uniform: gaps of 2.5 to 3.6 mm between positions along the "
                + "slice normal.", e.getMessage());
    }

    @Test
    void oneSliceWithInfinitePixelSpacingMakesTheSeriesInvalid(@TempDir Path tmp) throws Exception {
        assumeTrue(Files.isDirectory(CT5N));
        Path one = byPosition(files(CT5N)).get(2);
        Path mutated = tmp.resolve("spacing");
        Python.run("series_mutant.py", CT5N.toString(), mutated.toString(), "--pixel-spacing",
                one.getFileName().toString(), "Infinity");
        ImageReadException e = assertThrows(ImageReadException.class,
                () -> DicomSeriesZipReader.read(zip(files(mutated), false), ReadLimits.DEFAULT));
        assertEquals(ImageReadException.Problem.CORRUPT, e.problem(), e.getMessage());
        assertEquals("The DICOM PixelSpacing is Infinity mm; a spacing must be finite and within 1.0E-4 to "
                + "10000.0 mm.", e.getMessage());
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"Infinity\\0\\0", "NaN\\NaN\\NaN", "0\\-Infinity\\0"})
    void oneSliceWithANonFinitePositionMakesTheSeriesInvalid(String position, @TempDir Path tmp) throws Exception {
        assumeTrue(Files.isDirectory(CT5N));
        Path one = byPosition(files(CT5N)).get(2);
        Path mutated = tmp.resolve("position");
        Python.run("series_mutant.py", CT5N.toString(), mutated.toString(), "--position",
                one.getFileName().toString(), position);
        ImageReadException e = assertThrows(ImageReadException.class,
                () -> DicomSeriesZipReader.read(zip(files(mutated), false), ReadLimits.DEFAULT));
        assertEquals(ImageReadException.Problem.CORRUPT, e.problem(), e.getMessage());
        assertEquals("The DICOM ImagePositionPatient is not 3 finite numbers.", e.getMessage());
    }

    /**
     * Positions scaled so the slices lie 2.5e-6 mm apart (refused as duplicates) or 2.5e5 mm apart (the spacing
     * derived from the positions is out of range).
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(doubles = {1e-6, 1e5})
    void aSliceSpacingFromPositionsOutOfRangeMakesTheSeriesInvalid(double factor, @TempDir Path tmp)
            throws Exception {
        assumeTrue(Files.isDirectory(CT5N));
        Path mutated = tmp.resolve("scaled");
        Python.run("series_mutant.py", CT5N.toString(), mutated.toString(), "--scale-positions",
                Double.toString(factor));
        ImageReadException e = assertThrows(ImageReadException.class,
                () -> DicomSeriesZipReader.read(zip(files(mutated), false), ReadLimits.DEFAULT));
        if (factor < 1) { // within the duplicate tolerance (half the smaller pixel spacing): seen as one position
            assertEquals(ImageReadException.Problem.INCONSISTENT_SERIES, e.problem(), e.getMessage());
            assertTrue(e.getMessage().startsWith("In the series, 4 slices lie at the same position"), e.getMessage());
            return;
        }
        assertEquals(ImageReadException.Problem.CORRUPT, e.problem(), e.getMessage());
        assertTrue(e.getMessage().matches("The slice spacing of the series \\(from ImagePositionPatient\\) is "
                + (factor < 1 ? "2\\.5\\d*E-6" : "250000\\.\\d*") + " mm; a spacing must be finite and within "
                + "1\\.0E-4 to 10000\\.0 mm\\."), e.getMessage());
    }

    /**
     * A tilted-gantry CT made from CT5N with pydicom (series_mutant.py): each slice shifted along the column
     * direction by tan(tilt) × its distance from the first, GantryDetectorTilt set. dcm2niix reports "Gantry
     * Tilt based on 0018,1120 15, estimated from slice vector -15" for the 15° mutant and resamples it.
     */
    @Test
    void tiltedGantrySeriesIsRefusedBeyondHalfAPixel(@TempDir Path tmp) throws Exception {
        assumeTrue(Files.isDirectory(CT5N));
        Path tilted = tmp.resolve("tilt15");
        Python.run("series_mutant.py", CT5N.toString(), tilted.toString(), "--tilt", "15", "--gantry-tag", "15");
        ImageReadException e = assertThrows(ImageReadException.class,
                () -> DicomSeriesZipReader.read(zip(shuffled(files(tilted), 3), true), ReadLimits.DEFAULT));
        assertEquals(ImageReadException.Problem.INCONSISTENT_SERIES, e.problem());
        assertEquals("The slice positions do not advance along the slice normal (gantry tilt or shift: "
                + "first-to-last direction 15.0 degrees off the normal, slices up to 2.679 mm off in-plane; "
                + "GantryDetectorTilt 15.0 degrees); a sheared volume cannot be stored without resampling.",
                e.getMessage());

        // 1 degree over 10 mm shifts the last slice 0.17 mm, less than half of the 0.488 mm pixel: read
        Path slight = tmp.resolve("tilt1");
        Python.run("series_mutant.py", CT5N.toString(), slight.toString(), "--tilt", "1", "--gantry-tag", "1");
        Image im = DicomSeriesZipReader.read(zip(files(slight), false), ReadLimits.DEFAULT).image();
        assertEquals(5, im.depth());

        // GantryDetectorTilt alone (positions along the normal): an ordinary orthogonal volume
        Path tagOnly = tmp.resolve("tagOnly");
        Python.run("series_mutant.py", CT5N.toString(), tagOnly.toString(), "--gantry-tag", "20");
        Image plain = DicomSeriesZipReader.read(zip(files(CT5N), false), ReadLimits.DEFAULT).image();
        Image tagged = DicomSeriesZipReader.read(zip(files(tagOnly), false), ReadLimits.DEFAULT).image();
        assertEquals(plain.geometry(), tagged.geometry());
    }

    @Test
    void twoSeriesAreRejected() throws Exception {
        assumeTrue(Files.isDirectory(CT5N));
        List<Path> both = new ArrayList<>(files(CT5N));
        both.addAll(files(MR700));
        ImageReadException e = assertThrows(ImageReadException.class,
                () -> DicomSeriesZipReader.read(zip(shuffled(both, 7), false), ReadLimits.DEFAULT));
        assertEquals(ImageReadException.Problem.INCONSISTENT_SERIES, e.problem());
        assertTrue(e.getMessage().contains("more than one series"), e.getMessage());
    }

    @Test
    void duplicateSliceIsRejected() throws Exception {
        assumeTrue(Files.isDirectory(CT5N));
        List<Path> files = new ArrayList<>(files(CT5N));
        files.add(files.get(0));
        ImageReadException e = assertThrows(ImageReadException.class,
                () -> DicomSeriesZipReader.read(zip(files, false), ReadLimits.DEFAULT));
        assertEquals(ImageReadException.Problem.INCONSISTENT_SERIES, e.problem());
        assertEquals("In the series, 1 slice lies at the same position along the slice normal as another slice (duplicate "
                + "slices; 6 slices in the ZIP archive).", e.getMessage());
        files.add(files.get(1));
        files.add(files.get(1));
        ImageReadException three = assertThrows(ImageReadException.class,
                () -> DicomSeriesZipReader.read(zip(files, false), ReadLimits.DEFAULT));
        assertTrue(three.getMessage().startsWith("In the series, 3 slices lie at the same position"), three.getMessage());
    }

    @Test
    void singleSliceZipReadsLikeTheFile() throws Exception {
        assumeTrue(Files.isDirectory(CT5N));
        Path one = files(CT5N).get(0);
        DecodedImage z = DicomSeriesZipReader.read(zip(List.of(one), true), ReadLimits.DEFAULT);
        DecodedImage f = DicomReader.read(Files.readAllBytes(one), ReadLimits.DEFAULT);
        assertEquals(1, z.image().depth());
        assertEquals(f.image().geometry(), z.image().geometry());
        assertEquals(sha256(DicomReaderPydicomTest.littleEndian(f.image())),
                sha256(DicomReaderPydicomTest.littleEndian(z.image())));
    }

    @Test
    void sizeLimitIsCheckedBeforeDecoding() throws Exception {
        assumeTrue(Files.isDirectory(CT5N));
        ImageReadException e = assertThrows(ImageReadException.class,
                () -> DicomSeriesZipReader.read(zip(files(CT5N), false), new ReadLimits(16 * 16 * 4)));
        assertEquals(ImageReadException.Problem.TOO_LARGE, e.problem());
    }

    @Test
    void truncatedSliceFailsTheSeries() throws Exception {
        assumeTrue(Files.isDirectory(CT5N));
        List<Path> files = files(CT5N);
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(bos)) {
            for (int i = 0; i < files.size(); i++) {
                byte[] b = Files.readAllBytes(files.get(i));
                z.putNextEntry(new ZipEntry(i + ".dcm"));
                z.write(i == 2 ? Arrays.copyOf(b, b.length - 100) : b);
                z.closeEntry();
            }
        }
        ImageReadException e = assertThrows(ImageReadException.class,
                () -> DicomSeriesZipReader.read(bos.toByteArray(), ReadLimits.DEFAULT));
        assertEquals(ImageReadException.Problem.CORRUPT, e.problem());
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void noDicomInZipIsCorrupt() throws Exception {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(bos)) {
            z.putNextEntry(new ZipEntry("readme.txt"));
            z.write("not an image".getBytes());
            z.closeEntry();
        }
        ImageReadException e = assertThrows(ImageReadException.class,
                () -> DicomSeriesZipReader.read(bos.toByteArray(), ReadLimits.DEFAULT));
        assertEquals(ImageReadException.Problem.CORRUPT, e.problem());
    }

    static List<Path> files(Path folder) throws IOException {
        try (Stream<Path> s = Files.list(folder)) {
            return s.filter(Files::isRegularFile).sorted().toList();
        }
    }

    /** The files in ascending order of ImagePositionPatient projected on the slice normal (z for CT5N). */
    static List<Path> byPosition(List<Path> files) throws Exception {
        List<Path> out = new ArrayList<>(files);
        java.util.Map<Path, Double> along = new java.util.HashMap<>();
        for (Path p : out) {
            DicomReader.Header h = DicomReader.readHeader(Files.readAllBytes(p));
            double[] axes = DicomReader.orientation(h.doubles(com.pixelmed.dicom.TagFromName.ImageOrientationPatient))[2];
            along.put(p, DicomReader.dot(h.doubles(com.pixelmed.dicom.TagFromName.ImagePositionPatient), axes));
        }
        out.sort(java.util.Comparator.comparing(along::get));
        return out;
    }

    static List<Path> shuffled(List<Path> files, long seed) {
        List<Path> l = new ArrayList<>(files);
        Collections.shuffle(l, new Random(seed));
        return l;
    }

    /** A ZIP of the files (entry names = index, so order carries no information); optional junk entries. */
    static byte[] zip(List<Path> files, boolean withJunk) throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(bos)) {
            if (withJunk) {
                z.putNextEntry(new ZipEntry("series/"));
                z.closeEntry();
                z.putNextEntry(new ZipEntry("__MACOSX/series/._0.dcm"));
                z.write(new byte[]{0, 5, 22, 7, 0, 2, 0, 0});
                z.closeEntry();
                z.putNextEntry(new ZipEntry("series/notes.txt"));
                z.write("slices of one series".getBytes());
                z.closeEntry();
            }
            int i = 0;
            for (Path p : files) {
                z.putNextEntry(new ZipEntry("series/" + (i++) + ".dcm"));
                z.write(Files.readAllBytes(p));
                z.closeEntry();
            }
        }
        return bos.toByteArray();
    }

    static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }
}
