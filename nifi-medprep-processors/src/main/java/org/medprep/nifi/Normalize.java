/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.nifi;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
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
import org.apache.nifi.annotation.documentation.Tags;
import org.apache.nifi.components.PropertyDescriptor;
import org.apache.nifi.components.ValidationContext;
import org.apache.nifi.components.ValidationResult;
import org.apache.nifi.components.Validator;
import org.apache.nifi.expression.ExpressionLanguageScope;
import org.apache.nifi.processor.ProcessContext;
import org.apache.nifi.processor.util.StandardValidators;
import org.medprep.image.Image;
import org.medprep.nifi.shared.ImageTransformer;
import org.medprep.nifi.shared.ImageTransformProcessor;
import org.medprep.nifi.shared.PropertyChoice;
import org.medprep.ops.ForegroundMask;
import org.medprep.ops.Intensity;
import org.medprep.ops.NyulStandardization;
import org.medprep.ops.WhiteStripe;

/**
 * Intensity normalization to float32: {@link Intensity} (bit depth, min–max, z-scores, percentile clip),
 * {@link WhiteStripe} (Shinohara et al. 2014) and {@link NyulStandardization} (Nyúl, Udupa &amp; Zhang 2000).
 */
@Tags({"medical imaging", "normalization", "z-score", "min-max", "percentile", "MRI", "WhiteStripe", "Nyul",
        "histogram standardization", "nnU-Net", "machine learning"})
@CapabilityDescription("Normalizes intensities to float32: scale to [0, 1] by bit depth (8-bit / 255, otherwise "
        + "by BitsStored, e.g. 12-bit / 4095), min-max, z-score per image (optionally over pixels > 0 only), z-score "
        + "with a fixed mean and std (training-set statistics: the leakage-safe way to normalize validation, test "
        + "and inference data), percentile clip and rescale, and for MR: z-score over the foreground (nnU-Net's "
        + "non-CT scheme), WhiteStripe (Shinohara et al. 2014; T1, T2, FLAIR) and Nyul-Udupa histogram "
        + "standardization onto landmarks learned from the training split. Output is float32, so PNG output is "
        + "not possible.")
@InputRequirement(InputRequirement.Requirement.INPUT_REQUIRED)
@SideEffectFree
@SupportsBatching
@SystemResourceConsideration(resource = SystemResource.MEMORY, description = "Holds the decoded image and its "
        + "float32 result; WhiteStripe and Nyul standardization also sort a copy of the foreground values (8 bytes "
        + "per foreground voxel).")
@WritesAttributes({
        @WritesAttribute(attribute = "medprep.history", description = "JSON array of processing steps, this one "
                + "appended (WhiteStripe and Nyul record what they found: mode, stripe, landmarks)."),
        @WritesAttribute(attribute = "medprep.failure.reason", description = "Why the image went to failure."),
        @WritesAttribute(attribute = "mime.type", description = "MIME type of the Output Format.")
})
public class Normalize extends ImageTransformProcessor {

    /** Values of {@link #METHOD}. */
    public enum Method implements PropertyChoice {
        BIT_DEPTH("Scale by Bit Depth", "uint8 / 255; uint16 / (2^BitsStored - 1), e.g. a 12-bit CR / 4095. Signed "
                + "or float input goes to failure."),
        MIN_MAX("Min-Max", "(v - min) / (max - min); a constant image becomes 0."),
        Z_SCORE("Z-Score per Image", "(v - mean) / max(std, 1e-8) with this image's mean and population std "
                + "(optionally over samples > 0 only)."),
        Z_SCORE_FIXED("Z-Score with Fixed Statistics", "(v - Mean) / max(Standard Deviation, 1e-8) with given "
                + "(training-set) statistics."),
        PERCENTILE("Percentile Clip", "Clip to the Low/High Percentile of this image, then rescale that range to "
                + "[0, 1]."),
        Z_SCORE_FOREGROUND("Z-Score over Foreground (nnU-Net)", "nnU-Net's non-CT normalization with "
                + "use_mask_for_norm: mean and std over the foreground (nonzero voxels, holes filled), foreground "
                + "(v - mean) / max(std, 1e-8), background 0."),
        WHITESTRIPE("WhiteStripe", "Shinohara et al. 2014: (v - mean) / sd of the normal-appearing white matter "
                + "stripe around the white-matter mode of the smoothed foreground histogram (brain MR)."),
        NYUL("Nyul Histogram Standardization", "Nyul, Udupa & Zhang 2000: the foreground percentile landmarks "
                + "mapped piecewise linearly onto Standard Landmarks learned from the training split "
                + "(tools/learn_nyul_landmarks.py); the end segments extended linearly.");

        private final Text text;

        Method(String displayName, String description) {
            this.text = new Text(displayName, description);
        }

