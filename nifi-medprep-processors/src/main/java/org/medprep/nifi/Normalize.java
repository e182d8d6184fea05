/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.nifi;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.nifi.annotation.behavior.InputRequirement;
import org.apache.nifi.annotation.behavior.SideEffectFree;
import org.apache.nifi.annotation.behavior.SupportsBatching;
import org.apache.nifi.annotation.behavior.WritesAttribute;
import org.apache.nifi.annotation.behavior.WritesAttributes;
import org.apache.nifi.annotation.documentation.CapabilityDescription;
import org.apache.nifi.annotation.documentation.Tags;
import org.apache.nifi.components.PropertyDescriptor;
import org.apache.nifi.expression.ExpressionLanguageScope;
import org.apache.nifi.processor.ProcessContext;
import org.apache.nifi.processor.util.StandardValidators;
import org.medprep.image.Image;
import org.medprep.nifi.shared.ImageTransformer;
import org.medprep.nifi.shared.ImageTransformProcessor;
import org.medprep.ops.Intensity;

/** Intensity normalization to float32 ({@link Intensity}). */
@Tags({"medical imaging", "normalization", "z-score", "min-max", "percentile", "machine learning"})
@CapabilityDescription("Normalizes intensities to float32: scale to [0, 1] by bit depth (8-bit / 255, otherwise "
        + "by BitsStored, e.g. 12-bit / 4095), min-max, z-score per image (optionally over pixels > 0 only), z-score "
        + "with a fixed mean and std (training-set statistics: the leakage-safe way to normalize validation, test "
        + "and inference data), or percentile clip and rescale. Output is float32, so PNG output is not possible.")
@InputRequirement(InputRequirement.Requirement.INPUT_REQUIRED)
@SideEffectFree
@SupportsBatching
@WritesAttributes({
        @WritesAttribute(attribute = "medprep.history", description = "JSON array of processing steps, this one appended."),
        @WritesAttribute(attribute = "medprep.failure.reason", description = "Why the image went to failure."),
        @WritesAttribute(attribute = "mime.type", description = "MIME type of the Output Format.")
})
public class Normalize extends ImageTransformProcessor {

    static final String BIT_DEPTH = "Scale by Bit Depth";
    static final String MIN_MAX = "Min-Max";
    static final String Z_SCORE = "Z-Score per Image";
    static final String Z_SCORE_FIXED = "Z-Score with Fixed Statistics";
    static final String PERCENTILE = "Percentile Clip";

    public static final PropertyDescriptor METHOD = new PropertyDescriptor.Builder()
            .name("Method")
            .description("The normalization.")
            .required(true)
            .allowableValues(BIT_DEPTH, MIN_MAX, Z_SCORE, Z_SCORE_FIXED, PERCENTILE)
            .defaultValue(BIT_DEPTH)
            .build();

    public static final PropertyDescriptor FOREGROUND_ONLY = new PropertyDescriptor.Builder()
            .name("Foreground Only")
            .description("Compute mean and std over samples > 0 only (all samples are transformed).")
            .required(true)
            .allowableValues("true", "false")
            .defaultValue("false")
            .dependsOn(METHOD, Z_SCORE)
            .build();

    public static final PropertyDescriptor MEAN = new PropertyDescriptor.Builder()
            .name("Mean")
            .description("Training-set mean, in the input's value units (e.g. 0.482 after scaling to [0, 1]).")
            .required(true)
            .expressionLanguageSupported(ExpressionLanguageScope.ENVIRONMENT)
            .addValidator(StandardValidators.NUMBER_VALIDATOR)
            .dependsOn(METHOD, Z_SCORE_FIXED)
            .build();

    public static final PropertyDescriptor STD = new PropertyDescriptor.Builder()
            .name("Standard Deviation")
            .description("Training-set standard deviation, same units as Mean (divisor floored at 1e-8).")
            .required(true)
            .expressionLanguageSupported(ExpressionLanguageScope.ENVIRONMENT)
            .addValidator(StandardValidators.NUMBER_VALIDATOR)
            .dependsOn(METHOD, Z_SCORE_FIXED)
            .build();

    public static final PropertyDescriptor LOW_PERCENTILE = new PropertyDescriptor.Builder()
            .name("Low Percentile")
            .description("Lower clip percentile, 0-100 (NumPy's linear interpolation).")
            .required(true)
            .defaultValue("0.5")
            .addValidator(StandardValidators.NUMBER_VALIDATOR)
            .dependsOn(METHOD, PERCENTILE)
            .build();

    public static final PropertyDescriptor HIGH_PERCENTILE = new PropertyDescriptor.Builder()
            .name("High Percentile")
            .description("Upper clip percentile, 0-100.")
            .required(true)
            .defaultValue("99.5")
            .addValidator(StandardValidators.NUMBER_VALIDATOR)
            .dependsOn(METHOD, PERCENTILE)
            .build();


    private static final List<PropertyDescriptor> PROPERTIES = List.of(METHOD, FOREGROUND_ONLY, MEAN, STD,
            LOW_PERCENTILE, HIGH_PERCENTILE);

    @Override
    protected List<PropertyDescriptor> transformProperties() {
        return PROPERTIES;
    }

    @Override
    protected ImageTransformer.Operation operation(ProcessContext context) {
        String method = context.getProperty(METHOD).getValue();
        return (image, flowFile) -> {
            Map<String, Object> p = new LinkedHashMap<>();
            p.put("Method", method);
            Image out = switch (method) {
                case BIT_DEPTH -> {
                    p.put("Bits Stored", Intensity.scaleBits(image));
                    yield Intensity.scaleByBitDepth(image);
                }
                case MIN_MAX -> Intensity.minMax(image);
                case Z_SCORE -> {
                    boolean fg = context.getProperty(FOREGROUND_ONLY).asBoolean();
                    p.put("Foreground Only", fg);
                    yield Intensity.zScore(image, fg);
                }
                case Z_SCORE_FIXED -> {
                    double mean = context.getProperty(MEAN).evaluateAttributeExpressions().asDouble();
                    double std = context.getProperty(STD).evaluateAttributeExpressions().asDouble();
                    p.put("Mean", mean);
                    p.put("Standard Deviation", std);
                    yield Intensity.zScore(image, mean, std);
                }
                default -> {
                    double lo = context.getProperty(LOW_PERCENTILE).asDouble();
                    double hi = context.getProperty(HIGH_PERCENTILE).asDouble();
                    p.put("Low Percentile", lo);
                    p.put("High Percentile", hi);
                    yield Intensity.percentileClip(image, lo, hi);
                }
            };
            return new ImageTransformer.Step(out, p);
        };
    }
}
