/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.corpus;

import java.util.List;
import java.util.SplittableRandom;
import org.medprep.corpus.DicomElements.Element;

/**
 * DICOM mutations: a length field (VL) of a random element set to a suspicious value, and a header field that
 * decides how pixels are read (Rows, Columns, BitsAllocated, BitsStored, HighBit, SamplesPerPixel,
 * PixelRepresentation, PlanarConfiguration, NumberOfFrames, PhotometricInterpretation, PixelSpacing,
 * ImagerPixelSpacing, SliceThickness, SpacingBetweenSlices, Rescale Slope/Intercept, ImagePosition/Orientation,
 * transfer syntax, UIDs, the meta group length) set to an extreme, inserted when absent, or removed.
 */
final class DicomMutations {

    static final int META_GROUP_LENGTH = 0x00020000;
    static final int TRANSFER_SYNTAX = 0x00020010;

    private static final int[] US_TAGS = {0x00280010, 0x00280011, 0x00280100, 0x00280101, 0x00280102, 0x00280002,
            0x00280103, 0x00280006};
    private static final String[] US_NAMES = {"Rows", "Columns", "BitsAllocated", "BitsStored", "HighBit",
            "SamplesPerPixel", "PixelRepresentation", "PlanarConfiguration"};
    private static final int[] US_VALUES = {0, 1, 2, 3, 4, 7, 8, 9, 12, 15, 16, 17, 24, 31, 32, 33, 64, 255, 256,
            4096, 22000, 32767, 32768, 65535};
    private static final int[] DS_TAGS = {0x00280030, 0x00181164, 0x00180050, 0x00180088, 0x00281053, 0x00281052,
            0x00281050, 0x00281051};
    private static final String[] DS_NAMES = {"PixelSpacing", "ImagerPixelSpacing", "SliceThickness",
            "SpacingBetweenSlices", "RescaleSlope", "RescaleIntercept", "WindowCenter", "WindowWidth"};
    private static final String[] DS_VALUES = {"0", "-0", "-1", "1e-300", "4.9e-324", "1e-5", "1e-4", "0.0001",
            "10000", "1e5", "1e308", "1e309", "NaN", "Infinity", "-Infinity", "", "abc", "0x10", " 1 ", "1e-45",
            "3.4e38"};
    private static final String[] PHOTOMETRIC = {"MONOCHROME1", "MONOCHROME2", "RGB", "YBR_FULL", "YBR_FULL_422",
            "YBR_ICT", "PALETTE COLOR", "CMYK", "ARGB", "HSV", "MONOCHROME3", "", "BOGUS", "rgb",
            "MONOCHROME2\\RGB", "\u0001\u0002"};
    private static final String[] IS_VALUES = {"0", "-1", "1", "2", "3", "1000", "1000000", "2147483647",
            "2147483648", "abc", ""};
    private static final String[] UIDS = {"", "1.2.3", "1..2", "01.2", "1.2.\u0001", "1.2.3.a", ".1.2",
            "1." + "2".repeat(70), "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.5", "1.2.840.10008.1.2.4.90",
            "1.2.840.10008.1.2", "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.4.80",
            "1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.1"};
    private static final int[] UID_TAGS = {TRANSFER_SYNTAX, 0x0020000D, 0x0020000E, 0x00080018, 0x00080016,
            0x00200052};
    private static final String[] UID_NAMES = {"TransferSyntaxUID", "StudyInstanceUID", "SeriesInstanceUID",
            "SOPInstanceUID", "SOPClassUID", "FrameOfReferenceUID"};

    private DicomMutations() {
    }

    /** The length field of a random element (the pixel data's a quarter of the time) set to a suspicious value. */
    static Change lengthField(byte[] b, SplittableRandom r) {
        DicomElements d = DicomElements.parse(b);
        List<Element> all = d.elements;
        Element e = null;
        if (r.nextInt(4) == 0) {
            e = d.find(0x7FE00010);
        }
        if (e == null) {
            e = all.get(r.nextInt(all.size()));
        }
        long v = ByteMutations.lengthValue(r, e.length() & 0xFFFFFFFFL, e.lengthSize(), b.length);
        return new Change(d.withLengthField(e, v), "VL of " + tag(e.tag()) + " " + e.length() + " -> " + v);
    }

