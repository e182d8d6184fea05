/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.pixelmed.dicom.Attribute;
import com.pixelmed.dicom.AttributeList;
import com.pixelmed.dicom.CodeStringAttribute;
import com.pixelmed.dicom.DicomInputStream;
import com.pixelmed.dicom.FileMetaInformation;
import com.pixelmed.dicom.IntegerStringAttribute;
import com.pixelmed.dicom.TagFromName;
import com.pixelmed.dicom.UniqueIdentifierAttribute;
import com.pixelmed.dicom.UnsignedShortAttribute;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medprep.image.Image;
import org.medprep.image.ImageMetadata;
import org.medprep.image.VoxelType;
import org.medprep.testutil.Python;

/** Metadata, geometry and error cases of {@link DicomReader} on pydicom's test files and synthesized objects. */
class DicomReaderTest {

    static final Path FILES = DicomReaderPydicomTest.TEST_FILES;

    private static byte[] bytes(String name) throws Exception {
        Path p = FILES.resolve(name);
        assumeTrue(Files.isRegularFile(p), "python3-pydicom test files are not installed");
        return Files.readAllBytes(p);
    }

    @Test
    void ctSmallMetadataGeometryAndHeader() throws Exception {
        DecodedImage d = DicomReader.read(bytes("CT_small.dcm"), ReadLimits.DEFAULT);
        Image im = d.image();
        assertEquals(VoxelType.INT16, im.type());
        assertEquals(128, im.width());
        assertEquals(128, im.height());
        assertEquals(1, im.depth());
        ImageMetadata m = im.metadata();
        assertEquals("DICOM", m.format());
        assertEquals("CT", m.modality());
        assertEquals("MONOCHROME2", m.photometricInterpretation());
        assertEquals(16, m.bitsStored());
        assertTrue(m.signedPixels());
        assertEquals(1.0, m.rescaleSlope());
        assertEquals(-1024.0, m.rescaleIntercept());
        assertTrue(Double.isNaN(m.windowCenter()));
        assertEquals("1.2.840.10008.1.2.1", m.transferSyntaxUid());
        assertArrayEquals(new double[]{0.661468, 0.661468, 5.0}, im.geometry().spacing(), 1e-9);
        assertArrayEquals(new double[]{-158.135803, -179.035797, -75.699997}, im.geometry().origin(), 1e-9);
        assertArrayEquals(new double[]{1, 0, 0, 0, 1, 0, 0, 0, 1}, im.geometry().direction(), 1e-12);
        assertEquals("1CT1", d.header().get("PatientID"));
        assertEquals("CT", d.header().get("Modality"));
        assertEquals("1.2.840.10008.5.1.4.1.1.2", d.header().get("SOPClassUID"));
        assertEquals("1.2.840.10008.1.2.1", d.header().get("TransferSyntaxUID"));
        assertEquals(m.studyInstanceUid(), d.header().get("StudyInstanceUID"));
        assertEquals(m.seriesInstanceUid(), d.header().get("SeriesInstanceUID"));
        assertTrue(d.header().containsKey("PatientName"));
        assertFalse(d.header().containsKey("PixelData"));
        assertEquals("0.661468\\0.661468", d.header().get("PixelSpacing"));
    }

    @Test
    void monochrome1CrKeepsStoredValuesAndModalityLut(@TempDir Path tmp) throws Exception {
        Path folder = FILES.resolve("dicomdirtests/77654033/CR1");
        assumeTrue(Files.isDirectory(folder));
        JsonNode ref = Python.json("pydicom_reference.py", folder.toString()).get("files").get(0);
        DecodedImage d = DicomReader.read(Files.readAllBytes(Path.of(ref.get("path").asText())), ReadLimits.DEFAULT);
        Image im = d.image();
        ImageMetadata m = im.metadata();
        assertEquals("MONOCHROME1", m.photometricInterpretation());
        assertTrue(m.monochrome1());
        assertEquals("CR", m.modality());
        assertEquals(0.684, m.rescaleSlope(), 1e-12);
        assertEquals(200.0, m.rescaleIntercept(), 1e-12);
        assertEquals(1600.0, m.windowCenter(), 1e-12);
        assertEquals(2800.0, m.windowWidth(), 1e-12);
        assertEquals(12, m.bitsStored());
        // ImagerPixelSpacing is the fallback when PixelSpacing is absent (CR).
        assertArrayEquals(new double[]{0.1, 0.1, 1.0}, im.geometry().spacing(), 1e-12);
        // Not inverted: exactly pydicom's stored values.
        assertEquals(ref.get("sha256").asText(), DicomSeriesZipReaderTest.sha256(DicomReaderPydicomTest.littleEndian(im)));
        double min = Double.MAX_VALUE;
        double max = -Double.MAX_VALUE;
        for (int i = 0; i < im.size(); i++) {
            min = Math.min(min, im.get(i));
            max = Math.max(max, im.get(i));
        }
        assertEquals(ref.get("min").asDouble(), min);
        assertEquals(ref.get("max").asDouble(), max);
    }

