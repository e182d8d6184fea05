/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.nifi;

import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.nifi.annotation.behavior.InputRequirement;
import org.apache.nifi.annotation.behavior.SideEffectFree;
import org.apache.nifi.annotation.behavior.SupportsBatching;
import org.apache.nifi.annotation.behavior.SystemResource;
import org.apache.nifi.annotation.behavior.SystemResourceConsideration;
import org.apache.nifi.annotation.behavior.WritesAttribute;
import org.apache.nifi.annotation.behavior.WritesAttributes;
import org.apache.nifi.annotation.documentation.CapabilityDescription;
import org.apache.nifi.annotation.documentation.SeeAlso;
import org.apache.nifi.annotation.documentation.Tags;
import org.apache.nifi.components.PropertyDescriptor;
import org.apache.nifi.components.ValidationContext;
import org.apache.nifi.components.ValidationResult;
import org.apache.nifi.components.Validator;
import org.apache.nifi.processor.ProcessContext;
import org.apache.nifi.processor.Relationship;
import org.apache.nifi.processor.util.StandardValidators;
import org.medprep.image.Image;
import org.medprep.nifi.shared.ImageAttributes;
import org.medprep.nifi.shared.ImageTransformProcessor;
import org.medprep.nifi.shared.ImageTransformer;
import org.medprep.nifi.shared.PropertyChoice;
import org.medprep.ops.N4BiasField;
import org.medprep.ops.Resample;

/** N4 bias-field correction of MR images ({@link N4BiasField}, ITK's N4BiasFieldCorrectionImageFilter). */
@Tags({"medical imaging", "MR", "MRI", "bias field", "N4", "N4ITK", "intensity non-uniformity", "inhomogeneity",
        "ANTs", "machine learning"})
@CapabilityDescription("Corrects the smooth intensity non-uniformity (bias field) of an MR image with N4 (Tustison "
        + "et al., IEEE TMI 2010), computed as ITK 5.2's N4BiasFieldCorrectionImageFilter and run the way ANTs and "
        + "SimpleITK users run it: the image and its Mask (Otsu, Nonzero or None) are shrunk by the Shrink Factor, "
        + "the log bias field is estimated there by alternating histogram sharpening (Wiener deconvolution of a "
        + "Gaussian) and B-spline fitting over the fitting levels of Maximum Iterations (the control-point mesh "
        + "doubling per level) until the Convergence Threshold, then evaluated on the full grid; output = input / "
        + "bias field, float32, same shape and geometry. 2D images are corrected in 2D, volumes in 3D. Optionally "
        + "the multiplicative bias field goes to the 'bias field' relationship as a second FlowFile.")
@InputRequirement(InputRequirement.Requirement.INPUT_REQUIRED)
@SideEffectFree
@SupportsBatching
@SystemResourceConsideration(resource = SystemResource.MEMORY, description = "Besides the FlowFile content and "
        + "the encoded result: the input, its values as doubles (8 bytes per voxel), the mask (1 byte per voxel), the "
        + "float32 log field, output and bias field (4 bytes each per voxel): about 21 bytes per voxel plus the "
        + "input, e.g. 181 x 217 x 181 (7.1 M voxels): about 150 MB.")
@SystemResourceConsideration(resource = SystemResource.CPU, description = "An image of 1 048 576 samples or more "
        + "uses all available processors for the B-spline fitting and evaluation; smaller ones run on the calling "
        + "thread. Results are identical for any number of cores.")
@WritesAttributes({
        @WritesAttribute(attribute = "medprep.width", description = "Output width (x), voxels."),
        @WritesAttribute(attribute = "medprep.height", description = "Output height (y), voxels."),
        @WritesAttribute(attribute = "medprep.depth", description = "Output depth (z), slices."),
        @WritesAttribute(attribute = "medprep.history", description = "JSON array of processing steps, this one "
                + "appended (with the iterations run per level and the final convergence measures)."),
        @WritesAttribute(attribute = "medprep.failure.reason", description = "Why the image went to failure."),
        @WritesAttribute(attribute = "mime.type", description = "MIME type of the Output Format."),
        @WritesAttribute(attribute = "filename", description = "Extension replaced by the Output Format's; the bias "
                + "field's FlowFile gets _biasfield before the extension.")
})
@SeeAlso({Normalize.class, ResampleSpacing.class})
public class CorrectBiasField extends ImageTransformProcessor {

