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
import org.medprep.ops.Reorient;
import org.medprep.ops.Resample;

/** Resamples to a target voxel spacing in mm, physical extent kept ({@link Resample}). */
@Tags({"medical imaging", "resample", "spacing", "isotropic", "B-spline", "label image", "CT", "MR",
        "machine learning"})
@CapabilityDescription("Resamples an image to a Target Spacing in mm (per axis x,y,z, or keep), keeping its "
        + "physical extent and direction under ITK's voxel-centre convention: new size max(1, floor(n x s / s' + 1/2)), new "
        + "origin = origin + direction x (s' - s)/2 per resampled axis, output voxel i' sampling the input at "
        + "continuous index (i' + 1/2) x s'/s - 1/2. Interpolation: nearest neighbour or Label Image (input voxel "
        + "type kept), linear or cubic B-spline with its prefilter, or nnU-Net's anisotropic rule (B-spline "
        + "in-plane, nearest along a coarse axis; float32 output); mirror boundary. Linear and B-spline smooth each "
        + "downsampled axis with a Gaussian first (Anti-aliasing, sigma = (s'/s - 1)/2 voxels). Optionally the axes "
        + "are first permuted and flipped to RAS or LPS (Reorient, no interpolation). Each channel is resampled on "
        + "its own, one volume on all cores. An output larger than the reader's voxel limit goes to failure before "
        + "anything is allocated.")
@InputRequirement(InputRequirement.Requirement.INPUT_REQUIRED)
@SideEffectFree
@SupportsBatching
@SystemResourceConsideration(resource = SystemResource.MEMORY, description = "Besides the FlowFile content "
        + "and the encoded result, the input and output images are held in memory; Linear, B-Spline and nnU-Net "
        + "Anisotropic add float32 intermediates (at most two at once, 4 bytes per sample of the grid after the x and "
        + "the y pass). Peak of the operation: input + max(I1 + I2, I2 + output); e.g. 512 x 512 x 600 int16 at "
        + "0.7 x 0.7 x 1.25 mm to 1 mm: 315 MB in, 384 MB out, peak about 1.06 GB (1.5 x (input + output)); "
        + "it runs in a heap of 3 x (input + output). Reorient adds one copy of the input.")