    @Test
    void multiFrameRtDoseIsDepthWithGridFrameOffsets() throws Exception {
        Image im = DicomReader.read(bytes("rtdose.dcm"), ReadLimits.DEFAULT).image();
        assertEquals(15, im.depth());
        assertEquals(VoxelType.INT32, im.type());
        // PixelSpacing 10\10, GridFrameOffsetVector 0\5\...\70, IPP (189.43125, 199.43125, -761.87), axial.
        assertArrayEquals(new double[]{10, 10, 5}, im.geometry().spacing(), 1e-9);
        assertArrayEquals(new double[]{189.43125, 199.43125, -761.87}, im.geometry().origin(), 1e-9);
        assertArrayEquals(new double[]{1, 0, 0, 0, 1, 0, 0, 0, 1}, im.geometry().direction(), 1e-12);
    }

    /**
     * An enhanced-style multi-frame object (synthesized from CT_small's pixels): orientation and pixel spacing
     * in the shared functional groups, one ImagePositionPatient per frame running against the normal, so the
     * z axis must flip to point from frame k to frame k+1.
     */
    @Test
    void perFramePositionsGiveSpacingAndDirection() throws Exception {
        AttributeList l = new AttributeList();
        l.read(new DicomInputStream(new ByteArrayInputStream(bytes("CT_small.dcm"))));
        short[] one = l.getPixelData().getShortValues();
        short[] three = new short[one.length * 3];
        for (int f = 0; f < 3; f++) {
            for (int i = 0; i < one.length; i++) {
                three[f * one.length + i] = (short) (one[i] + f);
            }
        }
        com.pixelmed.dicom.OtherWordAttribute pd = new com.pixelmed.dicom.OtherWordAttribute(TagFromName.PixelData);
        pd.setValues(three);
        l.put(pd);
        l.remove(TagFromName.ImagePositionPatient);
        l.remove(TagFromName.ImageOrientationPatient);
        l.remove(TagFromName.PixelSpacing);
        l.remove(TagFromName.SliceThickness);
        l.remove(TagFromName.SpacingBetweenSlices);
        put(l, new IntegerStringAttribute(TagFromName.NumberOfFrames), "3");
        AttributeList orient = new AttributeList();
        put(orient, new com.pixelmed.dicom.DecimalStringAttribute(TagFromName.ImageOrientationPatient), "0\\1\\0\\0\\0\\-1");
        AttributeList measures = new AttributeList();
        put(measures, new com.pixelmed.dicom.DecimalStringAttribute(TagFromName.PixelSpacing), "0.5\\0.7");
        put(measures, new com.pixelmed.dicom.DecimalStringAttribute(TagFromName.SliceThickness), "2");
        AttributeList shared = new AttributeList();
        shared.put(sequence(TagFromName.PlaneOrientationSequence, orient));
        shared.put(sequence(TagFromName.PixelMeasuresSequence, measures));
        l.put(sequence(TagFromName.SharedFunctionalGroupsSequence, shared));
        com.pixelmed.dicom.SequenceAttribute perFrame =
                new com.pixelmed.dicom.SequenceAttribute(TagFromName.PerFrameFunctionalGroupsSequence);
        for (String pos : new String[]{"4\\0\\0", "7\\0\\0", "10\\0\\0"}) {
            AttributeList p = new AttributeList();
            put(p, new com.pixelmed.dicom.DecimalStringAttribute(TagFromName.ImagePositionPatient), pos);
            AttributeList item = new AttributeList();
            item.put(sequence(TagFromName.PlanePositionSequence, p));
            perFrame.addItem(item);
        }
        l.put(perFrame);
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        l.write(bos, "1.2.840.10008.1.2.1", true, true);
        Image im = DicomReader.read(bos.toByteArray(), ReadLimits.DEFAULT).image();
        assertEquals(3, im.depth());
        assertEquals(one[5] + 2, ((short[]) im.data())[2 * one.length + 5]);
        // normal = (0,1,0) x (0,0,-1) = (-1,0,0); positions increase along +x, i.e. against the normal.
        assertArrayEquals(new double[]{0.7, 0.5, 3}, im.geometry().spacing(), 1e-12);
        assertArrayEquals(new double[]{4, 0, 0}, im.geometry().origin(), 1e-12);
        assertArrayEquals(new double[]{0, 1, 0, 0, 0, -1, 1, 0, 0}, im.geometry().direction(), 1e-12);
    }

