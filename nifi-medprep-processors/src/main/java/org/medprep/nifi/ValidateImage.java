/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.nifi;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.nifi.annotation.behavior.InputRequirement;
import org.apache.nifi.annotation.behavior.SideEffectFree;
import org.apache.nifi.annotation.behavior.SupportsBatching;
import org.apache.nifi.annotation.behavior.SystemResource;
import org.apache.nifi.annotation.behavior.SystemResourceConsideration;
import org.apache.nifi.annotation.behavior.WritesAttribute;
import org.apache.nifi.annotation.behavior.WritesAttributes;
import org.apache.nifi.annotation.documentation.CapabilityDescription;
import org.apache.nifi.annotation.documentation.Tags;
import org.apache.nifi.annotation.documentation.UseCase;
import org.apache.nifi.annotation.lifecycle.OnScheduled;
import org.medprep.nifi.shared.PropertyChoice;
import org.apache.nifi.components.PropertyDescriptor;
import org.apache.nifi.expression.ExpressionLanguageScope;
import org.apache.nifi.flowfile.FlowFile;
import org.apache.nifi.flowfile.attributes.CoreAttributes;
import org.apache.nifi.processor.AbstractProcessor;
import org.apache.nifi.processor.ProcessContext;
import org.apache.nifi.processor.ProcessSession;
import org.apache.nifi.processor.Relationship;
import org.apache.nifi.processor.exception.ProcessException;
import org.apache.nifi.processor.util.StandardValidators;
import org.medprep.image.Image;
import org.medprep.image.ImageMetadata;
import org.medprep.image.VoxelType;
import org.medprep.image.PixelDigest;
import org.medprep.io.ColorHandling;
import org.medprep.io.DecodedImage;
import org.medprep.io.HeaderChecks;
import org.medprep.io.ImageReadException;
import org.medprep.io.JpegReader;
import org.medprep.io.OutputFormat;
import org.medprep.io.ReadLimits;
import org.medprep.nifi.shared.ColorImagesProperty;
import org.medprep.nifi.shared.FlowFileImages;
import org.medprep.nifi.shared.ImageAttributes;
import org.medprep.nifi.shared.ImageTransformer;
import org.medprep.nifi.shared.DerivedDicomSources;
import org.medprep.nifi.shared.PatientPseudonym;
import org.medprep.nifi.shared.StepRecorder;
import org.medprep.ops.ImageStats;

/**
 * Decodes an image fully and routes it to {@code valid} or {@code invalid} after the checks described in
 * additionalDetails.md; content is never changed. Routing: every check passed → valid; content unreadable,
 * truncated, too large, without pixel data, an inconsistent series, or any check failed → invalid with
 * {@code medprep.invalid.reason}; a well-formed file in an encoding this build cannot decode (JPEG-LS, 12-bit
 * JPEG) or an unexpected processing error → failure with {@code medprep.failure.reason}.
 */
@Tags({"medical imaging", "DICOM", "NIfTI", "X-ray", "CT", "MR", "validation", "quality control", "machine learning"})
@CapabilityDescription("Decodes a medical image (DICOM file, ZIP of one DICOM series, NIfTI, PNG, JPEG, TIFF; "
        + "format sniffed from content) and checks that it is complete, not too large (declared size checked "
        + "before allocating), not too small, not blank, has valid spacing and the required DICOM attributes and "
        + "an allowed modality. Writes the image's key metadata and a keyed patient pseudonym (HMAC-SHA256) as "
        + "attributes; patient identity itself is never written unless Expose Patient Identifiers is true. "
        + "Content is left unchanged.")
@InputRequirement(InputRequirement.Requirement.INPUT_REQUIRED)
@SideEffectFree
@SupportsBatching
@SystemResourceConsideration(resource = SystemResource.MEMORY,
        description = "The whole image is decoded in memory: up to Max Voxels samples of up to 4 bytes, plus the "
                + "FlowFile content.")