    /** Values of {@link #MASK}. */
    public enum Mask implements PropertyChoice {
        OTSU("Otsu", "Voxels above Otsu's threshold of the whole image (ITK's OtsuThresholdImageFilter: 256 bins, "
                + "threshold at the upper edge of the chosen bin): the head or body without the background.",
                N4BiasField.MaskMode.OTSU),
        NONZERO("Nonzero", "Voxels whose value is not 0, e.g. an image already skull-stripped or masked.",
                N4BiasField.MaskMode.NONZERO),
        NONE("None", "Every voxel (as ITK without a mask). Values <= 0 cannot be log-transformed and are used as "
                + "they are, as ITK does: only for images without background.", N4BiasField.MaskMode.NONE);

        private final Text text;
        private final N4BiasField.MaskMode mode;

        Mask(String displayName, String description, N4BiasField.MaskMode mode) {
            this.text = new Text(displayName, description);
            this.mode = mode;
        }

        @Override
        public Text text() {
            return text;
        }

        public N4BiasField.MaskMode mode() {
            return mode;
        }
    }

    public static final Relationship REL_BIAS_FIELD = new Relationship.Builder()
            .name("bias field")
            .description("When Bias Field Output is true: the multiplicative bias field (input = output x field), "
                    + "float32, same shape and geometry, a child FlowFile of the input. Auto-terminate it otherwise.")
            .build();

    /** Checks Maximum Iterations: one or more integers ≥ 0 separated by commas (or ANTs' x). */
    static final Validator ITERATIONS_VALIDATOR = (subject, input, context) -> {
        String problem = null;
        try {
            parseIterations(input);
        } catch (IllegalArgumentException e) {
            problem = e.getMessage();
        }
        return new ValidationResult.Builder().subject(subject).input(input).valid(problem == null)
                .explanation(problem).build();
    };

    /** A finite number ≥ 0. */
    static final Validator NON_NEGATIVE_NUMBER = (subject, input, context) -> {
        boolean ok;
        try {
            double v = Double.parseDouble(input.strip());
            ok = v >= 0 && Double.isFinite(v);
        } catch (NumberFormatException | NullPointerException e) {
            ok = false;
        }
        return new ValidationResult.Builder().subject(subject).input(input).valid(ok)
                .explanation(ok ? null : "must be a finite number >= 0").build();
    };

    public static final PropertyDescriptor SHRINK_FACTOR = new PropertyDescriptor.Builder()
            .name("Shrink Factor")
            .description("The bias field is estimated on the image shrunk by this factor per axis (every s-th voxel, "
                    + "centred, as ITK's ShrinkImageFilter) and evaluated on the full grid. ANTs' common choice 4; "
                    + "1 = no shrinking (slow). Every shrunk axis needs at least 2 voxels.")
            .required(true)
            .defaultValue("4")
            .addValidator(StandardValidators.POSITIVE_INTEGER_VALIDATOR)
            .build();

    public static final PropertyDescriptor MAXIMUM_ITERATIONS = new PropertyDescriptor.Builder()
            .name("Maximum Iterations")
            .description("Iterations per fitting level, comma-separated (ANTs' 50x50x50x50 is accepted too); the "
                    + "number of values is the number of fitting levels, the B-spline mesh doubling from one level to "
                    + "the next.")
            .required(true)
            .defaultValue("50,50,50,50")
            .addValidator(ITERATIONS_VALIDATOR)
            .build();