    private static com.pixelmed.dicom.SequenceAttribute sequence(com.pixelmed.dicom.AttributeTag tag, AttributeList item) {
        com.pixelmed.dicom.SequenceAttribute s = new com.pixelmed.dicom.SequenceAttribute(tag);
        s.addItem(item);
        return s;
    }

    @Test
    void truncatedInsidePixelDataIsCorrupt() throws Exception {
        byte[] full = bytes("CT_small.dcm");
        byte[] cut = Arrays.copyOf(full, full.length - 1000);
        ImageReadException e = assertThrows(ImageReadException.class, () -> DicomReader.read(cut, ReadLimits.DEFAULT));
        assertEquals(ImageReadException.Problem.CORRUPT, e.problem());
        assertTrue(e.getMessage().matches("The pixel data is truncated: \\d+ of 32768 bytes present .*"), e.getMessage());
    }

    @Test
    void truncatedCompressedAndDeflatedAreCorrupt() throws Exception {
        for (String name : new String[]{"MR_small_RLE.dcm", "image_dfl.dcm", "MR_small_jp2klossless.dcm"}) {
            byte[] full = bytes(name);
            byte[] cut = Arrays.copyOf(full, full.length - 500);
            ImageReadException e = assertThrows(ImageReadException.class,
                    () -> DicomReader.read(cut, ReadLimits.DEFAULT), name);
            assertEquals(ImageReadException.Problem.CORRUPT, e.problem(), name + ": " + e.getMessage());
            assertTrue(e.getMessage().contains("truncated"), name + ": " + e.getMessage());
        }
    }

    @Test
    void randomBytesAreCorrupt() {
        byte[] noise = new byte[4096];
        new Random(1).nextBytes(noise);
        ImageReadException e = assertThrows(ImageReadException.class, () -> DicomReader.read(noise, ReadLimits.DEFAULT));
        assertEquals(ImageReadException.Problem.CORRUPT, e.problem());
        byte[] dicm = noise.clone();
        dicm[128] = 'D';
        dicm[129] = 'I';
        dicm[130] = 'C';
        dicm[131] = 'M';
        ImageReadException e2 = assertThrows(ImageReadException.class, () -> DicomReader.read(dicm, ReadLimits.DEFAULT));
        assertEquals(ImageReadException.Problem.CORRUPT, e2.problem());
    }

    @Test
    void hugeDeclaredSizeIsTooLargeBeforeAllocating() throws Exception {
        AttributeList l = new AttributeList();
        put(l, new UniqueIdentifierAttribute(TagFromName.SOPClassUID), "1.2.840.10008.5.1.4.1.1.7");
        put(l, new UniqueIdentifierAttribute(TagFromName.SOPInstanceUID), "1.2.3.4.5.6.7");
        put(l, new CodeStringAttribute(TagFromName.Modality), "OT");
        put(l, new UnsignedShortAttribute(TagFromName.Rows), "65535");
        put(l, new UnsignedShortAttribute(TagFromName.Columns), "65535");
        put(l, new IntegerStringAttribute(TagFromName.NumberOfFrames), "1000");
        put(l, new UnsignedShortAttribute(TagFromName.SamplesPerPixel), "1");
        put(l, new CodeStringAttribute(TagFromName.PhotometricInterpretation), "MONOCHROME2");
        put(l, new UnsignedShortAttribute(TagFromName.BitsAllocated), "16");
        put(l, new UnsignedShortAttribute(TagFromName.BitsStored), "16");
        put(l, new UnsignedShortAttribute(TagFromName.HighBit), "15");
        put(l, new UnsignedShortAttribute(TagFromName.PixelRepresentation), "0");
        FileMetaInformation.addFileMetaInformation(l, "1.2.840.10008.1.2.1", "MEDPREP");
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        l.write(bos, "1.2.840.10008.1.2.1", true, true);
        // Pixel Data element header (OW) declaring a huge length, with no value behind it.
        bos.write(new byte[]{(byte) 0xE0, 0x7F, 0x10, 0x00, 'O', 'W', 0, 0, (byte) 0xF0, (byte) 0xFF, (byte) 0xFF,
                (byte) 0xFF});
        byte[] content = bos.toByteArray();
        long t0 = System.nanoTime();
        ImageReadException e = assertThrows(ImageReadException.class, () -> DicomReader.read(content, ReadLimits.DEFAULT));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(ImageReadException.Problem.TOO_LARGE, e.problem(), e.getMessage());
        assertTrue(ms < 1000, "took " + ms + " ms");
        // Same through the format dispatcher.
        assertEquals(ImageReadException.Problem.TOO_LARGE,
                assertThrows(ImageReadException.class, () -> ImageReaders.read(content, ReadLimits.DEFAULT)).problem());
    }

