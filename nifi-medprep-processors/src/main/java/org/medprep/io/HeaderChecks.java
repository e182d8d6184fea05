/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.io;

import com.pixelmed.dicom.Attribute;
import com.pixelmed.dicom.AttributeTag;
import com.pixelmed.dicom.TagFromName;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;
import org.medprep.io.ImageReadException.Problem;

/**
 * Header values validated, not trusted: every reader calls these before the values reach an image, and a value
 * out of its rule makes the file {@link Problem#CORRUPT} (or {@link Problem#UNSUPPORTED} for a retired DICOM
 * photometric interpretation) with one sentence naming the value and the rule:
 * <ul>
 *   <li>BitsStored within 1 .. BitsAllocated;</li>
 *   <li>PhotometricInterpretation consistent with SamplesPerPixel: MONOCHROME1, MONOCHROME2 and PALETTE COLOR
 *       have 1 sample, RGB and YBR_* 3; the retired ARGB, CMYK, HSV (and MONOCHROME3, which DICOM never defined)
 *       are not supported; anything else is not a photometric interpretation;</li>
 *   <li>spacing (mm) finite and within {@value #MIN_SPACING_MM} .. {@value #MAX_SPACING_MM} — 0.1 µm to 10 m
 *       covers microscopy to whole-body imaging (DICOM PixelSpacing / ImagerPixelSpacing, a series' slice
 *       spacing, NIfTI pixdim and affine column lengths); SliceThickness and SpacingBetweenSlices must be finite,
 *       and within the range when positive (0 or a negative value, seen in real 2D exports and in the retired use of
 *       a signed SpacingBetweenSlices, counts as not declared: it is never used as a spacing);</li>
 *   <li>ImagePositionPatient (3 values) and ImageOrientationPatient (6 values), when present, finite numbers
 *       (a NaN position would sort slices arbitrarily and write a NaN affine);</li>
 *   <li>UIDs (Study, Series, SOP Instance, SOP Class, Frame of Reference) valid per DICOM PS3.5 9.1: at most 64
 *       characters, components of digits separated by dots, no empty component, no leading zero in a component
 *       of more than one digit (so no control bytes either).</li>
 * </ul>
 * {@link #clean} makes a library's message fit to follow our sentence after ": ".
 */
public final class HeaderChecks {

    /** Smallest plausible spacing, mm (0.1 µm). */
    public static final double MIN_SPACING_MM = 1e-4;
    /** Largest plausible spacing, mm (10 m). */
    public static final double MAX_SPACING_MM = 1e4;

    private static final Set<String> ONE_SAMPLE = Set.of("MONOCHROME1", "MONOCHROME2", "PALETTE COLOR");
    private static final Set<String> THREE_SAMPLES = Set.of("RGB", "YBR_FULL", "YBR_FULL_422", "YBR_PARTIAL_422",
            "YBR_PARTIAL_420", "YBR_ICT", "YBR_RCT");
    private static final Set<String> RETIRED = Set.of("ARGB", "CMYK", "HSV", "MONOCHROME3");
    private static final Pattern UID = Pattern.compile("(0|[1-9][0-9]*)(\\.(0|[1-9][0-9]*))*");
    private static final AttributeTag[] UID_TAGS = {TagFromName.StudyInstanceUID, TagFromName.SeriesInstanceUID,
            TagFromName.SOPInstanceUID, TagFromName.SOPClassUID, TagFromName.FrameOfReferenceUID};

    private HeaderChecks() {
    }

    /** The DICOM rules above on a header whose SamplesPerPixel and BitsAllocated are already supported. */
    static void dicom(DicomReader.Header h) throws ImageReadException {
        int allocated = h.bitsAllocated();
        int stored = h.bitsStored();
        if (stored < 1 || stored > allocated) {
            throw corrupt("The DICOM object declares BitsStored " + stored + " with BitsAllocated " + allocated
                    + "; BitsStored must be 1 to BitsAllocated.");
        }
        String photometric = h.string(TagFromName.PhotometricInterpretation);
        int spp = h.samplesPerPixel();
        if (photometric != null) {
            String p = photometric.toUpperCase(Locale.ROOT);
            if (RETIRED.contains(p)) {
                throw new ImageReadException(Problem.UNSUPPORTED, "The photometric interpretation " + p
                        + " is not supported (retired or never defined in DICOM).");
            }
            int expected = ONE_SAMPLE.contains(p) ? 1 : THREE_SAMPLES.contains(p) ? 3 : 0;
            if (expected == 0) {
                throw corrupt("The DICOM object declares the photometric interpretation \"" + clean(photometric)
                        + "\", which DICOM does not define.");
            }
            if (expected != spp) {
                throw corrupt("The DICOM object declares photometric interpretation " + p + " with " + spp
                        + " samples per pixel; " + p + " has " + expected + ".");
            }
        }
        for (AttributeTag t : new AttributeTag[]{TagFromName.PixelSpacing, TagFromName.ImagerPixelSpacing}) {
            Attribute a = h.list.get(t);
            if (a == null || a.getVM() == 0) {
                continue;
            }
            String name = t.equals(TagFromName.PixelSpacing) ? "PixelSpacing" : "ImagerPixelSpacing";
            double[] v;
            try {
                v = a.getDoubleValues();
            } catch (Exception e) {
                throw corrupt("The DICOM " + name + " is not a pair of numbers.");
            }
            if (v == null || v.length != 2) {
                throw corrupt("The DICOM " + name + " has " + (v == null ? 0 : v.length) + " values; it must have 2.");
            }
            spacing("DICOM " + name, v[0]);
            spacing("DICOM " + name, v[1]);
        }
        for (AttributeTag t : new AttributeTag[]{TagFromName.SliceThickness, TagFromName.SpacingBetweenSlices}) {
            Attribute a = h.list.get(t);
            if (a == null || a.getVM() == 0) {
                continue;
            }
            String name = t.equals(TagFromName.SliceThickness) ? "SliceThickness" : "SpacingBetweenSlices";
            double v;
            try {
                v = Double.parseDouble(a.getStringValues()[0].strip());
            } catch (Exception e) {
                throw corrupt("The DICOM " + name + " is not a number.");
            }
            if (!Double.isFinite(v)) {
                throw corrupt("The DICOM " + name + " is " + v + " mm; a spacing must be finite.");
            }
            if (v > 0) {
                spacing("DICOM " + name, v); // 0 or negative: not used (no slice spacing declared)
            }
        }
        finiteValues(h, TagFromName.ImagePositionPatient, "ImagePositionPatient", 3);
        finiteValues(h, TagFromName.ImageOrientationPatient, "ImageOrientationPatient", 6);
        for (AttributeTag t : UID_TAGS) {
            Attribute a = h.list.get(t);
            if (a == null || a.getVM() == 0) {
                continue;
            }
            String uid = a.getSingleStringValueOrNull();
            uid(com.pixelmed.dicom.DicomDictionary.StandardDictionary.getNameFromTag(t), uid);
        }
    }

