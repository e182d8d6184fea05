/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.medprep.io.ImageReadException.Problem;
import org.medprep.testutil.RealFiles;

/**
 * {@link HeaderChecks}' rules and the readers' spacing checks on mutated real files: pydicom's CT_small.dcm, a CR and
 * rtdose.dcm, nibabel's anatomical.nii and its enhanced MR philips_mprage.dcm.gz.
 */
class HeaderChecksTest {

    private static byte[] ct() throws Exception {
        return Files.readAllBytes(RealFiles.pydicom("CT_small.dcm"));
    }

    private static ImageReadException refused(byte[] content) {
        return assertThrows(ImageReadException.class, () -> ImageReaders.read(content, ReadLimits.DEFAULT));
    }

    @Test
    void theUnmutatedFilesAreRead() throws Exception {
        ImageReaders.read(ct(), ReadLimits.DEFAULT);
        ImageReaders.read(Files.readAllBytes(RealFiles.nibabel("tests/data/anatomical.nii")), ReadLimits.DEFAULT);
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 17, 33, 255, 32768})
    void bitsStoredOutside1ToBitsAllocatedIsInvalid(int bitsStored) throws Exception {
        byte[] b = ct();
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putShort(valueAt(b, 0x0028, 0x0101, "US"), (short) bitsStored);
        ImageReadException e = refused(b);
        assertEquals(Problem.CORRUPT, e.problem(), e.getMessage());
        assertEquals("The DICOM object declares BitsStored " + bitsStored + " with BitsAllocated 16; BitsStored "
                + "must be 1 to BitsAllocated.", e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"RGB", "YBR_FULL", "CMYK", "MONOCHROME3", "ARGB", "WHATEVER"})
    void photometricMustMatchOneSample(String photometric) throws Exception {
        byte[] b = setString(ct(), 0x0028, 0x0004, "CS", photometric, ' ');
        ImageReadException e = refused(b);
        if (Arrays.asList("CMYK", "MONOCHROME3", "ARGB").contains(photometric)) {
            assertEquals(Problem.UNSUPPORTED, e.problem(), e.getMessage());
            assertTrue(e.getMessage().startsWith("The photometric interpretation " + photometric + " is not supported"),
                    e.getMessage());
        } else {
            assertEquals(Problem.CORRUPT, e.problem(), e.getMessage());
            assertTrue(e.getMessage().startsWith("The DICOM object declares"), e.getMessage());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"0\\0", "1e-300\\1e-300", "1e308\\1e308", "Infinity\\1", "NaN\\NaN", "-0.5\\0.5",
            "0.5\\1e5"})
    void pixelSpacingMustBeFiniteAndPlausible(String spacing) throws Exception {
        byte[] b = setString(ct(), 0x0028, 0x0030, "DS", spacing, ' ');
        ImageReadException e = refused(b);
        assertEquals(Problem.CORRUPT, e.problem(), e.getMessage());
        assertTrue(e.getMessage().matches("The DICOM PixelSpacing is .* mm; a spacing must be finite and within "
                + "1.0E-4 to 10000.0 mm\\."), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"Infinity", "NaN", "1e308", "1e-300", "abc", "0", "-5"})
    void sliceThicknessMustBeFiniteAndPlausibleWhenPositive(String thickness) throws Exception {
        byte[] b = setString(ct(), 0x0018, 0x0050, "DS", thickness, ' ');
        if (thickness.equals("0") || thickness.equals("-5")) {
            ImageReaders.read(b, ReadLimits.DEFAULT); // not declared: never used as a spacing
            return;
        }
        ImageReadException e = refused(b);
        assertEquals(Problem.CORRUPT, e.problem(), e.getMessage());
        assertTrue(e.getMessage().matches("The DICOM SliceThickness (is not a number|is .* mm; a spacing must be "
                + "finite.*)\\."), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"1.2.3\u0000.4", "1.2.03.4", "1..2", "1.2.a", "1.2.3\n4"})
    void uidsMustBeValid(String uid) throws Exception {
        byte[] b = setString(ct(), 0x0020, 0x000E, "UI", uid, '\0');
        ImageReadException e = refused(b);
        assertEquals(Problem.CORRUPT, e.problem(), e.getMessage());
        assertTrue(e.getMessage().startsWith("The DICOM SeriesInstanceUID \""), e.getMessage());
        assertTrue(e.getMessage().chars().noneMatch(Character::isISOControl), e.getMessage());
    }

    @Test
    void aUidLongerThan64IsInvalid() throws Exception {
        byte[] b = setString(ct(), 0x0020, 0x000E, "UI", "1." + "2".repeat(70), '\0');
        assertTrue(refused(b).getMessage().contains("is not a valid UID"));
    }

    @ParameterizedTest
    @ValueSource(floats = {0f, 1e-30f, Float.POSITIVE_INFINITY, Float.NaN, 1e6f, -1e-6f})
    void niftiPixdimMustBeFiniteAndPlausible(float pixdim) throws Exception {
        byte[] b = Files.readAllBytes(RealFiles.nibabel("tests/data/anatomical.nii"));
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getInt(0) == 348
                ? ByteOrder.LITTLE_ENDIAN : ByteOrder.BIG_ENDIAN);
        bb.putFloat(80, pixdim);
        ImageReadException e = refused(b);
        assertEquals(Problem.CORRUPT, e.problem(), e.getMessage());
        assertTrue(e.getMessage().startsWith("The NIfTI pixdim[1] is "), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"Infinity", "NaN", "1e308", "1e-300", "abc", "0", "-5"})
    void spacingBetweenSlicesMustBeFiniteAndPlausibleWhenPositive(String spacing) throws Exception {
        byte[] b = setString(ct(), 0x0018, 0x0088, "DS", spacing, ' ');
        if (spacing.equals("0") || spacing.equals("-5")) {
            assertEquals(5.0, ImageReaders.read(b, ReadLimits.DEFAULT).image().geometry().spacing()[2], 0,
                    "not declared: SliceThickness (5 mm) is used instead");
            return;
        }
        ImageReadException e = refused(b);
        assertEquals(Problem.CORRUPT, e.problem(), e.getMessage());
        assertTrue(e.getMessage().matches("The DICOM SpacingBetweenSlices (is not a number|is .* mm; a spacing must be "
                + "finite.*)\\."), e.getMessage());
    }

    /** pydicom's real CR (dicomdirtests CR1/6154) has ImagerPixelSpacing 0.1\\0.1 and no PixelSpacing. */
    @ParameterizedTest
    @ValueSource(strings = {"0\\0", "1e-300\\1e-300", "1e308\\1e308", "Infinity\\1", "NaN\\NaN", "0.1\\1e5"})
    void imagerPixelSpacingMustBeFiniteAndPlausible(String spacing) throws Exception {
        byte[] cr = Files.readAllBytes(RealFiles.pydicom("dicomdirtests/77654033/CR1/6154"));
        assertEquals(0.1, ImageReaders.read(cr, ReadLimits.DEFAULT).image().geometry().spacing()[0], 1e-12);
        ImageReadException e = refused(setString(cr, 0x0018, 0x1164, "DS", spacing, ' '));
        assertEquals(Problem.CORRUPT, e.problem(), e.getMessage());
        assertTrue(e.getMessage().matches("The DICOM ImagerPixelSpacing is .* mm; a spacing must be finite and within "
                + "1.0E-4 to 10000.0 mm\\."), e.getMessage());
    }

    /**
     * pydicom's real RT Dose (implicit VR, 15 frames 5 mm apart by GridFrameOffsetVector): a first step of 1e-5 mm or
     * 1e6 mm, or a NaN offset, is refused; the real one gives 5 mm.
     */
    @ParameterizedTest
    @ValueSource(strings = {"1e-05", "1000000", "NaN", "5"})
    void gridFrameOffsetVectorStepsAreSpacings(String step) throws Exception {
        byte[] dose = Files.readAllBytes(RealFiles.pydicom("rtdose.dcm"));
        StringBuilder v = new StringBuilder("0");
        for (int i = 1; i < 15; i++) {
            v.append('\\').append(step.equals("NaN") ? "NaN" : step.equals("5") ? Integer.toString(5 * i)
                    : Double.toString(Double.parseDouble(step) * i));
        }
        byte[] b = setImplicit(dose, 0x3004, 0x000C, v.toString());
        if (step.equals("5")) {
            assertEquals(5.0, ImageReaders.read(b, ReadLimits.DEFAULT).image().geometry().spacing()[2], 1e-12);
            return;
        }
        ImageReadException e = refused(b);
        assertEquals(Problem.CORRUPT, e.problem(), e.getMessage());
        assertEquals(step.equals("NaN")
                ? "The DICOM GridFrameOffsetVector holds NaN at frame 2; the offsets must be finite numbers."
                : "The slice spacing from the DICOM GridFrameOffsetVector is " + Double.parseDouble(step) + " mm; a "
                + "spacing must be finite and within 1.0E-4 to 10000.0 mm.", e.getMessage());
    }

    /**
     * nibabel's real Philips enhanced MR (philips_mprage.dcm.gz, 176 frames, positions in PlanePositionSequence):
     * the second frame moved to 1e-5 mm from the first along x, or the first frame's x set to NaN (same-length
     * text, nothing else changed).
     */
    @ParameterizedTest
    @ValueSource(strings = {"unchanged", "tiny step", "NaN"})
    void perFramePositionsGiveACheckedSpacing(String kind) throws Exception {
        byte[] b;
        try (var in = new java.util.zip.GZIPInputStream(Files.newInputStream(
                RealFiles.nibabel("nicom/tests/data/philips_mprage.dcm.gz")))) {
            b = in.readAllBytes();
        }
        String first = "92.7090416119899\\-125.12766968458\\136.495256863534";
        String second = "91.7096061871852\\-125.12766968458\\136.529122076928";
        if (kind.equals("unchanged")) {
            // orientation and pixel measures are per frame here: the first frame's are used (sagittal, 1 mm apart)
            var g = ImageReaders.read(b, ReadLimits.DEFAULT).image().geometry();
            assertEquals(1.0, g.spacing()[0], 1e-9);
            assertEquals(1.0, g.spacing()[1], 1e-9);
            assertEquals(1.0, g.spacing()[2], 1e-4);
            assertEquals(0.99788552522659, g.direction()[1], 1e-6); // row cosine y of PlaneOrientationSequence
            assertEquals(-0.9973131418228, g.direction()[5], 1e-6); // column cosine z
            return;
        }
        if (kind.equals("NaN")) {
            replaceFirst(b, first, "             NaN\\-125.12766968458\\136.495256863534");
        } else {
            replaceFirst(b, second, "92.7090516119899\\-125.12766968458\\136.495256863534");
        }
        ImageReadException e = refused(b);
        assertEquals(Problem.CORRUPT, e.problem(), e.getMessage());
        if (kind.equals("NaN")) {
            assertEquals("The DICOM ImagePositionPatient of frame 1 (PlanePositionSequence) is not 3 finite numbers.",
                    e.getMessage());
        } else {
            assertTrue(e.getMessage().matches("The slice spacing from the first two frames' ImagePositionPatient is "
                    + "9\\.\\d+E-6 mm; a spacing must be finite and within 1.0E-4 to 10000.0 mm\\."), e.getMessage());
        }
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource({"1,0", "2,NaN", "3,Infinity", "2,3.4e38", "3,1e-30", "1,-1e6"})
    void niftiPixdimOfEveryAxisMustBeFiniteAndPlausible(int axis, float pixdim) throws Exception {
        byte[] b = Files.readAllBytes(RealFiles.nibabel("tests/data/anatomical.nii")); // 33 x 41 x 25, 2 mm
        niftiBuffer(b).putFloat(76 + 4 * axis, pixdim);
        ImageReadException e = refused(b);
        assertEquals(Problem.CORRUPT, e.problem(), e.getMessage());
        assertTrue(e.getMessage().startsWith("The NIfTI pixdim[" + axis + "] is "), e.getMessage());
    }

    /** anatomical.nii has sform_code 2 with srow_x = -2 0 0 32: its first column's length is the x voxel size. */
    @ParameterizedTest
    @ValueSource(floats = {1e-30f, 1e30f, -2e5f})
    void niftiSformColumnLengthsMustBePlausible(float srowX0) throws Exception {
        byte[] b = Files.readAllBytes(RealFiles.nibabel("tests/data/anatomical.nii"));
        assertEquals(2.0, ImageReaders.read(b, ReadLimits.DEFAULT).image().geometry().spacing()[0], 1e-6);
        niftiBuffer(b).putFloat(280, srowX0);
        ImageReadException e = refused(b);
        assertEquals(Problem.CORRUPT, e.problem(), e.getMessage());
        assertTrue(e.getMessage().startsWith("The NIfTI sform column 1 length (voxel size) is "), e.getMessage());
    }

    private static ByteBuffer niftiBuffer(byte[] b) {
        return ByteBuffer.wrap(b).order(ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getInt(0) == 348
                ? ByteOrder.LITTLE_ENDIAN : ByteOrder.BIG_ENDIAN);
    }

    private static void replaceFirst(byte[] b, String from, String to) {
        byte[] f = from.getBytes(StandardCharsets.US_ASCII);
        byte[] t = to.getBytes(StandardCharsets.US_ASCII);
        assertEquals(f.length, t.length);
        for (int i = 0; i + f.length <= b.length; i++) {
            if (Arrays.equals(b, i, i + f.length, f, 0, f.length)) {
                System.arraycopy(t, 0, b, i, t.length);
                return;
            }
        }
        throw new IllegalStateException("not found: " + from);
    }

    /** An implicit VR little endian element's value replaced (padded with a space to even length, re-spliced). */
    private static byte[] setImplicit(byte[] b, int group, int element, String value) {
        byte[] tag = {(byte) group, (byte) (group >> 8), (byte) element, (byte) (element >> 8)};
        for (int i = 132; i + 9 <= b.length; i += 2) { // the data set starts at an even offset; elements stay even
            int len = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getInt(i + 4);
            if (Arrays.equals(b, i, i + 4, tag, 0, 4) && len > 0 && i + 8L + len <= b.length) {
                int oldLength = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getInt(i + 4);
                byte[] v = (value.length() % 2 == 0 ? value : value + " ").getBytes(StandardCharsets.US_ASCII);
                byte[] out = new byte[b.length - oldLength + v.length];
                System.arraycopy(b, 0, out, 0, i + 8);
                System.arraycopy(v, 0, out, i + 8, v.length);
                System.arraycopy(b, i + 8 + oldLength, out, i + 8 + v.length, b.length - i - 8 - oldLength);
                ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).putInt(i + 4, v.length);
                return out;
            }
        }
        throw new IllegalStateException("element not found");
    }

    @Test
    void libraryMessagesAreCleaned() {
        assertEquals("Raster is incompatible with ColorModel", HeaderChecks.clean(
                "Raster sun.awt.image.SunWritableRaster@36c799d is incompatible with ColorModel"));
        assertEquals("Unexpected end of file", HeaderChecks.clean("java.io.EOFException: unexpected end\u0000 of\n file."));
        assertEquals("", HeaderChecks.clean(null));
        assertEquals("Unlikely fixed VL 4294967295", HeaderChecks.clean("unlikely fixed VL 4294967295"));
    }

    /** The message a call throws (the test fails when it throws nothing). */
    private static String messageOf(org.junit.jupiter.api.function.Executable call) {
        return assertThrows(Throwable.class, call).getMessage();
    }

    /**
     * clean() on messages the libraries really give, provoked here: java.awt's raster/colour-model mismatch (class
     * name and object hash), zlib's lower-case "invalid block type", PixelMed's parser on an implicit VR data set read
     * as explicit, the JDK's number parser quoting a line break and a control byte, and a wrapped cause's
     * "java.io.EOFException: ..." text. Each comes out one readable clause: capital first, no class names, hashes,
     * control bytes or line breaks.
     */
    @Test
    void cleanOnMessagesLibrariesReallyGive() throws Exception {
        String awt = messageOf(() -> new java.awt.image.BufferedImage(java.awt.image.ColorModel.getRGBdefault(),
                java.awt.image.Raster.createWritableRaster(new java.awt.image.ComponentSampleModel(
                        java.awt.image.DataBuffer.TYPE_FLOAT, 4, 4, 1, 4, new int[]{0}), null), false, null));
        byte[] gz = MemoryBombTest.gzip(new byte[1000]);
        gz[10] = (byte) 0xFF; // the first deflate block header: block type 3 does not exist
        String zlib = messageOf(() -> new java.util.zip.GZIPInputStream(new java.io.ByteArrayInputStream(gz))
                .readAllBytes());
        byte[] mr = Files.readAllBytes(RealFiles.pydicom("MR_small_implicit.dcm"));
        int dataSet = 144 + ByteBuffer.wrap(mr).order(ByteOrder.LITTLE_ENDIAN).getInt(140);
        String pixelmed = messageOf(() -> new com.pixelmed.dicom.AttributeList().read(
                new com.pixelmed.dicom.DicomInputStream(new java.io.ByteArrayInputStream(mr, dataSet,
                        mr.length - dataSet), "1.2.840.10008.1.2.1", false)));
        String number = messageOf(() -> Integer.parseInt("12\n\u000134"));
        String wrapped = messageOf(() -> {
            throw new java.io.UncheckedIOException(new java.io.EOFException("premature end of stream"));
        });

        assertTrue(awt.matches("Raster sun\\.awt\\.image\\.SunWritableRaster@[0-9a-f]+ is incompatible .*"), awt);
        assertTrue(HeaderChecks.clean(awt).startsWith("Raster is incompatible with ColorModel"), HeaderChecks.clean(awt));
        assertEquals("invalid block type", zlib);
        assertEquals("Invalid block type", HeaderChecks.clean(zlib));
        assertTrue(HeaderChecks.clean(pixelmed).startsWith("Unlikely fixed VL (2228232 dec, 0x220008)"), pixelmed);
        assertTrue(number.contains("\n"), number);
        assertEquals("For input string: \"12 34\"", HeaderChecks.clean(number));
        assertEquals("java.io.EOFException: premature end of stream", wrapped);
        assertEquals("Premature end of stream", HeaderChecks.clean(wrapped));
        for (String m : new String[]{awt, zlib, pixelmed, number, wrapped}) {
            String c = HeaderChecks.clean(m);
            assertTrue(Character.isUpperCase(c.charAt(0)), c);
            assertTrue(c.chars().allMatch(ch -> ch >= 0x20 && ch < 0x7F), c);
            assertTrue(!c.matches(".*(@[0-9a-fA-F]{4,}|\\b[a-z]+\\.[a-z.]+\\.[A-Z]|Exception|\\.$).*"), c);
        }
    }

    @Test
    void unexpectedFailuresNameNoClass() {
        assertEquals("Reading the image failed unexpectedly: Index -1 out of bounds for length 4.",
                HeaderChecks.unexpected("Reading the image",
                        new ArrayIndexOutOfBoundsException("Index -1 out of bounds for length 4")));
        assertEquals("Validation failed unexpectedly (no detail given; see the NiFi log).",
                HeaderChecks.unexpected("Validation", new NullPointerException()));
        assertEquals("ClipHU failed unexpectedly: Bad state.",
                HeaderChecks.unexpected("ClipHU", new IllegalStateException("java.lang.IllegalStateException: bad state")));
        assertEquals("Denoise failed unexpectedly: Out of range.",
                HeaderChecks.unexpected("Denoise", new RuntimeException("DicomException: out of range")));
    }

    /** Offset of the value of an explicit VR little endian element with a 2-byte length. */
    private static int valueAt(byte[] b, int group, int element, String vr) {
        byte[] tag = {(byte) group, (byte) (group >> 8), (byte) element, (byte) (element >> 8),
                (byte) vr.charAt(0), (byte) vr.charAt(1)};
        for (int i = 132; i + 8 <= b.length; i++) {
            if (Arrays.equals(b, i, i + 6, tag, 0, 6)) {
                return i + 8;
            }
        }
        throw new IllegalStateException("element not found");
    }

    /** The element's value replaced by {@code value}, padded to an even length (the file re-spliced). */
    private static byte[] setString(byte[] b, int group, int element, String vr, String value, char pad) {
        int at = valueAt(b, group, element, vr);
        int oldLength = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getShort(at - 2) & 0xFFFF;
        byte[] v = (value.length() % 2 == 0 ? value : value + pad).getBytes(StandardCharsets.ISO_8859_1);
        byte[] out = new byte[b.length - oldLength + v.length];
        System.arraycopy(b, 0, out, 0, at);
        System.arraycopy(v, 0, out, at, v.length);
        System.arraycopy(b, at + oldLength, out, at + v.length, b.length - at - oldLength);
        ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).putShort(at - 2, (short) v.length);
        return out;
    }
}