@SystemResourceConsideration(resource = SystemResource.CPU, description = "An image of 1 048 576 samples or more "
        + "uses all available processors (each axis pass splits its lines over them); smaller ones run on the calling "
        + "thread. Results are identical for any number of cores.")
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
                + "label and the voxel type is kept.", Resample.Interpolation.NEAREST),
        NNUNET("nnU-Net Anisotropic", "nnU-Net's rule for images (Isensee et al., Nature Methods 2021): when the "
                + "input spacing, or else the output spacing, has max/min > 3 with one coarsest axis, cubic B-spline "
                + "in-plane and nearest neighbour along that axis; otherwise cubic B-spline on every axis. No "
                + "anti-aliasing (as nnU-Net); float32 output.", Resample.Interpolation.NNUNET_ANISOTROPIC);

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

    /** Values of {@link #REORIENT}. */
    public enum Reorientation implements PropertyChoice {
        NONE("None", "Axes kept as they are.", null),
        RAS("RAS", "Axes permuted and flipped (no interpolation) so x points the most towards the patient's Right, "
                + "y Anterior, z Superior: nibabel's as_closest_canonical.", Reorient.Target.RAS),
        LPS("LPS", "Axes permuted and flipped (no interpolation) so x points the most towards Left, y Posterior, "
                + "z Superior: DICOM/ITK patient coordinates.", Reorient.Target.LPS);

        private final Text text;
        private final Reorient.Target target;

        Reorientation(String displayName, String description, Reorient.Target target) {
            this.text = new Text(displayName, description);
            this.target = target;
        }

        @Override
        public Text text() {
            return text;
        }

        /** The op's target, null for NONE. */
        public Reorient.Target target() {
            return target;
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

    public static final PropertyDescriptor ANTI_ALIASING = new PropertyDescriptor.Builder()
            .name("Anti-aliasing")
            .description("Before sampling an axis whose spacing grows (s' > s), smooth it with a Gaussian of sigma "
                    + "= (s'/s - 1)/2 input voxels, truncated at 4 sigma, mirror boundary (scikit-image resize's "
                    + "anti_aliasing rule), so a coarser grid does not alias fine structure. Only for Linear and "
                    + "B-Spline; never for Nearest Neighbor, Label Image or nnU-Net Anisotropic.")
            .required(true)
            .allowableValues("true", "false")
            .defaultValue("true")
            .dependsOn(INTERPOLATION, Interpolation.LINEAR, Interpolation.BSPLINE)
            .build();

    public static final PropertyDescriptor REORIENT = new PropertyDescriptor.Builder()
            .name("Reorient")
            .description("Before resampling, permute and flip the axes (no interpolation, every voxel keeps its "
                    + "world position) to the closest canonical orientation; Target Spacing x,y,z then refers to the "
                    + "reoriented axes.")
            .required(true)
            .allowableValues(Reorientation.class)
            .defaultValue(Reorientation.NONE.getValue())
            .build();

    /**
     * Inputs of at least this many samples are resampled on all cores; smaller ones (most 2D images) on the
     * calling thread, where NiFi's concurrent tasks are the parallelism. The result is the same either way.
     */
    static final int PARALLEL_MIN_SAMPLES = 1 << 20;

    private static final List<PropertyDescriptor> PROPERTIES = List.of(TARGET_SPACING, INTERPOLATION, ANTI_ALIASING,
            REORIENT);

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

    /**
     * Refuses, before allocating, a resampling whose float32 intermediates and output (at most two intermediates
     * live with the output, see {@link Resample}) need more than this JVM can give
     * ({@link ReadLimits#availableBytes()}). An output above Max Voxels is left to {@link Resample}'s own refusal.
     */
    private static void checkMemory(Image image, double[] target, Interpolation interpolation, long maxVoxels) {
        Resample.Plan plan = Resample.plan(image.width(), image.height(), image.depth(), image.geometry(), target);
        double c = image.channels();
        double x = plan.width();
        double y = plan.height();
        double z = plan.depth();
        if (x * y * z > maxVoxels) {
            return;
        }
        int bytes = interpolation.kernel() == Resample.Interpolation.NEAREST ? image.type().bytes() : 4;
        double samples = interpolation.kernel() == Resample.Interpolation.NEAREST ? x * y * z * c
                : c * (x * image.height() * image.depth() + x * y * image.depth() + x * y * z);
        long available = ReadLimits.availableBytes();
        if (samples * bytes > available) {
            throw new IllegalArgumentException(String.format(Locale.ROOT, "Resampling to %d x %d x %d voxels needs "
                    + "%.2f GB; this JVM can give %.2f GB.", plan.width(), plan.height(), plan.depth(),
                    samples * bytes / 1e9, available / 1e9));
        }
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
        boolean antiAliasing = (interpolation == Interpolation.LINEAR || interpolation == Interpolation.BSPLINE)
                && context.getProperty(ANTI_ALIASING).asBoolean();
        Reorientation reorient = Reorientation.valueOf(context.getProperty(REORIENT).getValue());
        long maxVoxels = ReadLimits.DEFAULT.maxVoxels();
        int cores = Resample.defaultThreads();
        return (image, flowFile) -> {
            Image oriented = reorient.target() == null ? image : Reorient.apply(image, reorient.target());
            int threads = oriented.size() >= PARALLEL_MIN_SAMPLES ? cores : 1;
            checkMemory(oriented, target, interpolation, maxVoxels);
            Image out = Resample.apply(oriented, target, interpolation.kernel(), antiAliasing, threads, maxVoxels);
            double[] o = out.geometry().origin();
            String origin = ImageAttributes.number(o[0]) + "," + ImageAttributes.number(o[1]) + ","
                    + ImageAttributes.number(o[2]);
            double[] s = out.geometry().spacing();
            Map<String, Object> parameters = new LinkedHashMap<>();
            parameters.put("Target Spacing", text);
            parameters.put("Interpolation", interpolation.text().displayName());
            if (interpolation == Interpolation.NNUNET) {
                int low = Resample.nnUNetLowResolutionAxis(oriented.geometry().spacing(), s, oriented.depth());
                parameters.put("Low-Resolution Axis", low < 0 ? "none" : String.valueOf("xyz".charAt(low)));
            }
            parameters.put("Anti-aliasing", antiAliasing);
            parameters.put("Reorient", reorient.text().displayName());
            parameters.put("Output Size", out.width() + "," + out.height() + "," + out.depth());
            parameters.put("Output Spacing", ImageAttributes.number(s[0]) + "," + ImageAttributes.number(s[1]) + ","
                    + ImageAttributes.number(s[2]));
            parameters.put("Output Origin", origin);
            return new ImageTransformer.Step(out, parameters, Map.of("medprep.resample.origin", origin));
        };
    }
}