    /** CORRUPT unless the attribute, when present, holds {@code count} finite numbers. */
    private static void finiteValues(DicomReader.Header h, AttributeTag t, String name, int count)
            throws ImageReadException {
        Attribute a = h.list.get(t);
        if (a == null || a.getVM() == 0) {
            return;
        }
        double[] v;
        try {
            v = a.getDoubleValues();
        } catch (Exception e) {
            v = null;
        }
        boolean ok = v != null && v.length == count;
        for (int i = 0; ok && i < v.length; i++) {
            ok = Double.isFinite(v[i]);
        }
        if (!ok) {
            throw corrupt("The DICOM " + name + " is not " + count + " finite numbers.");
        }
    }

    /** CORRUPT unless {@code v} mm is finite and within the plausible range; {@code what} names the value. */
    public static void spacing(String what, double v) throws ImageReadException {
        if (!(v >= MIN_SPACING_MM && v <= MAX_SPACING_MM)) {
            throw corrupt("The " + what + " is " + v + " mm; a spacing must be finite and within " + MIN_SPACING_MM
                    + " to " + MAX_SPACING_MM + " mm.");
        }
    }

    /** CORRUPT unless {@code uid} (null or empty allowed: absent) is a valid UID per PS3.5 9.1. */
    static void uid(String name, String uid) throws ImageReadException {
        if (uid == null) {
            return;
        }
        String u = uid.strip();   // PixelMed keeps the NUL/space padding out; strip trailing blanks only
        if (u.isEmpty()) {
            return;
        }
        if (u.length() > 64 || !UID.matcher(u).matches()) {
            throw corrupt("The DICOM " + name + " \"" + clean(u) + "\" is not a valid UID (at most 64 digits and "
                    + "dots, no empty component, no leading zero).");
        }
    }

    /**
     * A library's message made fit to follow our sentence: control bytes and line breaks become spaces, Java class
     * names ({@code sun.awt.image.SunWritableRaster}, {@code java.io.EOFException:}, a bare {@code DicomException:})
     * and object hashes
     * ({@code @36c799d}) are removed, runs of spaces collapsed, the first letter capitalised, at most 200
     * characters, no final full stop. Null or nothing left gives "".
     */
    public static String clean(String message) {
        if (message == null) {
            return "";
        }
        String m = message.replaceAll("[\\p{Cntrl}\\uFFFD]", " ");
        m = m.replaceAll("@[0-9a-fA-F]{4,}", "");
        m = m.replaceAll("\\b(?:[a-z][a-z0-9_]*\\.)+[A-Z][A-Za-z0-9_$]*:?", "");
        m = m.replaceAll("\\b[A-Z][A-Za-z0-9_$]*(?:Exception|Error)\\b:?", "");
        m = m.replaceAll("\\s+", " ").strip();
        m = m.replaceAll("^[:;,. ]+", "").replaceAll("[. ]+$", "");
        if (m.length() > 200) {
            m = m.substring(0, 200).strip() + "...";
        }
        return m.isEmpty() ? "" : Character.toUpperCase(m.charAt(0)) + m.substring(1);
    }

    /**
     * A header string as it may appear inside a reason: printable ASCII kept, every other character (control
     * bytes, line breaks, undecodable bytes) shown as "?", at most 80 characters.
     */
    public static String printable(String value) {
        if (value == null) {
            return "";
        }
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < value.length() && b.length() < 80; i++) {
            char c = value.charAt(i);
            b.append(c >= 0x20 && c < 0x7F ? c : '?');
        }
        return value.length() > 80 ? b + "..." : b.toString();
    }

    /**
     * The sentence for a failure we did not foresee: "{@code what} failed unexpectedly: " and the throwable's cleaned
     * message, or "(no detail given; see the NiFi log)" when nothing is left; the exception's class stays in the log.
     */
    public static String unexpected(String what, Throwable e) {
        String m = clean(e.getMessage());
        return what + " failed unexpectedly" + (m.isEmpty() ? " (no detail given; see the NiFi log)." : ": " + m + ".");
    }

    private static ImageReadException corrupt(String message) {
        return new ImageReadException(Problem.CORRUPT, message);
    }
}