        @Override
        public Text text() {
            return text;
        }
    }

    /** Values of {@link #CONTRAST}. */
    public enum Contrast implements PropertyChoice {
        T1("T1", "White matter is the brightest tissue: the last (largest-intensity) peak of the smoothed "
                + "histogram, after removing values above the 96th percentile.", WhiteStripe.Contrast.T1),
        T2("T2", "White matter is the most frequent tissue: the largest peak of the smoothed histogram.",
                WhiteStripe.Contrast.T2),
        FLAIR("FLAIR", "As T2: the largest peak of the smoothed histogram.", WhiteStripe.Contrast.FLAIR);

        private final Text text;
        private final WhiteStripe.Contrast contrast;

        Contrast(String displayName, String description, WhiteStripe.Contrast contrast) {
            this.text = new Text(displayName, description);
            this.contrast = contrast;
        }

        @Override
        public Text text() {
            return text;
        }

        WhiteStripe.Contrast contrast() {
            return contrast;
        }
    }

    /** Values of {@link #FOREGROUND_MASK}. */
    public enum Foreground implements PropertyChoice {
        ABOVE_MEAN("Above Image Mean", "Voxels above the mean of the whole image (R WhiteStripe's and "
                + "intensity-normalization's foreground when no brain mask is given).", ForegroundMask.Kind.ABOVE_MEAN),
        NONZERO("Nonzero", "Voxels that are not 0, holes filled (nnU-Net's nonzero mask); for skull-stripped "
                + "images whose background is exactly 0.", ForegroundMask.Kind.NONZERO);

        private final Text text;
        private final ForegroundMask.Kind kind;

        Foreground(String displayName, String description, ForegroundMask.Kind kind) {
            this.text = new Text(displayName, description);
            this.kind = kind;
        }

        @Override
        public Text text() {
            return text;
        }

        ForegroundMask.Kind kind() {
            return kind;
        }
    }

    public static final PropertyDescriptor METHOD = new PropertyDescriptor.Builder()
            .name("Method")
            .description("The normalization.")
            .required(true)
            .allowableValues(Method.class)
            .defaultValue(Method.BIT_DEPTH)
            .build();

    public static final PropertyDescriptor FOREGROUND_ONLY = new PropertyDescriptor.Builder()
            .name("Foreground Only")
            .description("Compute mean and std over samples > 0 only (all samples are transformed).")
            .required(true)
            .allowableValues("true", "false")
            .defaultValue("false")
            .dependsOn(METHOD, Method.Z_SCORE)
            .build();

    public static final PropertyDescriptor MEAN = new PropertyDescriptor.Builder()
            .name("Mean")
            .description("Training-set mean, in the input's value units (e.g. 0.482 after scaling to [0, 1]).")
            .required(true)
            .expressionLanguageSupported(ExpressionLanguageScope.ENVIRONMENT)
            .addValidator(StandardValidators.NUMBER_VALIDATOR)
            .dependsOn(METHOD, Method.Z_SCORE_FIXED)
            .build();

    public static final PropertyDescriptor STD = new PropertyDescriptor.Builder()
            .name("Standard Deviation")
            .description("Training-set standard deviation, same units as Mean (divisor floored at 1e-8).")
            .required(true)
            .expressionLanguageSupported(ExpressionLanguageScope.ENVIRONMENT)
            .addValidator(StandardValidators.NUMBER_VALIDATOR)
            .dependsOn(METHOD, Method.Z_SCORE_FIXED)
            .build();

    public static final PropertyDescriptor LOW_PERCENTILE = new PropertyDescriptor.Builder()
            .name("Low Percentile")
            .description("Lower clip percentile, 0-100 (NumPy's linear interpolation).")
            .required(true)
            .defaultValue("0.5")
            .addValidator(StandardValidators.NUMBER_VALIDATOR)
            .dependsOn(METHOD, Method.PERCENTILE)
            .build();

    public static final PropertyDescriptor HIGH_PERCENTILE = new PropertyDescriptor.Builder()
            .name("High Percentile")
            .description("Upper clip percentile, 0-100.")
            .required(true)
            .defaultValue("99.5")
            .addValidator(StandardValidators.NUMBER_VALIDATOR)
            .dependsOn(METHOD, Method.PERCENTILE)
            .build();

    public static final PropertyDescriptor CONTRAST = new PropertyDescriptor.Builder()
            .name("Contrast")
            .description("The MR contrast, which decides which histogram peak is white matter.")
            .required(true)
            .allowableValues(Contrast.class)
            .defaultValue(Contrast.T1)
            .dependsOn(METHOD, Method.WHITESTRIPE)
            .build();

