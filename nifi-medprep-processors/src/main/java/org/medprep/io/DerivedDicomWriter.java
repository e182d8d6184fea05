/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.io;

import com.pixelmed.dicom.Attribute;
import com.pixelmed.dicom.AttributeFactory;
import com.pixelmed.dicom.AttributeList;
import com.pixelmed.dicom.AttributeTag;
import com.pixelmed.dicom.AttributeTagAttribute;
import com.pixelmed.dicom.DecimalStringAttribute;
import com.pixelmed.dicom.DicomException;
import com.pixelmed.dicom.FileMetaInformation;
import com.pixelmed.dicom.OtherByteAttribute;
import com.pixelmed.dicom.OtherWordAttribute;
import com.pixelmed.dicom.SOPClass;
import com.pixelmed.dicom.SequenceAttribute;
import com.pixelmed.dicom.TagFromName;
import com.pixelmed.dicom.TransferSyntax;
import java.io.IOException;
import java.io.OutputStream;
import java.math.BigDecimal;
import java.math.MathContext;
import java.nio.charset.StandardCharsets;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import org.medprep.image.Geometry;
import org.medprep.image.Image;
import org.medprep.image.ImageMetadata;
import org.medprep.image.VoxelType;

/**
 * Writes an image as a new derived DICOM object (Explicit VR Little Endian, with File Meta Information), using
 * PixelMed's attribute model. The SOP class follows the samples:
 * <ul>
 *   <li>one 8-bit channel with an identity Modality LUT: Multi-frame Grayscale Byte Secondary Capture;</li>
 *   <li>any other single channel (16/32-bit integers, float32, or 8-bit with a rescale): Multi-frame Grayscale Word
 *       Secondary Capture, unsigned 16-bit stored values with Rescale Slope/Intercept giving the values in the
 *       image's units ({@code value = stored × slope + intercept}; Rescale Type HU for CT, US otherwise). Integer
 *       images whose range spans at most 65,536 values are stored exactly; wider integer ranges and float32 are
 *       quantised linearly over [min, max] into 0…65535, an error of at most half the slope;</li>
 *   <li>three 8-bit channels: Multi-frame True Color Secondary Capture (RGB, interleaved).</li>
 * </ul>
 * Each of the image's {@code depth} slices is one frame, in z order. Geometry goes in the Multi-frame Functional
 * Groups (PS3.3 C.7.6.16): Pixel Measures (Pixel Spacing = y spacing \ x spacing, Slice Thickness = z spacing, in
 * mm) and Plane Orientation (the x and y axis direction cosines, LPS) shared, Plane Position (ImagePositionPatient
 * of each frame, mm) per frame. The object is marked derived: Image Type {@code DERIVED\SECONDARY}, Derivation
 * Description, and a Source Image Sequence item when the source instance is known. Identity and UIDs are taken as
 * given in {@link DerivedDicomSource}; study-level identifying attributes (dates, accession, physician, study ID)
 * are written empty, as PS3.15's Basic Application Level Confidentiality Profile does with them (action Z).
 *
 * <p>Checked with dicom3tools' {@code dciodvfy} (no errors) and read back with pydicom in the tests.
 */
public final class DerivedDicomWriter {

    /** Largest value of the 16-bit stored range. */
    private static final int STORED_MAX = 65535;

    /** Slice Location Vector (0018,2005), DS: what the Frame Increment Pointer names; not in PixelMed's TagFromName. */
    private static final AttributeTag SLICE_LOCATION_VECTOR = new AttributeTag(0x0018, 0x2005);

    private static final String DEIDENTIFICATION_METHOD = "PS3.15 Basic Profile; keyed HMAC-SHA256 pseudonyms";

    private DerivedDicomWriter() {
    }

