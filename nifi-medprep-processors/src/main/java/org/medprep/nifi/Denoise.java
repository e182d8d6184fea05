/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.nifi;

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
import org.apache.nifi.processor.ProcessContext;
import org.apache.nifi.processor.util.StandardValidators;
import org.medprep.image.Image;
import org.medprep.nifi.shared.ImageTransformer;
import org.medprep.nifi.shared.ImageTransformProcessor;

/** Median, Gaussian, bilateral or non-local means denoising over OpenCV ({@link org.medprep.ops.Denoise}). */
@Tags({"medical imaging", "denoise", "median", "Gaussian", "bilateral", "non-local means", "OpenCV"})
@CapabilityDescription("Reduces noise with one of four OpenCV filters, slice by slice: median (8- and 16-bit "
        + "natively), Gaussian (sigma in pixels or mm), bilateral (16-bit through float32) or non-local means "
        + "(8-bit, and 16-bit with the L1 norm). Size, type and geometry are kept.")
@InputRequirement(InputRequirement.Requirement.INPUT_REQUIRED)
@SideEffectFree
@SupportsBatching
@SystemResourceConsideration(resource = SystemResource.CPU, description = "Non-local means costs about 1.5 s per 2048 x 2048 slice.")
@WritesAttributes({
        @WritesAttribute(attribute = "medprep.history", description = "JSON array of processing steps, this one appended."),
        @WritesAttribute(attribute = "medprep.failure.reason", description = "Why the image went to failure."),
        @WritesAttribute(attribute = "mime.type", description = "MIME type of the Output Format.")
})
public class Denoise extends ImageTransformProcessor {

    static final String MEDIAN = "Median";
    static final String GAUSSIAN = "Gaussian";
    static final String BILATERAL = "Bilateral";
    static final String NL_MEANS = "Non-Local Means";

    public static final PropertyDescriptor FILTER = new PropertyDescriptor.Builder()
            .name("Filter")
            .description("The denoising filter.")
            .required(true)
            .allowableValues(MEDIAN, GAUSSIAN, BILATERAL, NL_MEANS)
            .defaultValue(MEDIAN)
            .build();

    public static final PropertyDescriptor KERNEL_SIZE = new PropertyDescriptor.Builder()
            .name("Kernel Size")
            .description("Median aperture, odd, pixels. 16-bit and float images take 3 or 5 only (OpenCV).")
            .required(true)
            .defaultValue("3")
            .addValidator(StandardValidators.POSITIVE_INTEGER_VALIDATOR)
            .dependsOn(FILTER, MEDIAN)
            .build();

    public static final PropertyDescriptor SIGMA = new PropertyDescriptor.Builder()
            .name("Sigma")
            .description("Gaussian standard deviation, in the Sigma Unit.")
            .required(true)
            .defaultValue("1.0")
            .addValidator(StandardValidators.NUMBER_VALIDATOR)
            .dependsOn(FILTER, GAUSSIAN)
            .build();

    public static final PropertyDescriptor SIGMA_UNIT = new PropertyDescriptor.Builder()
            .name("Sigma Unit")
            .description("pixels, or mm (divided by the x and y spacing of each image, so anisotropic pixels get "
                    + "the same physical smoothing).")
            .required(true)
            .allowableValues("pixels", "mm")
            .defaultValue("pixels")
            .dependsOn(FILTER, GAUSSIAN)
            .build();

    public static final PropertyDescriptor DIAMETER = new PropertyDescriptor.Builder()
            .name("Diameter")
            .description("Bilateral neighbourhood diameter, pixels (0: derived from Sigma Space).")
            .required(true)
            .defaultValue("5")
            .addValidator(StandardValidators.NON_NEGATIVE_INTEGER_VALIDATOR)
            .dependsOn(FILTER, BILATERAL)
            .build();

    public static final PropertyDescriptor SIGMA_COLOR = new PropertyDescriptor.Builder()
            .name("Sigma Color")
            .description("Bilateral range sigma, in stored-value units.")
            .required(true)
            .defaultValue("50")
            .addValidator(StandardValidators.NUMBER_VALIDATOR)
            .dependsOn(FILTER, BILATERAL)
            .build();