    /** One header field set to an extreme (or inserted, or removed); null when the file lacks what was picked. */
    static Change headerExtreme(byte[] b, SplittableRandom r) {
        DicomElements d = DicomElements.parse(b);
        int kind = r.nextInt(10);
        if (kind < 4) {
            int i = r.nextInt(US_TAGS.length);
            int v = ByteMutations.pick(r, US_VALUES);
            byte[] out = d.withUs(US_TAGS[i], v);
            if (out == null) {
                out = d.withValue(US_TAGS[i], "US", us(v, d.bigEndian));
            }
            return change(out, US_NAMES[i] + " = " + v);
        }
        if (kind < 6) {
            int i = r.nextInt(DS_TAGS.length);
            String v = ByteMutations.pick(r, DS_VALUES);
            boolean pair = i < 2;
            String value = pair ? (r.nextInt(4) == 0 ? v + "\\1" : r.nextInt(8) == 0 ? v : v + "\\" + v) : v;
            if (r.nextInt(12) == 0) {
                return change(d.without(DS_TAGS[i]), DS_NAMES[i] + " removed");
            }
            return change(d.withValue(DS_TAGS[i], "DS", DicomElements.text(value)), DS_NAMES[i] + " = " + esc(value));
        }
        if (kind == 6) {
            String v = ByteMutations.pick(r, PHOTOMETRIC);
            return change(d.withValue(0x00280004, "CS", DicomElements.text(v)), "PhotometricInterpretation = "
                    + esc(v));
        }
        if (kind == 7) {
            if (r.nextBoolean()) {
                String v = ByteMutations.pick(r, IS_VALUES);
                return change(d.withValue(0x00280008, "IS", DicomElements.text(v)), "NumberOfFrames = " + esc(v));
            }
            String[] v = {"0\\0\\0\\0\\0\\0", "1\\0\\0\\1\\0\\0", "NaN\\0\\0\\0\\1\\0", "1\\0\\0\\0\\1",
                    "Infinity\\0\\0\\0\\1\\0"};
            String[] p = {"NaN\\0\\0", "1e308\\1e308\\1e308", "-Infinity\\0\\0", "0\\0", "abc\\1\\2"};
            return r.nextBoolean()
                    ? change(d.withValue(0x00200037, "DS", DicomElements.text(ByteMutations.pick(r, v))),
                    "ImageOrientationPatient extreme")
                    : change(d.withValue(0x00200032, "DS", DicomElements.text(ByteMutations.pick(r, p))),
                    "ImagePositionPatient extreme");
        }
        if (kind == 8) {
            int i = r.nextInt(UID_TAGS.length);
            String v = ByteMutations.pick(r, UIDS);
            return change(d.withValue(UID_TAGS[i], "UI", DicomElements.uid(v)), UID_NAMES[i] + " = " + esc(v));
        }
        long[] values = {0, 1, 2, 4, 100, 0x7FFFFFFFL, 0xFFFFFFFFL, 0x80000000L};
        Element g = d.find(META_GROUP_LENGTH);
        if (g == null) {
            return null;
        }
        long real = readUl(b, g.valueAt());
        long v = r.nextInt(3) == 0 ? real + r.nextInt(-8, 9) : values[r.nextInt(values.length)];
        return change(d.withUl(META_GROUP_LENGTH, v), "meta group length " + real + " -> " + v);
    }

    private static long readUl(byte[] b, int at) {
        return (b[at] & 0xFFL) | (b[at + 1] & 0xFFL) << 8 | (b[at + 2] & 0xFFL) << 16 | (b[at + 3] & 0xFFL) << 24;
    }

    private static byte[] us(int v, boolean bigEndian) {
        return bigEndian ? new byte[]{(byte) (v >> 8), (byte) v} : new byte[]{(byte) v, (byte) (v >> 8)};
    }

    private static Change change(byte[] out, String what) {
        return out == null ? null : new Change(out, what);
    }

    static String tag(int tag) {
        return String.format("(%04X,%04X)", tag >>> 16, tag & 0xFFFF);
    }

    /** Control characters shown as \\uXXXX, so a description stays one printable line. */
    static String esc(String s) {
        StringBuilder out = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            out.append(c < 0x20 || c > 0x7E ? String.format("\\u%04x", (int) c) : String.valueOf(c));
        }
        return out.append('"').toString();
    }
}
