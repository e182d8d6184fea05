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

/** {@link HeaderChecks}' rules on mutated real files: pydicom's CT_small.dcm and nibabel's anatomical.nii. */
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

    @Test
    void libraryMessagesAreCleaned() {
        assertEquals("Raster is incompatible with ColorModel", HeaderChecks.clean(
                "Raster sun.awt.image.SunWritableRaster@36c799d is incompatible with ColorModel"));
        assertEquals("Unexpected end of file", HeaderChecks.clean("java.io.EOFException: unexpected end\u0000 of\n file."));
        assertEquals("", HeaderChecks.clean(null));
        assertEquals("Unlikely fixed VL 4294967295", HeaderChecks.clean("unlikely fixed VL 4294967295"));
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