@WritesAttributes({
        @WritesAttribute(attribute = ValidateImage.ATTR_INVALID_REASON, description = "Every failed check, one sentence each (invalid only)."),
        @WritesAttribute(attribute = ValidateImage.ATTR_FAILURE_REASON, description = "Why the image could not be processed (failure only)."),
        @WritesAttribute(attribute = "medprep.format", description = "Sniffed format: DICOM, DICOM-ZIP, NIfTI, PNG, JPEG or TIFF."),
        @WritesAttribute(attribute = "medprep.modality", description = "DICOM Modality (OT for non-DICOM input)."),
        @WritesAttribute(attribute = "medprep.width", description = "Columns (x), pixels."),
        @WritesAttribute(attribute = "medprep.height", description = "Rows (y), pixels."),
        @WritesAttribute(attribute = "medprep.depth", description = "Slices or frames (z)."),
        @WritesAttribute(attribute = "medprep.spacing", description = "Voxel spacing x,y,z in mm."),
        @WritesAttribute(attribute = "medprep.bits.stored", description = "DICOM BitsStored, or the sample bit depth."),
        @WritesAttribute(attribute = "medprep.photometric", description = "Photometric interpretation (MONOCHROME1, MONOCHROME2, RGB)."),
        @WritesAttribute(attribute = "medprep.study.uid", description = "StudyInstanceUID (DICOM only)."),
        @WritesAttribute(attribute = "medprep.series.uid", description = "SeriesInstanceUID (DICOM only)."),
        @WritesAttribute(attribute = "medprep.transfer.syntax", description = "Transfer syntax UID (DICOM only)."),
        @WritesAttribute(attribute = "medprep.pixel.sha256", description = "SHA-256 of the decoded stored values (little-endian, C order z,y,x,c), for duplicate detection; only when Pixel Digest is true."),
        @WritesAttribute(attribute = ValidateImage.ATTR_SERIES_KEY, description = "Keyed pseudonym of the "
                + "SeriesInstanceUID (DICOM only): HMAC-SHA256 of 'SeriesInstanceUID:' + the UID under the Patient Key "
                + "Secret, 64 hex characters. What a flow groups slices on and names a series' output after, so the "
                + "UID itself need not leave the flow."),
        @WritesAttribute(attribute = DerivedDicomSources.STUDY_KEY, description = "Keyed pseudonym of the "
                + "StudyInstanceUID (DICOM only): HMAC-SHA256 of 'StudyInstanceUID:' + the UID under the Patient Key "
                + "Secret. A derived DICOM output's Study Instance UID is made from it when identity is not exposed."),
        @WritesAttribute(attribute = DerivedDicomSources.INSTANCE_KEY, description = "Keyed pseudonym of the "
                + "SOPInstanceUID (DICOM only; a series' first slice): HMAC-SHA256 of 'SOPInstanceUID:' + the UID "
                + "under the Patient Key Secret. A derived DICOM output references its source by a UID made from it."),
        @WritesAttribute(attribute = DerivedDicomSources.SOP_CLASS_UID, description = "SOPClassUID of the source "
                + "instance (DICOM only), for a derived DICOM output's reference to its source."),
        @WritesAttribute(attribute = "medprep.patient.key", description = "HMAC-SHA256 of the patient identifier under the Patient Key Secret."),
        @WritesAttribute(attribute = "medprep.patient.id", description = "Raw PatientID: only when Expose Patient Identifiers is true."),
        @WritesAttribute(attribute = "medprep.patient.name", description = "Raw PatientName: only when Expose Patient Identifiers is true.")
})
@UseCase(description = "Quarantine unreadable, truncated, blank or incomplete images before preprocessing.",
        configuration = """
                Set Patient Key Secret (keep it in a sensitive parameter). Connect 'valid' to the next step, and
                'invalid' and 'failure' to a quarantine (e.g. PutFile), where medprep.invalid.reason and
                medprep.failure.reason say why. For PNG/JPEG datasets set Patient ID for Non-DICOM Input to an
                expression deriving the patient from the file name, so SplitByPatient can keep patients apart.
                """)
public class ValidateImage extends AbstractProcessor {

    static final String ATTR_INVALID_REASON = "medprep.invalid.reason";
    static final String ATTR_FAILURE_REASON = "medprep.failure.reason";
    static final String ATTR_SERIES_KEY = "medprep.series.key";
    /** Prefix of the text whose HMAC is {@link #ATTR_SERIES_KEY}: keeps series keys apart from patient keys. */
    static final String SERIES_KEY_DOMAIN = "SeriesInstanceUID:";
    /** Prefix of the text whose HMAC is {@code medprep.study.key}. */
    static final String STUDY_KEY_DOMAIN = "StudyInstanceUID:";
    /** Prefix of the text whose HMAC is {@code medprep.instance.key}. */
    static final String INSTANCE_KEY_DOMAIN = "SOPInstanceUID:";