    public static final PropertyDescriptor SIGMA_SPACE = new PropertyDescriptor.Builder()
            .name("Sigma Space")
            .description("Bilateral spatial sigma, pixels.")
            .required(true)
            .defaultValue("5")
            .addValidator(StandardValidators.NUMBER_VALIDATOR)
            .dependsOn(FILTER, BILATERAL)
            .build();

    public static final PropertyDescriptor H = new PropertyDescriptor.Builder()
            .name("Filter Strength")
            .description("Non-local means h, in stored-value units: larger removes more noise and more detail.")
            .required(true)
            .defaultValue("10")
            .addValidator(StandardValidators.NUMBER_VALIDATOR)
            .dependsOn(FILTER, NL_MEANS)
            .build();

    public static final PropertyDescriptor TEMPLATE_WINDOW = new PropertyDescriptor.Builder()
            .name("Template Window Size")
            .description("Non-local means patch size, odd, pixels.")
            .required(true)
            .defaultValue("7")
            .addValidator(StandardValidators.POSITIVE_INTEGER_VALIDATOR)
            .dependsOn(FILTER, NL_MEANS)
            .build();

    public static final PropertyDescriptor SEARCH_WINDOW = new PropertyDescriptor.Builder()
            .name("Search Window Size")
            .description("Non-local means search window, odd, pixels.")
            .required(true)
            .defaultValue("21")
            .addValidator(StandardValidators.POSITIVE_INTEGER_VALIDATOR)
            .dependsOn(FILTER, NL_MEANS)
            .build();


    private static final List<PropertyDescriptor> PROPERTIES = List.of(FILTER, KERNEL_SIZE, SIGMA, SIGMA_UNIT,
            DIAMETER, SIGMA_COLOR, SIGMA_SPACE, H, TEMPLATE_WINDOW, SEARCH_WINDOW);

    @Override
    protected List<PropertyDescriptor> transformProperties() {
        return PROPERTIES;
    }

    @Override
    protected ImageTransformer.Operation operation(ProcessContext context) {
        String filter = context.getProperty(FILTER).getValue();
        return (image, flowFile) -> {
            Map<String, Object> p = new LinkedHashMap<>();
            p.put("Filter", filter);
            Image out = switch (filter) {
                case MEDIAN -> {
                    int k = context.getProperty(KERNEL_SIZE).asInteger();
                    p.put("Kernel Size", k);
                    yield org.medprep.ops.Denoise.median(image, k);
                }
                case GAUSSIAN -> {
                    double sigma = context.getProperty(SIGMA).asDouble();
                    boolean mm = "mm".equals(context.getProperty(SIGMA_UNIT).getValue());
                    double[] s = image.geometry().spacing();
                    double sx = mm ? sigma / s[0] : sigma;
                    double sy = mm ? sigma / s[1] : sigma;
                    p.put("Sigma", sigma);
                    p.put("Sigma Unit", mm ? "mm" : "pixels");
                    p.put("Sigma X (pixels)", sx);
                    p.put("Sigma Y (pixels)", sy);
                    yield org.medprep.ops.Denoise.gaussian(image, sx, sy);
                }
                case BILATERAL -> {
                    int d = context.getProperty(DIAMETER).asInteger();
                    double sc = context.getProperty(SIGMA_COLOR).asDouble();
                    double ss = context.getProperty(SIGMA_SPACE).asDouble();
                    p.put("Diameter", d);
                    p.put("Sigma Color", sc);
                    p.put("Sigma Space", ss);
                    yield org.medprep.ops.Denoise.bilateral(image, d, sc, ss);
                }
                default -> {
                    double h = context.getProperty(H).asDouble();
                    int t = context.getProperty(TEMPLATE_WINDOW).asInteger();
                    int w = context.getProperty(SEARCH_WINDOW).asInteger();
                    p.put("Filter Strength", h);
                    p.put("Template Window Size", t);
                    p.put("Search Window Size", w);
                    yield org.medprep.ops.Denoise.nonLocalMeans(image, h, t, w);
                }
            };
            return new ImageTransformer.Step(out, p);
        };
    }
}