    /**
     * @param image  the image to write: 1 channel of any voxel type, or 3 channels of UINT8
     * @param source what to write about identity, UIDs and derivation
     * @param out    receives the DICOM file (not closed)
     * @throws IllegalArgumentException when the image cannot be a Secondary Capture object (colour that is not
     *                                  8-bit RGB, NaN or infinite values)
     * @throws IOException              when the stream fails or PixelMed refuses an attribute
     */
    public static void write(Image image, DerivedDicomSource source, OutputStream out) throws IOException {
        try {
            AttributeList list = new AttributeList();
            String sopClass = pixels(image, list, source.modality());
            header(image, source, sopClass, list);
            geometry(image.geometry(), image.depth(), source.frameOfReferenceUid(), list);
            FileMetaInformation.addFileMetaInformation(list, TransferSyntax.ExplicitVRLittleEndian, "MEDPREP");
            list.write(out, TransferSyntax.ExplicitVRLittleEndian, true, true);
        } catch (DicomException e) {
            throw new IOException("The derived DICOM object could not be written: "
                    + HeaderChecks.clean(e.getMessage()), e);
        }
    }

    /** Puts the Image Pixel attributes and Pixel Data; returns the SOP Class UID they make. */
    private static String pixels(Image image, AttributeList list, String modality) throws DicomException {
        int frames = image.depth();
        int n = image.width() * image.height() * frames;
        put(list, TagFromName.Rows, Integer.toString(image.height()));
        put(list, TagFromName.Columns, Integer.toString(image.width()));
        put(list, TagFromName.NumberOfFrames, Integer.toString(frames));
        put(list, TagFromName.PixelRepresentation, "0");
        if (image.channels() == 3) {
            if (image.type() != VoxelType.UINT8) {
                throw new IllegalArgumentException("DICOM output of a colour image needs 8-bit samples; this one "
                        + "is " + image.type() + ".");
            }
            put(list, TagFromName.SamplesPerPixel, "3");
            put(list, TagFromName.PhotometricInterpretation, "RGB");
            put(list, TagFromName.PlanarConfiguration, "0");
            bits(list, 8);
            byte[] bytes = new byte[n * 3];
            for (int i = 0; i < bytes.length; i++) {
                bytes[i] = (byte) image.get(i);
            }
            OtherByteAttribute data = new OtherByteAttribute(TagFromName.PixelData);
            data.setValues(bytes);
            list.put(data);
            return SOPClass.MultiframeTrueColorSecondaryCaptureImageStorage;
        }
        if (image.channels() != 1) {
            throw new IllegalArgumentException("DICOM output needs 1 or 3 channels; this image has "
                    + image.channels() + ".");
        }
        put(list, TagFromName.SamplesPerPixel, "1");
        put(list, TagFromName.PhotometricInterpretation, "MONOCHROME2");
        put(list, TagFromName.PresentationLUTShape, "IDENTITY");
        ImageMetadata meta = image.metadata();
        double slope = meta.rescaleSlope();
        double intercept = meta.rescaleIntercept();
        if (image.type() == VoxelType.UINT8 && slope == 1 && intercept == 0) {
            bits(list, 8);
            byte[] bytes = new byte[n];
            for (int i = 0; i < n; i++) {
                bytes[i] = (byte) image.get(i);
            }
            OtherByteAttribute data = new OtherByteAttribute(TagFromName.PixelData);
            data.setValues(bytes);
            list.put(data);
            // The Byte SC IOD requires an identity Modality LUT to be stated.
            put(list, TagFromName.RescaleIntercept, "0");
            put(list, TagFromName.RescaleSlope, "1");
            put(list, TagFromName.RescaleType, "US");
            return SOPClass.MultiframeGrayscaleByteSecondaryCaptureImageStorage;
        }
        bits(list, 16);
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            double v = image.get(i);
            if (!Double.isFinite(v)) {
                throw new IllegalArgumentException("DICOM output cannot hold NaN or infinite values; voxel " + i
                        + " is " + v + ".");
            }
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        short[] stored = new short[n];
        String slopeText;
        String interceptText;
        if (image.type().integer() && max - min <= STORED_MAX) {
            // Exact: stored = v - min, and the source's Modality LUT moved by min.
            slopeText = ds(slope);
            interceptText = ds(intercept + min * slope);
            for (int i = 0; i < n; i++) {
                stored[i] = (short) (int) (image.get(i) - min);
            }
        } else {
            double realMin = Math.min(min * slope + intercept, max * slope + intercept);
            double realMax = Math.max(min * slope + intercept, max * slope + intercept);
            interceptText = ds(realMin);
            double interceptValue = Double.parseDouble(interceptText);
            double step = realMax > interceptValue ? (realMax - interceptValue) / STORED_MAX * (1 + 1e-9) : 1;
            slopeText = ds(step);
            double slopeValue = Double.parseDouble(slopeText);
            for (int i = 0; i < n; i++) {
                double real = image.get(i) * slope + intercept;
                long s = Math.round((real - interceptValue) / slopeValue);
                stored[i] = (short) (int) Math.max(0, Math.min(STORED_MAX, s));
            }
        }
        put(list, TagFromName.RescaleIntercept, interceptText);
        put(list, TagFromName.RescaleSlope, slopeText);
        put(list, TagFromName.RescaleType, "CT".equals(modality) && slope == 1 ? "HU" : "US");
        OtherWordAttribute data = new OtherWordAttribute(TagFromName.PixelData);
        data.setValues(stored);
        list.put(data);
        return SOPClass.MultiframeGrayscaleWordSecondaryCaptureImageStorage;
    }