    public static final PropertyDescriptor MAX_VOXELS = new PropertyDescriptor.Builder()
            .name("Max Voxels")
            .description("Largest accepted width × height × depth, checked from the header before any pixel "
                    + "memory is allocated. Larger images are invalid.")
            .required(true)
            .defaultValue("500000000")
            .addValidator(StandardValidators.POSITIVE_LONG_VALIDATOR)
            .build();

    public static final PropertyDescriptor MIN_WIDTH = new PropertyDescriptor.Builder()
            .name("Minimum Width")
            .description("Smallest accepted width (columns), in pixels.")
            .required(true)
            .defaultValue("64")
            .addValidator(StandardValidators.NON_NEGATIVE_INTEGER_VALIDATOR)
            .build();

    public static final PropertyDescriptor MIN_HEIGHT = new PropertyDescriptor.Builder()
            .name("Minimum Height")
            .description("Smallest accepted height (rows), in pixels.")
            .required(true)
            .defaultValue("64")
            .addValidator(StandardValidators.NON_NEGATIVE_INTEGER_VALIDATOR)
            .build();

    public static final PropertyDescriptor MIN_SLICES = new PropertyDescriptor.Builder()
            .name("Minimum Slices")
            .description("Smallest accepted number of slices of a volume: a ZIP of one DICOM series (even of a "
                    + "single slice) or any image with depth > 1 (NIfTI volume, multi-frame DICOM). 2D images "
                    + "(one DICOM slice, PNG, JPEG, TIFF, 2D NIfTI) are never refused by it. The default 3 is the "
                    + "fewest slices whose spacing can be checked against itself: with 2 slices a missing slice "
                    + "cannot be detected. 1 disables the check.")
            .required(true)
            .defaultValue("3")
            .addValidator(StandardValidators.POSITIVE_INTEGER_VALIDATOR)
            .build();

    public static final PropertyDescriptor BLANK_MEAN_THRESHOLD = new PropertyDescriptor.Builder()
            .name("Blank Mean Threshold")
            .description("An image whose mean, on an 8-bit display scale (0 = black, 255 = white, MONOCHROME1 "
                    + "turned so that bright is high), is below this value is nearly black and invalid. 8-bit images "
                    + "are on their own 0-255 scale; every other image (16-bit, signed, float: MR, CT, 12-bit X-ray) "
                    + "on the scale of its own range, minimum (0) to 99th percentile (255), so a 16-bit MR or a CT "
                    + "whose values use a small part of the type's range is not mistaken for black, while an image "
                    + "that is at its minimum in 99 % of its samples is. A constant image is blank and invalid. 0 "
                    + "disables both checks: set it on a step that validates single slices of a series (an all-zero "
                    + "slice above the head is part of an MR volume; dropping it would cut the volume) and leave "
                    + "the blank check to the series.")
            .required(true)
            .defaultValue("5")
            .addValidator(StandardValidators.createNonNegativeFloatingPointValidator(255))
            .build();

    public static final PropertyDescriptor REQUIRED_DICOM_ATTRIBUTES = new PropertyDescriptor.Builder()
            .name("Required DICOM Attributes")
            .description("Comma-separated DICOM keywords that must be present and non-empty (DICOM input only).")
            .required(false)
            .defaultValue("PatientID,StudyInstanceUID,SeriesInstanceUID,Modality")
            .addValidator(StandardValidators.NON_BLANK_VALIDATOR)
            .build();

    public static final PropertyDescriptor ALLOWED_MODALITIES = new PropertyDescriptor.Builder()
            .name("Allowed Modalities")
            .description("Comma-separated DICOM Modality values accepted (e.g. CR,DX); empty accepts any. "
                    + "Applies to DICOM input only.")
            .required(false)
            .addValidator(StandardValidators.NON_BLANK_VALIDATOR)
            .build();

    public static final PropertyDescriptor PATIENT_KEY_SECRET = new PropertyDescriptor.Builder()
            .name("Patient Key Secret")
            .description("Secret key of the HMAC-SHA256 pseudonym written to medprep.patient.key. Use the same "
                    + "secret for every flow that must agree on patient keys; keep it out of the flow definition "
                    + "(sensitive parameter).")
            .required(true)
            .sensitive(true)
            .addValidator(StandardValidators.NON_EMPTY_VALIDATOR)
            .build();