    private static void put(AttributeList l, Attribute a, String value) throws Exception {
        a.addValue(value);
        l.put(a);
    }

    @Test
    void noPixelDataNamesTheSopClass() throws Exception {
        byte[] ct = bytes("CT_small.dcm");
        AttributeList l = new AttributeList();
        l.read(new DicomInputStream(new ByteArrayInputStream(ct)));
        l.remove(TagFromName.PixelData);
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        l.write(bos, "1.2.840.10008.1.2.1", true, true);
        ImageReadException e = assertThrows(ImageReadException.class,
                () -> DicomReader.read(bos.toByteArray(), ReadLimits.DEFAULT));
        assertEquals(ImageReadException.Problem.NO_PIXEL_DATA, e.problem());
        assertEquals("The DICOM object has no Pixel Data (SOP class CT Image).", e.getMessage());

        ImageReadException sr = assertThrows(ImageReadException.class,
                () -> DicomReader.read(bytes("reportsi.dcm"), ReadLimits.DEFAULT));
        assertEquals(ImageReadException.Problem.NO_PIXEL_DATA, sr.problem());
        assertEquals("The DICOM object has no Pixel Data (SOP class Basic Text SR).", sr.getMessage());
    }

    @Test
    void jpegLsAndJpegExtendedAreUnsupportedByName() throws Exception {
        ImageReadException ls = assertThrows(ImageReadException.class,
                () -> DicomReader.read(bytes("MR_small_jpeg_ls_lossless.dcm"), ReadLimits.DEFAULT));
        assertEquals(ImageReadException.Problem.UNSUPPORTED, ls.problem());
        assertTrue(ls.getMessage().contains("JPEG-LS Lossless (1.2.840.10008.1.2.4.80)"), ls.getMessage());
        ImageReadException ext = assertThrows(ImageReadException.class,
                () -> DicomReader.read(bytes("JPGExtended.dcm"), ReadLimits.DEFAULT));
        assertEquals(ImageReadException.Problem.UNSUPPORTED, ext.problem());
        assertTrue(ext.getMessage().contains("JPEG Extended") && ext.getMessage().contains("1.2.840.10008.1.2.4.51"),
                ext.getMessage());
    }

    @Test
    void bareDataSetWithoutMetaHeaderReads() throws Exception {
        byte[] full = bytes("CT_small.dcm");
        AttributeList l = new AttributeList();
        l.read(new DicomInputStream(new ByteArrayInputStream(full)));
        l.removeMetaInformationHeaderAttributes();
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        l.write(bos, "1.2.840.10008.1.2", false, true);
        byte[] bare = bos.toByteArray();
        assertEquals(ImageFormat.DICOM, ImageFormat.sniff(bare));
        Image a = DicomReader.read(full, ReadLimits.DEFAULT).image();
        DecodedImage b = DicomReader.read(bare, ReadLimits.DEFAULT);
        assertEquals("1.2.840.10008.1.2", b.header().get("TransferSyntaxUID"));
        assertArrayEquals((short[]) a.data(), (short[]) b.image().data());
        assertEquals(a.geometry(), b.image().geometry());
    }

    @Test
    void sameSignedPixelsInEveryTransferSyntax() throws Exception {
        // The same MR_small pixels in J2K lossless, RLE and big endian must equal the native little-endian file's.
        short[] nat = (short[]) DicomReader.read(bytes("MR_small.dcm"), ReadLimits.DEFAULT).image().data();
        for (String name : new String[]{"MR_small_jp2klossless.dcm", "MR_small_RLE.dcm", "MR_small_bigendian.dcm"}) {
            Image im = DicomReader.read(bytes(name), ReadLimits.DEFAULT).image();
            assertEquals(VoxelType.INT16, im.type(), name);
            assertArrayEquals(nat, (short[]) im.data(), name);
        }
    }
}