    private static void bits(AttributeList list, int bits) throws DicomException {
        put(list, TagFromName.BitsAllocated, Integer.toString(bits));
        put(list, TagFromName.BitsStored, Integer.toString(bits));
        put(list, TagFromName.HighBit, Integer.toString(bits - 1));
    }

    /** Patient, study, series, equipment, general image, SC and SOP common attributes. */
    private static void header(Image image, DerivedDicomSource s, String sopClass, AttributeList list)
            throws DicomException {
        boolean ascii = StandardCharsets.US_ASCII.newEncoder().canEncode(s.patientName() + s.patientId()
                + s.derivationDescription() + s.seriesDescription());
        if (!ascii) {
            put(list, TagFromName.SpecificCharacterSet, "ISO_IR 192");
        }
        put(list, TagFromName.SOPClassUID, sopClass);
        put(list, TagFromName.SOPInstanceUID, s.sopInstanceUid());
        String now = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMddHHmmss"));
        put(list, TagFromName.InstanceCreationDate, now.substring(0, 8));
        put(list, TagFromName.InstanceCreationTime, now.substring(8));
        put(list, TagFromName.ContentDate, now.substring(0, 8));
        put(list, TagFromName.ContentTime, now.substring(8));
        // Patient and General Study: identity as resolved by the caller; the rest empty (PS3.15 action Z).
        put(list, TagFromName.PatientName, s.patientName());
        put(list, TagFromName.PatientID, s.patientId());
        put(list, TagFromName.PatientBirthDate, "");
        put(list, TagFromName.PatientSex, "");
        put(list, TagFromName.StudyInstanceUID, s.studyInstanceUid());
        put(list, TagFromName.StudyDate, "");
        put(list, TagFromName.StudyTime, "");
        put(list, TagFromName.ReferringPhysicianName, "");
        put(list, TagFromName.StudyID, "");
        put(list, TagFromName.AccessionNumber, "");
        put(list, TagFromName.PatientIdentityRemoved, s.identityRemoved() ? "YES" : "NO");
        if (s.identityRemoved()) {
            put(list, TagFromName.DeidentificationMethod, DEIDENTIFICATION_METHOD);
            AttributeList code = new AttributeList();
            put(code, TagFromName.CodeValue, "113100");
            put(code, TagFromName.CodingSchemeDesignator, "DCM");
            put(code, TagFromName.CodeMeaning, "Basic Application Confidentiality Profile");
            sequence(list, TagFromName.DeidentificationMethodCodeSequence, code);
        }
        // General Series, General Equipment, SC Equipment.
        put(list, TagFromName.Modality, s.modality());
        put(list, TagFromName.SeriesInstanceUID, s.seriesInstanceUid());
        put(list, TagFromName.SeriesNumber, "1");
        put(list, TagFromName.SeriesDescription, cut(s.seriesDescription(), 64));
        put(list, TagFromName.Laterality, "");
        put(list, TagFromName.Manufacturer, "nifi-medprep");
        put(list, TagFromName.ConversionType, "WSD");
        put(list, TagFromName.SecondaryCaptureDeviceManufacturer, "nifi-medprep");
        // General Image and SC Multi-frame Image.
        put(list, TagFromName.InstanceNumber, "1");
        put(list, TagFromName.PatientOrientation, "");
        put(list, TagFromName.ImageType, "DERIVED");
        list.get(TagFromName.ImageType).addValue("SECONDARY");
        put(list, TagFromName.DerivationDescription, cut(s.derivationDescription(), 1024));
        put(list, TagFromName.BurnedInAnnotation, "NO");
        if (s.sourceSopClassUid() != null && s.sourceSopInstanceUid() != null) {
            AttributeList item = new AttributeList();
            put(item, TagFromName.ReferencedSOPClassUID, s.sourceSopClassUid());
            put(item, TagFromName.ReferencedSOPInstanceUID, s.sourceSopInstanceUid());
            sequence(list, TagFromName.SourceImageSequence, item);
        }
        if (image.depth() > 1) {
            // Frames are slices: the Frame Increment Pointer names Slice Location Vector (mm along the normal).
            AttributeTagAttribute pointer = new AttributeTagAttribute(TagFromName.FrameIncrementPointer);
            pointer.addValue(SLICE_LOCATION_VECTOR);
            list.put(pointer);
            Attribute locations = new DecimalStringAttribute(SLICE_LOCATION_VECTOR);
            double dz = image.geometry().spacing()[2];
            for (int z = 0; z < image.depth(); z++) {
                locations.addValue(ds(z * dz));
            }
            list.put(locations);
        }
    }