    public static final PropertyDescriptor CONVERGENCE_THRESHOLD = new PropertyDescriptor.Builder()
            .name("Convergence Threshold")
            .description("A level stops early when the coefficient of variation of the ratio of successive bias "
                    + "field estimates inside the mask is at or below this (ITK's default 0.001; ANTs users often "
                    + "give 1e-7 so that the iteration counts decide).")
            .required(true)
            .defaultValue("0.001")
            .addValidator(NON_NEGATIVE_NUMBER)
            .build();

    public static final PropertyDescriptor MASK = new PropertyDescriptor.Builder()
            .name("Mask")
            .description("Which voxels estimate the bias field (the correction itself applies to every voxel).")
            .required(true)
            .allowableValues(Mask.class)
            .defaultValue(Mask.OTSU.getValue())
            .build();

    public static final PropertyDescriptor SPLINE_ORDER = new PropertyDescriptor.Builder()
            .name("Spline Order")
            .description("Order of the B-spline modelling the log bias field: 1, 2 or 3 (ITK's default 3).")
            .required(true)
            .defaultValue("3")
            .allowableValues("1", "2", "3")
            .build();

    public static final PropertyDescriptor NUMBER_OF_CONTROL_POINTS = new PropertyDescriptor.Builder()
            .name("Number of Control Points")
            .description("Control points per axis at the first fitting level, more than the Spline Order (ITK's "
                    + "default 4: one mesh element at order 3); each further level doubles the mesh.")
            .required(true)
            .defaultValue("4")
            .addValidator(StandardValidators.POSITIVE_INTEGER_VALIDATOR)
            .build();

    public static final PropertyDescriptor NUMBER_OF_HISTOGRAM_BINS = new PropertyDescriptor.Builder()
            .name("Number of Histogram Bins")
            .description("Bins of the log-intensity histogram that is sharpened (ITK's default 200).")
            .required(true)
            .defaultValue("200")
            .addValidator(StandardValidators.createLongValidator(2, 1 << 16, true))
            .build();

    public static final PropertyDescriptor BIAS_FIELD_FWHM = new PropertyDescriptor.Builder()
            .name("Bias Field Full Width at Half Maximum")
            .description("FWHM of the Gaussian modelling the bias field's blurring of the log-intensity histogram "
                    + "(ITK's default 0.15).")
            .required(true)
            .defaultValue("0.15")
            .addValidator(NON_NEGATIVE_NUMBER)
            .build();

    public static final PropertyDescriptor WIENER_FILTER_NOISE = new PropertyDescriptor.Builder()
            .name("Wiener Filter Noise")
            .description("Noise term of the Wiener deconvolution of the histogram (ITK's default 0.01).")
            .required(true)
            .defaultValue("0.01")
            .addValidator(NON_NEGATIVE_NUMBER)
            .build();

    public static final PropertyDescriptor BIAS_FIELD_OUTPUT = new PropertyDescriptor.Builder()
            .name("Bias Field Output")
            .description("Also send the multiplicative bias field, in the Output Format, to the 'bias field' "
                    + "relationship.")
            .required(true)
            .allowableValues("true", "false")
            .defaultValue("false")
            .build();

    /** Inputs of at least this many samples use all cores; smaller ones the calling thread (same result). */
    static final int PARALLEL_MIN_SAMPLES = 1 << 20;

    private static final List<PropertyDescriptor> PROPERTIES = List.of(SHRINK_FACTOR, MAXIMUM_ITERATIONS,
            CONVERGENCE_THRESHOLD, MASK, SPLINE_ORDER, NUMBER_OF_CONTROL_POINTS, NUMBER_OF_HISTOGRAM_BINS,
            BIAS_FIELD_FWHM, WIENER_FILTER_NOISE, BIAS_FIELD_OUTPUT);

