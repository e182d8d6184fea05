/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.medprep.image.Geometry;
import org.medprep.image.Image;
import org.medprep.image.ImageMetadata;
import org.medprep.image.VoxelType;
import org.medprep.testutil.Python;

/** NiftiWriter/NiftiReader round trips, and agreement with nibabel on our files and on nibabel's own test data. */
class NiftiTest {

    static final Path NIBABEL_DATA = Path.of("/usr/lib/python3/dist-packages/nibabel/tests/data");

    @TempDir
    Path tmp;

    static byte[] write(Image img, boolean gzip) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        NiftiWriter.write(img, out, gzip);
        return out.toByteArray();
    }

    static void assertSameImage(Image a, Image b, double tol) {
        assertEquals(a.type(), b.type());
        assertEquals(a.width(), b.width());
        assertEquals(a.height(), b.height());
        assertEquals(a.depth(), b.depth());
        assertEquals(a.channels(), b.channels());
        assertArrayEquals(TestImages.bytesLE(a), TestImages.bytesLE(b), "voxel data");
        assertTrue(a.geometry().approximatelyEquals(b.geometry(), tol), a.geometry() + " vs " + b.geometry());
    }

    @Test
    void roundTripEveryTypePlainAndGzipProperAndImproper() throws Exception {
        for (VoxelType type : VoxelType.values()) {
            for (boolean improper : new boolean[]{false, true}) {
                for (boolean gzip : new boolean[]{false, true}) {
                    Image img = TestImages.random(type, 7, 5, 4, 1, TestImages.oblique(improper), 42);
                    byte[] file = write(img, gzip);
                    assertEquals(gzip ? ImageFormat.NIFTI_GZ : ImageFormat.NIFTI, ImageFormat.sniff(file));
                    if (!gzip) {
                        assertEquals(352 + (long) img.size() * type.bytes(), file.length);
                    }
                    Image back = ImageReaders.read(file, ReadLimits.DEFAULT).image();
                    assertSameImage(img, back, 1e-6);
                    assertEquals("NIfTI", back.metadata().format());
                }
            }
        }
    }

    @Test
    void roundTripTwoDRgbAndVectorAndRescale() throws Exception {
        Geometry g = TestImages.oblique(true);
        Image rgb = TestImages.random(VoxelType.UINT8, 6, 3, 1, 3, g, 1);
        Image rgbBack = NiftiReader.read(write(rgb, false), ReadLimits.DEFAULT).image();
        assertSameImage(rgb, rgbBack, 1e-6);
        assertEquals("RGB", rgbBack.metadata().photometricInterpretation());
        Image vec = TestImages.random(VoxelType.FLOAT32, 4, 3, 2, 2, g, 2);
        assertSameImage(vec, NiftiReader.read(write(vec, true), ReadLimits.DEFAULT).image(), 1e-6);
        Image ct = TestImages.random(VoxelType.INT16, 5, 5, 2, 1, g, 3);
        ImageMetadata m = ct.metadata();
        ct = ct.withMetadata(new ImageMetadata("DICOM", "CT", "MONOCHROME2", 12, true, 0.5, -1024, 40, 400,
                null, null, null));
        Image ctBack = NiftiReader.read(write(ct, false), ReadLimits.DEFAULT).image();
        assertEquals(0.5, ctBack.metadata().rescaleSlope());
        assertEquals(-1024, ctBack.metadata().rescaleIntercept());
        assertEquals(m.format(), ctBack.metadata().format());
    }

    @ParameterizedTest
    @ValueSource(strings = {"UINT8", "INT8", "UINT16", "INT16", "INT32", "FLOAT32"})
    void nibabelReadsOurFileWithSameValuesAndAffine(String typeName) throws Exception {
        VoxelType type = VoxelType.valueOf(typeName);
        for (boolean improper : new boolean[]{false, true}) {
            Image img = TestImages.random(type, 9, 6, 5, 1, TestImages.oblique(improper), 7);
            img = img.withMetadata(new ImageMetadata("DICOM", "CT", "MONOCHROME2", 16, true, 2.5, -7, 40, 400,
                    null, null, null));
            Path f = tmp.resolve(typeName + improper + ".nii.gz");
            Files.write(f, write(img, true));
            JsonNode ref = Python.json("nifti_ref.py", f.toString());
            assertEquals("[9,6,5]", ref.get("shape").toString());
            assertEquals(TestImages.sha256(TestImages.bytesLE(img)), ref.get("sha256").asText());
            double[][] lps = img.geometry().affineLps();
            for (String key : new String[]{"affine", "qform", "sform"}) {
                JsonNode a = ref.get(key);
                for (int r = 0; r < 4; r++) {
                    for (int c = 0; c < 4; c++) {
                        double expected = (r < 2 ? -1 : 1) * lps[r][c];
                        assertEquals(expected, a.get(r).get(c).asDouble(), 1e-5, key + "[" + r + "][" + c + "]");
                    }
                }
            }
            assertEquals(2.5, ref.get("slope").asDouble());
            assertEquals(-7, ref.get("inter").asDouble());
            assertEquals(1, ref.get("qform_code").asInt());
            assertEquals(1, ref.get("sform_code").asInt());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"anatomical.nii", "reoriented_anat_moved.nii", "resampled_anat_moved.nii",
            "standard.nii.gz"})
    void realNibabelFilesMatchNibabel(String name) throws Exception {
        Path f = NIBABEL_DATA.resolve(name);
        Assumptions.assumeTrue(Files.isRegularFile(f), "python3-nibabel test data not installed");
        Image img = ImageReaders.read(Files.readAllBytes(f), ReadLimits.DEFAULT).image();
        JsonNode ref = Python.json("nifti_ref.py", f.toString());
        JsonNode shape = ref.get("shape");
        assertEquals(img.width(), shape.get(0).asInt());
        assertEquals(img.height(), shape.get(1).asInt());
        assertEquals(img.depth(), shape.size() > 2 ? shape.get(2).asInt() : 1);
        assertEquals(ref.get("sha256").asText(), TestImages.sha256(TestImages.bytesLE(img)), "stored values");
        assertEquals(ref.get("sum").asDouble(), TestImages.sum(img), 1e-6 * Math.max(1, Math.abs(ref.get("sum").asDouble())));
        assertEquals(ref.get("slope").asDouble(), img.metadata().rescaleSlope(), 1e-12, "scl_slope");
        assertEquals(ref.get("inter").asDouble(), img.metadata().rescaleIntercept(), 1e-12, "scl_inter");
        double[][] lps = img.geometry().affineLps();
        JsonNode a = ref.get("affine");
        for (int r = 0; r < 4; r++) {
            for (int c = 0; c < 4; c++) {
                assertEquals((r < 2 ? -1 : 1) * lps[r][c], a.get(r).get(c).asDouble(), 1e-5,
                        name + " affine[" + r + "][" + c + "]");
            }
        }
        System.out.printf("%s: %s sum=%.1f min=%s max=%s spacing=%s%n", name, img, TestImages.sum(img),
                ref.get("min"), ref.get("max"), Arrays.toString(img.geometry().spacing()));
    }

    /** Real files with qfac = -1 and big-endian headers: with the sform switched off, our qform decoding = nibabel's. */
    @ParameterizedTest
    @ValueSource(strings = {"anatomical.nii", "reoriented_anat_moved.nii", "resampled_anat_moved.nii"})
    void realFilesQformMatchesNibabel(String name) throws Exception {
        Path src = NIBABEL_DATA.resolve(name);
        Assumptions.assumeTrue(Files.isRegularFile(src), "python3-nibabel test data not installed");
        byte[] file = Files.readAllBytes(src);
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(file);
        if (b.getInt(0) != 348) {
            b.order(java.nio.ByteOrder.LITTLE_ENDIAN);
        }
        b.putShort(254, (short) 0); // sform_code = 0
        Path f = tmp.resolve("qonly-" + name);
        Files.write(f, file);
        Image img = NiftiReader.read(file, ReadLimits.DEFAULT).image();
        JsonNode ref = Python.json("nifti_ref.py", f.toString());
        assertEquals(0, ref.get("sform_code").asInt());
        double[][] lps = img.geometry().affineLps();
        JsonNode a = ref.get("qform");
        for (int r = 0; r < 4; r++) {
            for (int c = 0; c < 4; c++) {
                assertEquals((r < 2 ? -1 : 1) * lps[r][c], a.get(r).get(c).asDouble(), 1e-5,
                        name + " qform[" + r + "][" + c + "]");
            }
        }
        if (name.equals("anatomical.nii")) { // exact axes, and no negative zeros (Geometry.equals is bitwise)
            assertArrayEquals(new double[]{1, 0, 0, 0, -1, 0, 0, 0, 1}, img.geometry().direction());
        }
        System.out.println(name + " qform only: " + img.geometry());
    }

    @Test
    void unitsConvertToMillimetres() throws Exception {
        Image img = TestImages.random(VoxelType.UINT8, 3, 3, 3, 1, TestImages.oblique(false), 5);
        byte[] file = write(img, false);
        file[123] = 3; // microns
        Geometry g = NiftiReader.read(file, ReadLimits.DEFAULT).image().geometry();
        assertEquals(0.75e-3, g.spacing()[0], 1e-9);
        assertEquals(-100.25e-3, g.origin()[0], 1e-9);
        file[123] = 1; // metres
        g = NiftiReader.read(file, ReadLimits.DEFAULT).image().geometry();
        assertEquals(2500, g.spacing()[2], 1e-3);
    }

    /** A CT-sized volume (512 x 512 x 120 int16, 63 MB): plain NIfTI is a memory copy, not a codec. */
    @Test
    void largeVolumeRoundTripTiming() throws Exception {
        Image img = Image.allocate(VoxelType.INT16, 512, 512, 120, 1, TestImages.oblique(false),
                TestImages.random(VoxelType.INT16, 1, 1, 1, 1, Geometry.UNIT, 0).metadata());
        short[] d = (short[]) img.data();
        for (int i = 0; i < d.length; i++) {
            d[i] = (short) (i * 31);
        }
        long t0 = System.nanoTime();
        byte[] file = write(img, false);
        long t1 = System.nanoTime();
        Image back = NiftiReader.read(file, ReadLimits.DEFAULT).image();
        long t2 = System.nanoTime();
        assertArrayEquals(d, (short[]) back.data());
        System.out.printf("512x512x120 int16 (%d MB): write %d ms, read %d ms%n", file.length >> 20,
                (t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000);
    }

    /** nibabel reads our RGB24 (3-channel UINT8) and vector (dim[5], other types) files with the same samples. */
    @Test
    void nibabelReadsOurMultiChannelFiles() throws Exception {
        Image rgb = TestImages.random(VoxelType.UINT8, 6, 5, 2, 3, TestImages.oblique(false), 11);
        Image vec = TestImages.random(VoxelType.INT16, 6, 5, 2, 2, TestImages.oblique(true), 12);
        for (Image img : new Image[]{rgb, vec}) {
            Path f = tmp.resolve("multi" + img.channels() + ".nii");
            Files.write(f, write(img, false));
            JsonNode ref = Python.json("nifti_ref.py", f.toString());
            assertEquals(img.channels() == 3 ? "[6,5,2]" : "[6,5,2,1,2]", ref.get("shape").toString());
            assertEquals(TestImages.sha256(TestImages.bytesLE(img)), ref.get("sha256").asText(), img.toString());
        }
    }

    /** float64 files (datatype 64) are narrowed to FLOAT32; unsupported datatypes are named. */
    @Test
    void float64NarrowedAndUnknownDatatypeNamed() throws Exception {
        Image img = TestImages.random(VoxelType.FLOAT32, 5, 4, 3, 1, TestImages.oblique(false), 13);
        byte[] f32 = write(img, false);
        float[] v = (float[]) img.data();
        java.nio.ByteBuffer f64 = java.nio.ByteBuffer.allocate(352 + 8 * v.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        f64.put(f32, 0, 352);
        f64.putShort(70, (short) 64).putShort(72, (short) 64);
        for (float x : v) {
            f64.putDouble((double) x);
        }
        Image back = NiftiReader.read(f64.array(), ReadLimits.DEFAULT).image();
        assertSameImage(img, back, 1e-6);
        TestImages.le(f32).putShort(70, (short) 768);
        ImageReadException e = assertThrows(ImageReadException.class, () -> NiftiReader.read(f32, ReadLimits.DEFAULT));
        assertEquals(ImageReadException.Problem.UNSUPPORTED, e.problem());
        assertTrue(e.getMessage().contains("uint32"), e.getMessage());
    }

    @Test
    void fourDIsUnsupportedAndNifti2Unsupported() throws Exception {
        Path f = NIBABEL_DATA.resolve("example4d.nii.gz");
        Assumptions.assumeTrue(Files.isRegularFile(f), "python3-nibabel test data not installed");
        ImageReadException e = assertThrows(ImageReadException.class,
                () -> ImageReaders.read(Files.readAllBytes(f), ReadLimits.DEFAULT));
        assertEquals(ImageReadException.Problem.UNSUPPORTED, e.problem());
        assertTrue(e.getMessage().contains("4D"), e.getMessage());
        ImageReadException e2 = assertThrows(ImageReadException.class, () -> NiftiReader.read(
                Files.readAllBytes(NIBABEL_DATA.resolve("example_nifti2.nii.gz")), ReadLimits.DEFAULT));
        assertEquals(ImageReadException.Problem.UNSUPPORTED, e2.problem());
    }

    @Test
    void qformOnlyFileUsesQuaternion() throws Exception {
        Image img = TestImages.random(VoxelType.INT16, 4, 4, 3, 1, TestImages.oblique(true), 5);
        byte[] file = write(img, false);
        TestImages.le(file).putShort(254, (short) 0); // sform_code = 0: the reader must use the qform
        Image back = NiftiReader.read(file, ReadLimits.DEFAULT).image();
        assertSameImage(img, back, 1e-6);
        TestImages.le(file).putShort(252, (short) 0); // neither: pixdim scale only
        Geometry g = NiftiReader.read(file, ReadLimits.DEFAULT).image().geometry();
        assertTrue(g.approximatelyEquals(Geometry.UNIT.withSpacing(img.geometry().spacing()), 1e-6), g.toString());
    }

    @Test
    void truncatedAndHugeAreRejected() throws Exception {
        Image img = TestImages.random(VoxelType.FLOAT32, 8, 8, 8, 1, TestImages.oblique(false), 9);
        for (boolean gzip : new boolean[]{false, true}) {
            byte[] file = write(img, gzip);
            byte[] cut = Arrays.copyOf(file, file.length * 6 / 10);
            ImageReadException e = assertThrows(ImageReadException.class, () -> NiftiReader.read(cut, ReadLimits.DEFAULT));
            assertEquals(ImageReadException.Problem.CORRUPT, e.problem(), e.getMessage());
        }
        byte[] file = write(img, false);
        ImageReadException e = assertThrows(ImageReadException.class,
                () -> NiftiReader.read(file, new ReadLimits(100)));
        assertEquals(ImageReadException.Problem.TOO_LARGE, e.problem());
        byte[] huge = Arrays.copyOf(file, 352);
        TestImages.le(huge).putShort(42, (short) 32000).putShort(44, (short) 32000).putShort(46, (short) 32000);
        e = assertThrows(ImageReadException.class, () -> NiftiReader.read(huge, ReadLimits.DEFAULT));
        assertEquals(ImageReadException.Problem.TOO_LARGE, e.problem());
    }

    @Test
    void medprepMetadataSurvivesTheDescripField() throws Exception {
        short[] data = new short[64 * 64];
        for (int i = 0; i < data.length; i++) {
            data[i] = (short) (i % 4096);
        }
        ImageMetadata cr = new ImageMetadata("DICOM", "CR", "MONOCHROME2", 12, false, 1, 0, Double.NaN,
                Double.NaN, "1.2.3", "1.2.3.4", "1.2.840.10008.1.2.1");
        Image in = new Image(VoxelType.UINT16, 64, 64, 1, 1, data, Geometry.UNIT, cr);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        NiftiWriter.write(in, out, false);
        ImageMetadata back = NiftiReader.read(out.toByteArray(), ReadLimits.DEFAULT).image().metadata();
        assertEquals("CR", back.modality());
        assertEquals("MONOCHROME2", back.photometricInterpretation());
        assertEquals(12, back.bitsStored());
        assertEquals("NIfTI", back.format());
    }
}
