/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.nifi.shared;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;
import org.apache.nifi.flowfile.FlowFile;
import org.apache.nifi.flowfile.attributes.CoreAttributes;
import org.apache.nifi.logging.ComponentLog;
import org.apache.nifi.processor.ProcessContext;
import org.apache.nifi.processor.ProcessSession;
import org.apache.nifi.processor.Relationship;
import org.medprep.image.Image;
import org.medprep.io.ColorHandling;
import org.medprep.io.DecodedImage;
import org.medprep.io.DerivedDicomSource;
import org.medprep.io.HeaderChecks;
import org.medprep.io.ImageReadException;
import org.medprep.io.OutputFormat;
import org.medprep.io.ReadLimits;
import org.medprep.ops.Monochrome;

/**
 * The one path of every transforming processor: read any supported input (colour as the Color Images property
 * says) → MONOCHROME2 (see
 * {@link Monochrome}) → the processor's operation → encode in the Output Format → record the step
 * ({@link StepRecorder}: history attribute + one CONTENT_MODIFIED event) → {@code success}. Anything that goes
 * wrong (unreadable input, an operation that rejects the image, a format that cannot hold the result, an
 * unexpected error) routes the untouched FlowFile to {@code failure} with {@code medprep.failure.reason} and one
 * ROUTE event; nothing is dropped and no exception leaves the processor.
 */
public final class ImageTransformer {

    /** Attribute holding the reason of a failure, one sentence. */
    public static final String FAILURE_REASON = "medprep.failure.reason";

    /** Extensions replaced by the output format's extension, longest first. */
    private static final Pattern KNOWN_EXTENSION =
            Pattern.compile("(?i)\\.(nii\\.gz|nii|npy|png|jpe?g|tiff?|dcm|dicom|zip)$");

    /**
     * What an operation returns.
     *
     * @param image      the result
     * @param parameters effective parameter values, recorded in history and provenance
     * @param attributes extra attributes to write (e.g. letterbox scale and offsets)
     * @param companion  a second image for the processor's companion relationship (e.g. CorrectBiasField's bias
     *                   field), or null: sent as a child FlowFile of the input, encoded in the same Output Format
     */
    public record Step(Image image, Map<String, ?> parameters, Map<String, String> attributes, Image companion) {
        public Step(Image image, Map<String, ?> parameters, Map<String, String> attributes) {
            this(image, parameters, attributes, null);
        }

        public Step(Image image, Map<String, ?> parameters) {
            this(image, parameters, Map.of(), null);
        }
    }

    /** A processor's operation on a decoded (MONOCHROME2) image. */
    @FunctionalInterface
    public interface Operation {
        /**
         * @throws IllegalArgumentException when the image or a property value is unsuitable; the message becomes
         *                                  the failure reason
         */
        Step apply(Image image, FlowFile flowFile);

        /**
         * The same with the reader's DICOM header (keyword → text, see {@link org.medprep.io.DecodedImage}; empty
         * for non-DICOM input), for an operation that must check attributes the image model does not carry (e.g.
         * ClipHU: RescaleType, whether the Modality LUT is present). The header holds patient identity: never copy
         * it into attributes, logs or provenance. {@link ImageTransformer} calls this; by default it ignores the
         * header.
         */
        default Step apply(Image image, Map<String, String> header, FlowFile flowFile) {
            return apply(image, flowFile);
        }
    }

    /**
     * What a transforming processor resolves once when it is scheduled: its operation for the current property
     * values, the Output Format, and the Color Images choice (with its display name, as steps record it).
     */
    public record Settings(Operation operation, OutputFormat format, ColorHandling color, String colorName) {

        /** Reads the shared properties of {@code context} and pairs them with {@code operation}. */
        public static Settings of(ProcessContext context, Operation operation) {
            return new Settings(operation, OutputFormatProperty.of(context), ColorImagesProperty.of(context),
                    ColorImagesProperty.configured(context));
        }
    }

    private ImageTransformer() {
    }

    /**
     * Takes one FlowFile from the session (returns if none) and runs the path described above.
     *
     * @param settings  what the processor resolved when it was scheduled (operation, Output Format, Color Images)
     * @param processor processor type name recorded in the history, e.g. "ApplyCLAHE"
     */
    public static void onTrigger(Settings settings, ProcessSession session, ComponentLog log, String processor,
                                 Relationship success, Relationship failure) {
        onTrigger(settings, session, log, processor, success, failure, null, null);
    }