    /**
     * Parses "50,50,50,50" (or "50x50x50x50") into iterations per level.
     *
     * @throws IllegalArgumentException with a one-line explanation when the text is not of that form
     */
    static int[] parseIterations(String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("Maximum Iterations needs at least one value");
        }
        String[] parts = text.strip().split("\\s*[,xX]\\s*", -1);
        int[] its = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                its[i] = Integer.parseInt(parts[i].strip());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("'" + parts[i].strip() + "' is not a number of iterations");
            }
            if (its[i] < 0) {
                throw new IllegalArgumentException("iterations must not be negative; got " + its[i]);
            }
        }
        return its;
    }

    @Override
    protected Collection<ValidationResult> customValidate(ValidationContext context) {
        Integer order = context.getProperty(SPLINE_ORDER).asInteger();
        Integer points = context.getProperty(NUMBER_OF_CONTROL_POINTS).asInteger();
        Double fwhm = context.getProperty(BIAS_FIELD_FWHM).asDouble();
        if (order != null && points != null && points <= order) {
            return List.of(new ValidationResult.Builder().subject(NUMBER_OF_CONTROL_POINTS.getDisplayName())
                    .input(points.toString()).valid(false)
                    .explanation("must be more than the Spline Order (" + order + ")").build());
        }
        if (fwhm != null && !(fwhm > 0)) {
            return List.of(new ValidationResult.Builder().subject(BIAS_FIELD_FWHM.getDisplayName())
                    .input(fwhm.toString()).valid(false).explanation("must be greater than 0").build());
        }
        return List.of();
    }

    @Override
    protected List<PropertyDescriptor> transformProperties() {
        return PROPERTIES;
    }

    @Override
    protected Relationship companionRelationship() {
        return REL_BIAS_FIELD;
    }

    @Override
    protected String companionSuffix() {
        return "_biasfield";
    }

    @Override
    protected ImageTransformer.Operation operation(ProcessContext context) {
        int[] iterations = parseIterations(context.getProperty(MAXIMUM_ITERATIONS).getValue());
        Mask mask = Mask.valueOf(context.getProperty(MASK).getValue());
        N4BiasField.Parameters p = new N4BiasField.Parameters(context.getProperty(SHRINK_FACTOR).asInteger(),
                iterations, context.getProperty(CONVERGENCE_THRESHOLD).asDouble(), mask.mode(),
                context.getProperty(SPLINE_ORDER).asInteger(), context.getProperty(NUMBER_OF_CONTROL_POINTS).asInteger(),
                context.getProperty(NUMBER_OF_HISTOGRAM_BINS).asInteger(), context.getProperty(BIAS_FIELD_FWHM).asDouble(),
                context.getProperty(WIENER_FILTER_NOISE).asDouble());
        boolean biasOutput = context.getProperty(BIAS_FIELD_OUTPUT).asBoolean();
        int cores = Resample.defaultThreads();
        return (image, flowFile) -> {
            int threads = image.size() >= PARALLEL_MIN_SAMPLES ? cores : 1;
            N4BiasField.Result r = N4BiasField.correct(image, p, threads);
            Map<String, Object> parameters = new LinkedHashMap<>();
            parameters.put("Shrink Factor", p.shrinkFactor());
            parameters.put("Maximum Iterations", join(p.maximumIterations()));
            parameters.put("Convergence Threshold", p.convergenceThreshold());
            parameters.put("Mask", mask.text().displayName());
            parameters.put("Spline Order", p.splineOrder());
            parameters.put("Number of Control Points", p.numberOfControlPoints());
            parameters.put("Number of Histogram Bins", p.numberOfHistogramBins());
            parameters.put("Bias Field Full Width at Half Maximum", p.biasFieldFullWidthAtHalfMaximum());
            parameters.put("Wiener Filter Noise", p.wienerFilterNoise());
            parameters.put("Bias Field Output", biasOutput);
            parameters.put("Iterations", join(r.iterations()));
            String[] conv = Arrays.stream(r.convergence()).mapToObj(ImageAttributes::number).toArray(String[]::new);
            parameters.put("Convergence", String.join(",", conv));
            parameters.put("Mask Voxels (Shrunk)", r.maskVoxels());
            Image field = biasOutput ? r.biasField() : null;
            return new ImageTransformer.Step(r.corrected(), parameters, Map.of(), field);
        };
    }

    private static String join(int[] v) {
        return String.join(",", Arrays.stream(v).mapToObj(Integer::toString).toArray(String[]::new));
    }
}
