/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.nifi;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
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
import org.apache.nifi.components.ValidationResult;
import org.apache.nifi.components.Validator;
import org.apache.nifi.processor.ProcessContext;
import org.medprep.image.Image;
import org.medprep.io.ReadLimits;
import org.medprep.nifi.shared.ImageAttributes;
import org.medprep.nifi.shared.ImageTransformProcessor;
import org.medprep.nifi.shared.ImageTransformer;
import org.medprep.nifi.shared.PropertyChoice;
import org.medprep.ops.Resample;

/** Resamples to a target voxel spacing in mm, physical extent kept ({@link Resample}). */
@Tags({"medical imaging", "resample", "spacing", "isotropic", "B-spline", "label image", "CT", "MR",
        "machine learning"})
@CapabilityDescription("Resamples an image to a Target Spacing in mm (per axis x,y,z, or keep), keeping its "
        + "physical extent and direction under ITK's voxel-centre convention: new size max(1, floor(n x s / s' + 1/2)), new "
        + "origin = origin + direction x (s' - s)/2 per resampled axis, output voxel i' sampling the input at "
        + "continuous index (i' + 1/2) x s'/s - 1/2. Interpolation: nearest neighbour or Label Image (input voxel "
        + "type kept), linear or cubic B-spline with its prefilter (float32 output); mirror boundary. Each channel "
        + "is resampled on its own. An output larger than the reader's voxel limit goes to failure before "
        + "anything is allocated.")
@InputRequirement(InputRequirement.Requirement.INPUT_REQUIRED)
@SideEffectFree
@SupportsBatching
@SystemResourceConsideration(resource = SystemResource.MEMORY, description = "Input and output images are held in "
        + "memory; linear and B-spline also hold a double copy (8 bytes per sample) of the input and of each "
        + "intermediate, one axis at a time.")
@WritesAttributes({
        @WritesAttribute(attribute = "medprep.width", description = "Output width (x), voxels."),
        @WritesAttribute(attribute = "medprep.height", description = "Output height (y), voxels."),
        @WritesAttribute(attribute = "medprep.depth", description = "Output depth (z), slices."),
        @WritesAttribute(attribute = "medprep.spacing", description = "Output spacing x,y,z in mm."),
        @WritesAttribute(attribute = "medprep.resample.origin", description = "Output origin x,y,z in mm (LPS), "
                + "the centre of voxel 0."),
        @WritesAttribute(attribute = "medprep.history", description = "JSON array of processing steps, this one appended."),
        @WritesAttribute(attribute = "medprep.failure.reason", description = "Why the image went to failure."),
        @WritesAttribute(attribute = "mime.type", description = "MIME type of the Output Format."),
        @WritesAttribute(attribute = "filename", description = "Extension replaced by the Output Format's.")
})
@SeeAlso({ResizeWithPadding.class})
public class ResampleSpacing extends ImageTransformProcessor {

    /** Values of {@link #INTERPOLATION}. */
    public enum Interpolation implements PropertyChoice {
        NEAREST("Nearest Neighbor", "The input voxel nearest to the sample position (ties towards the higher "
                + "index); output keeps the input's voxel type.", Resample.Interpolation.NEAREST),
        LINEAR("Linear", "Trilinear (bilinear in 2D) interpolation; float32 output.", Resample.Interpolation.LINEAR),
        BSPLINE("B-Spline", "Cubic B-spline interpolation with its prefilter (interpolating, as ITK's "
                + "BSplineInterpolateImageFunction of order 3 and scipy's map_coordinates(order=3)); float32 output; "
                + "may overshoot the input range at edges.", Resample.Interpolation.BSPLINE),
        LABEL("Label Image", "For masks and label maps: nearest neighbour, so every output value is an input "
                + "label and the voxel type is kept.", Resample.Interpolation.NEAREST);

        private final Text text;
        private final Resample.Interpolation kernel;

        Interpolation(String displayName, String description, Resample.Interpolation kernel) {
            this.text = new Text(displayName, description);
            this.kernel = kernel;
        }

        @Override
        public Text text() {
            return text;
        }