    /** Frame of Reference and the Multi-frame Functional Groups holding spacing, orientation and positions. */
    private static void geometry(Geometry g, int frames, String frameOfReferenceUid, AttributeList list) throws DicomException {
        double[] spacing = g.spacing();
        double[] origin = g.origin();
        double[] zAxis = g.axis(2);
        AttributeList shared = new AttributeList();
        AttributeList measures = new AttributeList();
        put(measures, TagFromName.PixelSpacing, ds(spacing[1]), ds(spacing[0]));
        put(measures, TagFromName.SliceThickness, ds(spacing[2]));
        sequence(shared, TagFromName.PixelMeasuresSequence, measures);
        AttributeList orientation = new AttributeList();
        double[] x = g.axis(0);
        double[] y = g.axis(1);
        put(orientation, TagFromName.ImageOrientationPatient, ds(x[0]), ds(x[1]), ds(x[2]), ds(y[0]), ds(y[1]),
                ds(y[2]));
        sequence(shared, TagFromName.PlaneOrientationSequence, orientation);
        sequence(list, TagFromName.SharedFunctionalGroupsSequence, shared);
        SequenceAttribute perFrame = new SequenceAttribute(TagFromName.PerFrameFunctionalGroupsSequence);
        for (int z = 0; z < frames; z++) {
            AttributeList position = new AttributeList();
            put(position, TagFromName.ImagePositionPatient, ds(origin[0] + z * spacing[2] * zAxis[0]),
                    ds(origin[1] + z * spacing[2] * zAxis[1]), ds(origin[2] + z * spacing[2] * zAxis[2]));
            AttributeList frame = new AttributeList();
            sequence(frame, TagFromName.PlanePositionSequence, position);
            perFrame.addItem(frame);
        }
        list.put(perFrame);
        put(list, TagFromName.FrameOfReferenceUID, frameOfReferenceUid);
        put(list, TagFromName.PositionReferenceIndicator, "");
    }

    private static void sequence(AttributeList list, AttributeTag tag, AttributeList item) {
        SequenceAttribute sequence = new SequenceAttribute(tag);
        sequence.addItem(item);
        list.put(sequence);
    }

    private static void put(AttributeList list, AttributeTag tag, String... values) throws DicomException {
        Attribute a = AttributeFactory.newAttribute(tag);
        for (String v : values) {
            if (!v.isEmpty()) {
                a.addValue(v);
            }
        }
        list.put(a);
    }

    private static String cut(String text, int max) {
        String t = text == null ? "" : text;
        return t.length() <= max ? t : t.substring(0, max);
    }

    /**
     * A Decimal String (DS) of at most 16 characters: {@code v} with as many significant digits as fit (at least
     * 6), plain or in E notation.
     */
    static String ds(double v) {
        if (v == 0) {
            return "0";
        }
        for (int digits = 15; digits >= 1; digits--) {
            String s = new BigDecimal(v).round(new MathContext(digits)).stripTrailingZeros().toString();
            if (s.length() <= 16) {
                return s;
            }
        }
        throw new IllegalArgumentException("The value " + v + " cannot be written as a DICOM decimal string.");
    }
}