    /**
     * As {@link #onTrigger(Settings, ProcessSession, ComponentLog, String, Relationship, Relationship)}; when the
     * step has a companion image and {@code companionRelationship} is not null, the companion goes there too, as a
     * child FlowFile of the input (its attributes, filename with {@code companionSuffix} before the extension,
     * the step recorded in its history and one CONTENT_MODIFIED event of its own).
     */
    public static void onTrigger(Settings settings, ProcessSession session, ComponentLog log, String processor,
                                 Relationship success, Relationship failure, Relationship companionRelationship,
                                 String companionSuffix) {
        FlowFile flowFile = session.get();
        if (flowFile == null) {
            return;
        }
        long start = System.nanoTime();
        OutputFormat format = settings.format();
        ColorHandling color = settings.color();
        Operation operation = settings.operation();
        String reason;
        try {
            DecodedImage decoded = FlowFileImages.read(session, flowFile, ReadLimits.DEFAULT, color);
            checkWorkingMemory(decoded.image(), processor);
            Image input = Monochrome.toMonochrome2(decoded.image());
            Step step = operation.apply(input, decoded.header(), flowFile);
            Map<String, Object> parameters = new LinkedHashMap<>(step.parameters());
            parameters.put("Color Images", settings.colorName());
            parameters.put("Output Format", format.displayName());
            ByteArrayOutputStream encoded = new ByteArrayOutputStream(format.bufferSizeHint(step.image()));
            format.write(step.image(), derivedSource(format, flowFile, decoded, step.image(), processor, parameters),
                    encoded);
            Image companion = companionRelationship == null ? null : step.companion();
            ByteArrayOutputStream encodedCompanion = null;
            Map<String, Object> childParameters = null;
            if (companion != null) {
                childParameters = new LinkedHashMap<>(parameters);
                childParameters.put("Output", companionRelationship.getName());
                encodedCompanion = new ByteArrayOutputStream(format.bufferSizeHint(companion));
                format.write(companion, derivedSource(format, flowFile, decoded, companion, processor,
                        childParameters), encodedCompanion);
            }
            FlowFile child = companion == null ? null : session.create(flowFile);
            FlowFile out = session.write(flowFile, o -> encoded.writeTo(o));
            Map<String, String> attributes = new HashMap<>(ImageAttributes.size(step.image()));
            attributes.putAll(step.attributes());
            attributes.put(CoreAttributes.MIME_TYPE.key(), format.mimeType());
            attributes.put(CoreAttributes.FILENAME.key(), renamed(out.getAttribute(CoreAttributes.FILENAME.key()),
                    format));
            out = session.putAllAttributes(out, attributes);
            out = StepRecorder.contentModified(session, out, processor, parameters, millisSince(start));
            if (child != null) {
                ByteArrayOutputStream bytes = encodedCompanion;
                child = session.write(child, o -> bytes.writeTo(o));
                Map<String, String> childAttributes = new HashMap<>(ImageAttributes.size(companion));
                childAttributes.put(CoreAttributes.MIME_TYPE.key(), format.mimeType());
                String base = renamed(child.getAttribute(CoreAttributes.FILENAME.key()), format);
                childAttributes.put(CoreAttributes.FILENAME.key(), base.substring(0,
                        base.length() - format.extension().length()) + companionSuffix + format.extension());
                child = session.putAllAttributes(child, childAttributes);
                child = StepRecorder.contentModified(session, child, processor, childParameters, millisSince(start));
                session.transfer(child, companionRelationship);
            }
            session.transfer(out, success);
            return;
        } catch (ImageReadException e) {
            reason = e.getMessage();
        } catch (IllegalArgumentException e) {
            String m = HeaderChecks.clean(e.getMessage());
            reason = m.isEmpty() ? processor + " cannot process this image (no detail given)." : sentence(m);
        } catch (IOException | RuntimeException e) {
            log.error("{} failed on {}", processor, flowFile, e);
            reason = HeaderChecks.unexpected(processor, e);
        }
        FlowFile failed = session.putAttribute(flowFile, FAILURE_REASON, reason);
        failed = StepRecorder.routed(session, failed, processor, Map.of("Output Format", format.displayName()),
                failure, reason, millisSince(start));
        session.transfer(failed, failure);
    }

    /** For DICOM output, what the derived object says about its source ({@link DerivedDicomSources}); else null. */
    private static DerivedDicomSource derivedSource(OutputFormat format, FlowFile flowFile, DecodedImage decoded,
                                                    Image image, String processor, Map<String, ?> parameters) {
        return format == OutputFormat.DICOM
                ? DerivedDicomSources.of(flowFile, decoded.header(), image, processor, parameters) : null;
    }

    /**
     * Working memory an operation may need per input sample: a float32 result and a float32 working copy beside
     * the decoded input (the ops convert to float; OpenCV's bridge copies).
     */
    static final int WORKING_BYTES_PER_SAMPLE = 12;

    /**
     * Refuses (TOO_LARGE), before the operation allocates, an image whose samples × {@value #WORKING_BYTES_PER_SAMPLE}
     * bytes exceed what this JVM can give ({@link ReadLimits#availableBytes()}): the reader's check covers the
     * decode only, and a 66 MiB int16 volume made ClipHU, CorrectBiasField, ApplyCLAHE and Denoise run out of a
     * 256 MiB heap.
     */
    private static void checkWorkingMemory(Image image, String processor) throws ImageReadException {
        long needed = (long) image.size() * WORKING_BYTES_PER_SAMPLE;
        long available = ReadLimits.availableBytes();
        if (needed > available) {
            throw new ImageReadException(ImageReadException.Problem.TOO_LARGE, String.format(java.util.Locale.ROOT,
                    "%s needs about %.2f GB of working memory for %d x %d x %d x %d samples; this JVM can give "
                            + "%.2f GB.", processor, needed / 1e9, image.width(), image.height(), image.depth(),
                    image.channels(), available / 1e9));
        }
    }

    /** {@code name} with a known image extension replaced by (or, if none, followed by) the format's. */
    public static String renamed(String name, OutputFormat format) {
        String base = name == null || name.isEmpty() ? "image" : name;
        return KNOWN_EXTENSION.matcher(base).replaceFirst("") + format.extension();
    }

    private static String sentence(String message) {
        String m = message.strip();
        m = Character.toUpperCase(m.charAt(0)) + m.substring(1);
        return m.endsWith(".") ? m : m + ".";
    }

    private static long millisSince(long startNanos) {
        return (System.nanoTime() - startNanos) / 1_000_000;
    }
}