        public Resample.Interpolation kernel() {
            return kernel;
        }
    }

    /** Checks a Target Spacing text: three comma-separated values, each "keep" or a finite number &gt; 0. */
    static final Validator TARGET_SPACING_VALIDATOR = (subject, input, context) -> {
        String problem = null;
        try {
            parseTargetSpacing(input);
        } catch (IllegalArgumentException e) {
            problem = e.getMessage();
        }
        return new ValidationResult.Builder().subject(subject).input(input).valid(problem == null)
                .explanation(problem).build();
    };

    public static final PropertyDescriptor TARGET_SPACING = new PropertyDescriptor.Builder()
            .name("Target Spacing")
            .description("Output voxel spacing in mm as x,y,z; each value a number > 0 or 'keep' (that axis is "
                    + "not resampled), e.g. 1.0,1.0,keep. z is ignored for a 2D image.")
            .required(true)
            .defaultValue("1.0,1.0,1.0")
            .addValidator(TARGET_SPACING_VALIDATOR)
            .build();

    public static final PropertyDescriptor INTERPOLATION = new PropertyDescriptor.Builder()
            .name("Interpolation")
            .description("How values between voxel centres are computed; boundary: mirror extension.")
            .required(true)
            .allowableValues(Interpolation.class)
            .defaultValue(Interpolation.LINEAR.getValue())
            .build();

    private static final List<PropertyDescriptor> PROPERTIES = List.of(TARGET_SPACING, INTERPOLATION);

    /**
     * Parses "x,y,z" (each a number &gt; 0 or "keep", case-insensitive) into three values, NaN for keep.
     *
     * @throws IllegalArgumentException with a one-line explanation when the text is not of that form
     */
    static double[] parseTargetSpacing(String text) {
        if (text == null) {
            throw new IllegalArgumentException("Target Spacing is required");
        }
        String[] parts = text.split(",", -1);
        if (parts.length != 3) {
            throw new IllegalArgumentException("Target Spacing needs three values x,y,z (each mm > 0 or keep); got "
                    + parts.length);
        }
        double[] v = new double[3];
        for (int a = 0; a < 3; a++) {
            String p = parts[a].strip();
            if (p.toLowerCase(Locale.ROOT).equals("keep")) {
                v[a] = Double.NaN;
                continue;
            }
            try {
                v[a] = Double.parseDouble(p);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("'" + p + "' is neither a spacing in mm nor keep");
            }
            if (!(v[a] > 0) || !Double.isFinite(v[a])) {
                throw new IllegalArgumentException("spacing must be finite and > 0 mm; got '" + p + "'");
            }
        }
        return v;
    }

    @Override
    protected List<PropertyDescriptor> transformProperties() {
        return PROPERTIES;
    }

    @Override
    protected ImageTransformer.Operation operation(ProcessContext context) {
        String text = context.getProperty(TARGET_SPACING).getValue();
        double[] target = parseTargetSpacing(text);
        Interpolation interpolation = Interpolation.valueOf(context.getProperty(INTERPOLATION).getValue());
        long maxVoxels = ReadLimits.DEFAULT.maxVoxels();
        return (image, flowFile) -> {
            Image out = Resample.apply(image, target, interpolation.kernel(), maxVoxels);
            double[] o = out.geometry().origin();
            String origin = ImageAttributes.number(o[0]) + "," + ImageAttributes.number(o[1]) + ","
                    + ImageAttributes.number(o[2]);
            double[] s = out.geometry().spacing();
            Map<String, Object> parameters = new LinkedHashMap<>();
            parameters.put("Target Spacing", text);
            parameters.put("Interpolation", interpolation.text().displayName());
            parameters.put("Output Size", out.width() + "," + out.height() + "," + out.depth());
            parameters.put("Output Spacing", ImageAttributes.number(s[0]) + "," + ImageAttributes.number(s[1]) + ","
                    + ImageAttributes.number(s[2]));
            parameters.put("Output Origin", origin);
            return new ImageTransformer.Step(out, parameters, Map.of("medprep.resample.origin", origin));
        };
    }
}