    public static final PropertyDescriptor NON_DICOM_PATIENT_ID = new PropertyDescriptor.Builder()
            .name("Patient ID for Non-DICOM Input")
            .description("Expression giving the patient identifier of a PNG, JPEG, TIFF or NIfTI file, e.g. "
                    + "${filename:substringBefore('_')}. It is keyed like a DICOM PatientID. When empty, non-DICOM "
                    + "input gets no medprep.patient.key.")
            .required(false)
            .expressionLanguageSupported(ExpressionLanguageScope.FLOWFILE_ATTRIBUTES)
            .addValidator(StandardValidators.NON_BLANK_VALIDATOR)
            .build();

    public static final PropertyDescriptor EXPOSE_PATIENT_IDENTIFIERS = new PropertyDescriptor.Builder()
            .name("Expose Patient Identifiers")
            .description("When true, the raw PatientID and PatientName are written to medprep.patient.id and "
                    + "medprep.patient.name. Leave false unless the data is already de-identified.")
            .required(true)
            .allowableValues("true", "false")
            .defaultValue("false")
            .build();

    /** What a valid image's content becomes. */
    public enum OutputContent implements PropertyChoice {
        ORIGINAL("Original File", "The content is left exactly as it came in (validation only)."),
        DECODED_NIFTI("Decoded Image (NIfTI)", "A valid image's content is replaced by the decoded image as "
                + "uncompressed NIfTI-1 (stored values, colour as Color Images says, geometry and the DICOM basics "
                + "in the header), so the next processor does not decode the file again; filename gets .nii and "
                + "mime.type application/x-nifti. Invalid and failed images keep their original content.");

        private final Text text;

        OutputContent(String displayName, String description) {
            this.text = new Text(displayName, description);
        }

        @Override
        public Text text() {
            return text;
        }
    }

    public static final PropertyDescriptor OUTPUT_CONTENT = new PropertyDescriptor.Builder()
            .name("Output Content")
            .description("What a valid image's content becomes: the original file, or the decoded image as NIfTI "
                    + "(one decode per image in a flow instead of two: a JPEG is decoded here and never again).")
            .required(true)
            .allowableValues(OutputContent.class)
            .defaultValue(OutputContent.ORIGINAL)
            .build();

    public static final PropertyDescriptor PIXEL_DIGEST = new PropertyDescriptor.Builder()
            .name("Pixel Digest")
            .description("Whether to write medprep.pixel.sha256, the SHA-256 of the decoded stored values (the same "
                    + "pixels give the same digest whatever the file's encoding or header: exact duplicates across "
                    + "files, a source of train/test leakage, can be found with it). It costs about 3 ms per "
                    + "4-megapixel 8-bit image.")
            .required(true)
            .allowableValues("true", "false")
            .defaultValue("true")
            .build();

    public static final Relationship REL_VALID = new Relationship.Builder()
            .name("valid")
            .description("Images that passed every check.")
            .build();

    public static final Relationship REL_INVALID = new Relationship.Builder()
            .name("invalid")
            .description("Unreadable, truncated, too large, blank, incomplete or otherwise rejected images; "
                    + "medprep.invalid.reason lists every failed check.")
            .build();

    public static final Relationship REL_FAILURE = new Relationship.Builder()
            .name("failure")
            .description("Files this build cannot decode (e.g. JPEG-LS) or that failed unexpectedly; "
                    + "medprep.failure.reason says why.")
            .build();

    private static final List<PropertyDescriptor> PROPERTIES = List.of(MAX_VOXELS, MIN_WIDTH, MIN_HEIGHT,
            MIN_SLICES, BLANK_MEAN_THRESHOLD, REQUIRED_DICOM_ATTRIBUTES, ALLOWED_MODALITIES, PATIENT_KEY_SECRET,
            NON_DICOM_PATIENT_ID, EXPOSE_PATIENT_IDENTIFIERS, PIXEL_DIGEST, ColorImagesProperty.COLOR_IMAGES,
            OUTPUT_CONTENT);

    /**
     * Every setting but the per-FlowFile Patient ID expression, resolved once when the processor is scheduled.
     *
     * @param parameters what each step records: the configured values, sensitive ones left out
     */
    private record Settings(ReadLimits limits, int minWidth, int minHeight, int minSlices, double blankThreshold,
                            List<String> requiredDicom, Set<String> modalities, String secret, boolean expose,
                            boolean pixelDigest, ColorHandling color, OutputContent outputContent, Map<String, Object> parameters) {
    }