    public static final PropertyDescriptor WHITESTRIPE_WIDTH = new PropertyDescriptor.Builder()
            .name("WhiteStripe Width")
            .description("Half-width tau of the white stripe in quantile units: the stripe holds the foreground "
                    + "voxels whose quantile is within tau of the white-matter mode's (Shinohara et al.: 0.05).")
            .required(true)
            .defaultValue(Double.toString(WhiteStripe.DEFAULT_WIDTH))
            .addValidator(openUnitInterval())
            .dependsOn(METHOD, Method.WHITESTRIPE)
            .build();

    public static final PropertyDescriptor STANDARD_LANDMARKS = new PropertyDescriptor.Builder()
            .name("Standard Landmarks")
            .description("The standard-scale landmarks learned from the TRAINING split only (never from validation "
                    + "or test images): a comma-separated list of increasing numbers, one per Landmark Percentile, or "
                    + "the path of a file whose first line that is not empty and not a # comment is that list "
                    + "(what tools/learn_nyul_landmarks.py writes). Read once when the processor starts.")
            .required(true)
            .expressionLanguageSupported(ExpressionLanguageScope.ENVIRONMENT)
            .addValidator(StandardValidators.NON_BLANK_VALIDATOR)
            .dependsOn(METHOD, Method.NYUL)
            .build();

    public static final PropertyDescriptor LANDMARK_PERCENTILES = new PropertyDescriptor.Builder()
            .name("Landmark Percentiles")
            .description("The percentiles of the foreground that are the landmarks: pc1, the deciles, pc2 (Nyul et "
                    + "al.). Must be the ones the Standard Landmarks were learned with.")
            .required(true)
            .defaultValue("1,10,20,30,40,50,60,70,80,90,99")
            .addValidator(StandardValidators.NON_BLANK_VALIDATOR)
            .dependsOn(METHOD, Method.NYUL)
            .build();

    public static final PropertyDescriptor FOREGROUND_MASK = new PropertyDescriptor.Builder()
            .name("Foreground Mask")
            .description("Which voxels the histogram, percentiles and stripe are taken from (every voxel is "
                    + "transformed).")
            .required(true)
            .allowableValues(Foreground.class)
            .defaultValue(Foreground.ABOVE_MEAN)
            .dependsOn(METHOD, Method.WHITESTRIPE, Method.NYUL)
            .build();

    private static final List<PropertyDescriptor> PROPERTIES = List.of(METHOD, FOREGROUND_ONLY, MEAN, STD,
            LOW_PERCENTILE, HIGH_PERCENTILE, CONTRAST, WHITESTRIPE_WIDTH, STANDARD_LANDMARKS, LANDMARK_PERCENTILES,
            FOREGROUND_MASK);

    @Override
    protected List<PropertyDescriptor> transformProperties() {
        return PROPERTIES;
    }

    private static Validator openUnitInterval() {
        return (subject, input, context) -> {
            boolean ok;
            try {
                double v = Double.parseDouble(input.trim());
                ok = v > 0 && v < 0.5;
            } catch (NumberFormatException | NullPointerException e) {
                ok = false;
            }
            return new ValidationResult.Builder().subject(subject).input(input).valid(ok)
                    .explanation("must be a number greater than 0 and less than 0.5").build();
        };
    }

    @Override
    protected Collection<ValidationResult> customValidate(ValidationContext context) {
        List<ValidationResult> problems = new ArrayList<>();
        if (context.getProperty(METHOD).asAllowableValue(Method.class) == Method.NYUL
                && context.getProperty(STANDARD_LANDMARKS).isSet()) {
            String problem;
            try {
                double[] standard = standardLandmarks(
                        context.getProperty(STANDARD_LANDMARKS).evaluateAttributeExpressions().getValue());
                double[] percentiles = NyulStandardization.parseList(
                        context.getProperty(LANDMARK_PERCENTILES).getValue());
                problem = NyulStandardization.check(percentiles, standard);
            } catch (NumberFormatException e) {
                problem = "not a list of numbers: " + e.getMessage();
            } catch (IllegalArgumentException | UncheckedIOException e) {
                problem = e.getMessage();
            }
            if (problem != null) {
                problems.add(new ValidationResult.Builder().subject(STANDARD_LANDMARKS.getName()).valid(false)
                        .explanation(problem).build());
            }
        }
        return problems;
    }