    private volatile Settings settings;

    private static final Set<Relationship> RELATIONSHIPS = Set.of(REL_VALID, REL_INVALID, REL_FAILURE);

    @Override
    protected List<PropertyDescriptor> getSupportedPropertyDescriptors() {
        return PROPERTIES;
    }

    @Override
    public Set<Relationship> getRelationships() {
        return RELATIONSHIPS;
    }

    @OnScheduled
    public void resolveSettings(ProcessContext context) {
        Map<String, Object> parameters = new LinkedHashMap<>();
        for (PropertyDescriptor p : PROPERTIES) {
            if (!p.isSensitive()) {
                parameters.put(p.getName(), StepRecorder.configured(context, p));
            }
        }
        parameters.put("JPEG Decoder", JpegReader.decoderName());
        settings = new Settings(new ReadLimits(context.getProperty(MAX_VOXELS).asLong()),
                context.getProperty(MIN_WIDTH).asInteger(), context.getProperty(MIN_HEIGHT).asInteger(),
                context.getProperty(MIN_SLICES).asInteger(),
                context.getProperty(BLANK_MEAN_THRESHOLD).asDouble(),
                splitList(context.getProperty(REQUIRED_DICOM_ATTRIBUTES).getValue()),
                splitList(context.getProperty(ALLOWED_MODALITIES).getValue()).stream()
                        .map(m -> m.toUpperCase(Locale.ROOT)).collect(Collectors.toCollection(LinkedHashSet::new)),
                context.getProperty(PATIENT_KEY_SECRET).getValue(),
                context.getProperty(EXPOSE_PATIENT_IDENTIFIERS).asBoolean(),
                context.getProperty(PIXEL_DIGEST).asBoolean(),
                ColorImagesProperty.of(context),
                context.getProperty(OUTPUT_CONTENT).asAllowableValue(OutputContent.class),
                java.util.Collections.unmodifiableMap(parameters));
    }

    @Override
    public void onTrigger(ProcessContext context, ProcessSession session) throws ProcessException {
        FlowFile flowFile = session.get();
        if (flowFile == null) {
            return;
        }
        Settings s = settings;
        long start = System.nanoTime();
        DecodedImage decoded;
        try {
            decoded = FlowFileImages.read(session, flowFile, s.limits(), s.color());
        } catch (ImageReadException e) {
            boolean unsupported = e.problem() == ImageReadException.Problem.UNSUPPORTED;
            route(session, flowFile, unsupported ? REL_FAILURE : REL_INVALID,
                    Map.of(unsupported ? ATTR_FAILURE_REASON : ATTR_INVALID_REASON, e.getMessage()), start);
            return;
        } catch (RuntimeException e) {
            getLogger().error("Could not read {}", flowFile, e);
            route(session, flowFile, REL_FAILURE, Map.of(ATTR_FAILURE_REASON,
                    HeaderChecks.unexpected("Reading the image", e)), start);
            return;
        }
        try {
            checkWorkingMemory(decoded.image());
        } catch (ImageReadException e) {
            route(session, flowFile, REL_INVALID, Map.of(ATTR_INVALID_REASON, e.getMessage()), start);
            return;
        }
        try {
            Map<String, String> attributes = describe(decoded, s.pixelDigest());
            List<String> problems = check(s, decoded);
            addPatientAttributes(context, s, flowFile, decoded, attributes);
            if (!problems.isEmpty()) {
                attributes.put(ATTR_INVALID_REASON, String.join(" ", problems));
                route(session, flowFile, REL_INVALID, attributes, start);
            } else if (s.outputContent() == OutputContent.DECODED_NIFTI) {
                // streamed into the content repository; if writing throws, NiFi keeps the original content
                FlowFile out = session.write(flowFile, o -> OutputFormat.NIFTI.write(decoded.image(), o));
                attributes.put(CoreAttributes.MIME_TYPE.key(), OutputFormat.NIFTI.mimeType());
                attributes.put(CoreAttributes.FILENAME.key(),
                        ImageTransformer.renamed(out.getAttribute(CoreAttributes.FILENAME.key()), OutputFormat.NIFTI));
                out = session.putAllAttributes(out, attributes);
                out = StepRecorder.contentModified(session, out, "ValidateImage", s.parameters(),
                        REL_VALID.getName(), millisSince(start));
                session.transfer(out, REL_VALID);
            } else {
                route(session, flowFile, REL_VALID, attributes, start);
            }
        } catch (RuntimeException e) {
            getLogger().error("Could not validate {}", flowFile, e);
            route(session, flowFile, REL_FAILURE, Map.of(ATTR_FAILURE_REASON,
                    HeaderChecks.unexpected("Validation", e)), start);
        }
    }

    /** Every failed check as one sentence, in a fixed order; empty when the image is valid. */
    private static List<String> check(Settings s, DecodedImage decoded) {
        Image image = decoded.image();
        ImageMetadata meta = image.metadata();
        List<String> problems = new ArrayList<>();
        if (image.width() < s.minWidth() || image.height() < s.minHeight()) {
            problems.add("The image is " + image.width() + " x " + image.height() + " pixels, smaller than the "
                    + "minimum " + s.minWidth() + " x " + s.minHeight() + ".");
        }
        boolean volume = image.depth() > 1 || "DICOM-ZIP".equals(meta.format());
        if (volume && image.depth() < s.minSlices()) {
            problems.add("The volume has " + image.depth() + (image.depth() == 1 ? " slice" : " slices")
                    + ", fewer than the minimum " + s.minSlices() + ".");
        }
        if (!image.geometry().spacingValid()) {
            problems.add("The voxel spacing " + Arrays.toString(image.geometry().spacing())
                    + " mm is not finite and positive.");
        }
        ImageStats stats = ImageStats.of(image);
        double threshold = s.blankThreshold();
        if (stats.count() == 0) {
            problems.add("Every voxel is NaN.");
        } else if (threshold > 0 && stats.constant()) {
            problems.add("The image is blank: all " + stats.count() + " samples have the value "
                    + ImageAttributes.number(stats.min()) + ".");
        } else if (threshold > 0) {
            boolean eightBit = image.type() == VoxelType.UINT8;
            double p99 = eightBit ? Double.NaN : ImageStats.percentile(image, 99);
            double mean8 = displayMean8(stats, p99, meta, eightBit);
            if (mean8 < threshold) {
                problems.add(String.format(Locale.ROOT, "The image is nearly black: mean %.2f on an 8-bit scale%s, "
                        + "below %s.", mean8, eightBit ? "" : " from its minimum " + ImageAttributes.number(stats.min())
                        + " to its 99th percentile " + ImageAttributes.number(p99), ImageAttributes.number(threshold)));
            }
        }
        if (isDicom(meta)) {
            for (String keyword : s.requiredDicom()) {
                String value = decoded.header().get(keyword);
                if (value == null || value.isBlank()) {
                    problems.add("The required DICOM attribute " + keyword + " is missing or empty.");
                }
            }
            if (!s.modalities().isEmpty() && !s.modalities().contains(meta.modality().toUpperCase(Locale.ROOT))) {
                problems.add("The modality " + org.medprep.io.HeaderChecks.printable(meta.modality())
                        + " is not one of the allowed " + s.modalities() + ".");
            }
        }
        return problems;
    }

    /**
     * Mean on an 8-bit display scale. 8-bit images: their own 0 … 255 (a display image; unchanged chest X-ray
     * behaviour). Every other image: relative to its own stored range, minimum → 0 and 99th percentile → 255
     * (clamped to 0 … 255), so a 16-bit MR whose values use a small part of 0 … 65535 is judged by its content;
     * with the 99th percentile at the minimum the result is 0 (nearly black). MONOCHROME1 is turned (255 − mean)
     * so that black means dark on display.
     */
    static double displayMean8(ImageStats stats, double p99, ImageMetadata meta, boolean eightBit) {
        double mean8;
        if (eightBit) {
            mean8 = stats.mean();
        } else if (p99 > stats.min()) {
            mean8 = Math.min(255, (stats.mean() - stats.min()) / (p99 - stats.min()) * 255);
        } else {
            mean8 = 0;
        }
        return meta.monochrome1() ? 255 - mean8 : mean8;
    }

    /**
     * The checks after decoding need, beside the decoded image, one double per sample for the 99th percentile of
     * an image wider than 16 bits (8- and 16-bit images are counted in a histogram): refused (TOO_LARGE, so
     * {@code invalid}) before allocating when the two exceed what this JVM can give ({@link ReadLimits}).
     */
    private static void checkWorkingMemory(Image image) throws ImageReadException {
        long samples = image.size();
        long extra = image.type().bytes() <= 2 && image.type().integer() ? 0 : 8 * samples;
        ReadLimits.checkMemory(samples * image.type().bytes() + extra, String.format(java.util.Locale.ROOT,
                "Validating the %d x %d x %d %s image (its samples and, above 16 bits, a copy to sort for the 99th "
                        + "percentile)", image.width(), image.height(), image.depth(), image.type()));
    }