    /**
     * The Standard Landmarks value: a list of numbers, or a file holding one.
     *
     * @throws IllegalArgumentException when the value is neither an existing file nor a list of numbers, or a file
     *                                  has no landmark line
     * @throws NumberFormatException    when a file's landmark line holds a non-number
     * @throws UncheckedIOException     when the file cannot be read
     */
    static double[] standardLandmarks(String value) {
        String v = value.strip();
        Path file = null;
        try {
            file = Path.of(v);
        } catch (InvalidPathException e) {
            // not a path: a list
        }
        if (file == null || !Files.isRegularFile(file)) {
            try {
                return NyulStandardization.parseList(v);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("neither a list of numbers nor a readable file: " + v);
            }
        }
        try {
            for (String line : Files.readAllLines(file)) {
                String l = line.strip();
                if (!l.isEmpty() && !l.startsWith("#")) {
                    return NyulStandardization.parseList(l);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
        throw new IllegalArgumentException("the file " + file + " has no landmark line");
    }

    @Override
    protected ImageTransformer.Operation operation(ProcessContext context) {
        Method method = context.getProperty(METHOD).asAllowableValue(Method.class);
        Map<String, Object> fixed = new LinkedHashMap<>();
        fixed.put("Method", method.getDisplayName());
        return switch (method) {
            case BIT_DEPTH -> (image, flowFile) -> {
                Map<String, Object> p = new LinkedHashMap<>(fixed);
                p.put("Bits Stored", Intensity.scaleBits(image));
                return new ImageTransformer.Step(Intensity.scaleByBitDepth(image), p);
            };
            case MIN_MAX -> (image, flowFile) -> new ImageTransformer.Step(Intensity.minMax(image), fixed);
            case Z_SCORE -> {
                boolean fg = context.getProperty(FOREGROUND_ONLY).asBoolean();
                fixed.put("Foreground Only", fg);
                yield (image, flowFile) -> new ImageTransformer.Step(Intensity.zScore(image, fg), fixed);
            }
            case Z_SCORE_FIXED -> {
                double mean = context.getProperty(MEAN).evaluateAttributeExpressions().asDouble();
                double std = context.getProperty(STD).evaluateAttributeExpressions().asDouble();
                fixed.put("Mean", mean);
                fixed.put("Standard Deviation", std);
                yield (image, flowFile) -> new ImageTransformer.Step(Intensity.zScore(image, mean, std), fixed);
            }
            case PERCENTILE -> {
                double lo = context.getProperty(LOW_PERCENTILE).asDouble();
                double hi = context.getProperty(HIGH_PERCENTILE).asDouble();
                fixed.put("Low Percentile", lo);
                fixed.put("High Percentile", hi);
                yield (image, flowFile) -> new ImageTransformer.Step(Intensity.percentileClip(image, lo, hi), fixed);
            }
            case Z_SCORE_FOREGROUND -> (image, flowFile) -> new ImageTransformer.Step(
                    Intensity.zScoreInMask(image, ForegroundMask.nonzeroFilled(image)), fixed);
            case WHITESTRIPE -> {
                Contrast contrast = context.getProperty(CONTRAST).asAllowableValue(Contrast.class);
                double width = context.getProperty(WHITESTRIPE_WIDTH).asDouble();
                Foreground fg = context.getProperty(FOREGROUND_MASK).asAllowableValue(Foreground.class);
                fixed.put("Contrast", contrast.getDisplayName());
                fixed.put("WhiteStripe Width", width);
                fixed.put("Foreground Mask", fg.getDisplayName());
                yield (image, flowFile) -> {
                    WhiteStripe.Result r = WhiteStripe.normalize(image, contrast.contrast(), width, fg.kind());
                    Map<String, Object> p = new LinkedHashMap<>(fixed);
                    p.put("White Matter Mode", r.mode());
                    p.put("Stripe", List.of(r.lower(), r.upper()));
                    p.put("Stripe Voxels", r.stripeVoxels());
                    p.put("Stripe Mean", r.mean());
                    p.put("Stripe Standard Deviation", r.sd());
                    return new ImageTransformer.Step(r.image(), p);
                };
            }
            case NYUL -> {
                String configured = context.getProperty(STANDARD_LANDMARKS).evaluateAttributeExpressions().getValue();
                double[] standard = standardLandmarks(configured);
                double[] percentiles = NyulStandardization.parseList(context.getProperty(LANDMARK_PERCENTILES)
                        .getValue());
                Foreground fg = context.getProperty(FOREGROUND_MASK).asAllowableValue(Foreground.class);
                fixed.put("Standard Landmarks", toList(standard));
                fixed.put("Landmark Percentiles", toList(percentiles));
                fixed.put("Foreground Mask", fg.getDisplayName());
                yield (image, flowFile) -> {
                    NyulStandardization.Result r = NyulStandardization.standardize(image, percentiles, standard,
                            fg.kind());
                    Map<String, Object> p = new LinkedHashMap<>(fixed);
                    p.put("Image Landmarks", toList(r.landmarks()));
                    return new ImageTransformer.Step(r.image(), p);
                };
            }
        };
    }

    private static List<Double> toList(double[] values) {
        return Arrays.stream(values).boxed().toList();
    }
}