    private static Map<String, String> describe(DecodedImage decoded, boolean pixelDigest) {
        Image image = decoded.image();
        ImageMetadata meta = image.metadata();
        Map<String, String> a = new HashMap<>(ImageAttributes.size(image));
        a.put("medprep.format", meta.format());
        a.put("medprep.modality", meta.modality());
        a.put("medprep.bits.stored", Integer.toString(meta.bitsStored()));
        a.put("medprep.photometric", meta.photometricInterpretation());
        putIfPresent(a, "medprep.study.uid", meta.studyInstanceUid());
        putIfPresent(a, "medprep.series.uid", meta.seriesInstanceUid());
        putIfPresent(a, "medprep.transfer.syntax", meta.transferSyntaxUid());
        if (pixelDigest) {
            a.put("medprep.pixel.sha256", PixelDigest.sha256(image));
        }
        return a;
    }

    private static void addPatientAttributes(ProcessContext context, Settings s, FlowFile flowFile,
                                             DecodedImage decoded, Map<String, String> attributes) {
        String patientId = isDicom(decoded.image().metadata())
                ? decoded.header().get("PatientID")
                : context.getProperty(NON_DICOM_PATIENT_ID).evaluateAttributeExpressions(flowFile).getValue();
        if (patientId != null && !patientId.isBlank()) {
            attributes.put("medprep.patient.key",
                    PatientPseudonym.of(s.secret(), patientId));
        }
        String seriesUid = decoded.image().metadata().seriesInstanceUid();
        if (seriesUid != null && !seriesUid.isBlank()) {
            attributes.put(ATTR_SERIES_KEY, PatientPseudonym.of(s.secret(), SERIES_KEY_DOMAIN + seriesUid.strip()));
        }
        String studyUid = decoded.image().metadata().studyInstanceUid();
        if (studyUid != null && !studyUid.isBlank()) {
            attributes.put(DerivedDicomSources.STUDY_KEY, PatientPseudonym.of(s.secret(),
                    STUDY_KEY_DOMAIN + studyUid.strip()));
        }
        String instanceUid = decoded.header().get("SOPInstanceUID");
        if (instanceUid != null && !instanceUid.isBlank()) {
            attributes.put(DerivedDicomSources.INSTANCE_KEY, PatientPseudonym.of(s.secret(),
                    INSTANCE_KEY_DOMAIN + instanceUid.strip()));
        }
        putIfPresent(attributes, DerivedDicomSources.SOP_CLASS_UID, decoded.header().get("SOPClassUID"));
        if (s.expose()) {
            putIfPresent(attributes, "medprep.patient.id", patientId);
            putIfPresent(attributes, "medprep.patient.name", decoded.header().get("PatientName"));
        }
    }

    private void route(ProcessSession session, FlowFile flowFile, Relationship relationship,
                       Map<String, String> attributes, long startNanos) {
        FlowFile out = session.putAllAttributes(flowFile, attributes);
        String reason = attributes.getOrDefault(ATTR_INVALID_REASON, attributes.get(ATTR_FAILURE_REASON));
        if (reason != null) {
            getLogger().warn("{} routed to {}: {}", flowFile, relationship.getName(), reason);
            session.adjustCounter("Images routed to " + relationship.getName(), 1, false);
        }
        out = StepRecorder.routed(session, out, "ValidateImage", settings.parameters(), relationship, reason,
                millisSince(startNanos));
        session.transfer(out, relationship);
    }

    private static long millisSince(long startNanos) {
        return (System.nanoTime() - startNanos) / 1_000_000;
    }

    private static boolean isDicom(ImageMetadata meta) {
        return meta.transferSyntaxUid() != null || meta.format().startsWith("DICOM");
    }

    private static List<String> splitList(String value) {
        if (value == null) {
            return List.of();
        }
        return Arrays.stream(value.split(",")).map(String::strip).filter(s -> !s.isEmpty()).toList();
    }

    private static void putIfPresent(Map<String, String> map, String key, String value) {
        if (value != null && !value.isBlank()) {
            map.put(key, value.strip());
        }
    }
}
