/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.nifi;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.apache.nifi.annotation.behavior.InputRequirement;
import org.apache.nifi.annotation.behavior.SideEffectFree;
import org.apache.nifi.annotation.behavior.SupportsBatching;
import org.apache.nifi.annotation.behavior.WritesAttribute;
import org.apache.nifi.annotation.behavior.WritesAttributes;
import org.apache.nifi.annotation.documentation.CapabilityDescription;
import org.apache.nifi.annotation.documentation.Tags;
import org.apache.nifi.components.PropertyDescriptor;
import org.apache.nifi.components.ValidationContext;
import org.apache.nifi.components.ValidationResult;
import org.apache.nifi.flowfile.FlowFile;
import org.apache.nifi.processor.ProcessContext;
import org.apache.nifi.processor.util.StandardValidators;
import org.medprep.image.Image;
import org.medprep.nifi.shared.ImageTransformProcessor;
import org.medprep.nifi.shared.ImageTransformer;
import org.medprep.nifi.shared.PropertyChoice;
import org.medprep.ops.HounsfieldWindow;
import org.medprep.ops.MetalDetection;

/** CT stored values → Hounsfield units, clipped to a range or a display window ({@link HounsfieldWindow}). */
@Tags({"medical imaging", "CT", "Hounsfield units", "HU", "window", "clip", "Modality LUT", "machine learning"})
@CapabilityDescription("Converts CT stored values to Hounsfield units (HU) through the Modality LUT (HU = stored x "
        + "RescaleSlope + RescaleIntercept), then clips them to a HU range (custom or a named preset) or applies a "
        + "display window (a standard one or a custom center/width; DICOM PS3.3 C.11.2.1.2), or stacks several "
        + "windows as channels. Output is HU as "
        + "float32, HU as int16, or scaled to [0, 1] as float32; afterwards the Modality LUT is the identity. Metal "
        + "(voxels above Metal Threshold HU, default 3000) is counted, in 26-connected regions, on the HU before "
        + "clipping and written to the medprep.metal.* attributes. A CT "
        + "without the Modality LUT, a RescaleType other than HU, and (unless allowed) a modality other than CT go "
        + "to failure with the reason.")
@InputRequirement(InputRequirement.Requirement.INPUT_REQUIRED)
@SideEffectFree
@SupportsBatching
@WritesAttributes({
        @WritesAttribute(attribute = "medprep.history", description = "JSON array of processing steps, this one appended."),
        @WritesAttribute(attribute = "medprep.failure.reason", description = "Why the image went to failure."),
        @WritesAttribute(attribute = "mime.type", description = "MIME type of the Output Format."),
        @WritesAttribute(attribute = "medprep.metal.voxels", description = "Number of voxels above Metal Threshold "
                + "HU, counted before clipping."),
        @WritesAttribute(attribute = "medprep.metal.regions", description = "Number of 26-connected regions of those "
                + "voxels (8-connected in a single slice)."),
        @WritesAttribute(attribute = "medprep.metal.fraction", description = "Metal voxels / all voxels."),
        @WritesAttribute(attribute = "medprep.metal.severity", description = "none (no metal voxel), slight "
                + "(fraction < 0.01 %), moderate (< 0.1 %) or severe (>= 0.1 %): heuristic bands for review, not a "
                + "clinical grading.")
})
public class ClipHU extends ImageTransformProcessor {

    static final String METAL_VOXELS = "medprep.metal.voxels";
    static final String METAL_REGIONS = "medprep.metal.regions";
    static final String METAL_FRACTION = "medprep.metal.fraction";
    static final String METAL_SEVERITY = "medprep.metal.severity";

    /** Values of {@link #INTENSITY_MAPPING}. */
    public enum Mapping implements PropertyChoice {
        CLIP("Clip to HU Range", "Clip HU to [Minimum HU, Maximum HU]."),
        PRESET("Preset HU Range", "Clip HU to a named range (see HU Preset)."),
        WINDOW("Display Window", "A window given by center and width in HU (see Window): HU outputs are clipped "
                + "to [center - width/2, center + width/2]; [0, 1] output is the linear window function of DICOM "
                + "PS3.3 C.11.2.1.2."),
        STACK("Stacked Windows", "Several windows (see Windows), one output channel each, in the order given: "
                + "e.g. Brain, Subdural, Bone as the three channels a 2D network pretrained on RGB expects.");

        private final Text text;

        Mapping(String displayName, String description) {
            this.text = new Text(displayName, description);
        }

        @Override
        public Text text() {
            return text;
        }
    }

    /** Values of {@link #PRESET}: named HU ranges. */
    public enum Preset implements PropertyChoice {
        FULL("Full", -1000, 1000),
        SOFT_TISSUE("Soft Tissue", -200, 400),
        BONE("Bone", -200, 3000),
        LUNG("Lung", -1500, 600);

        private final Text text;
        private final double min;
        private final double max;

        Preset(String name, double min, double max) {
            this.text = new Text(name, "Clip to " + (long) min + ".." + (long) max + " HU.");
            this.min = min;
            this.max = max;
        }

        @Override
        public Text text() {
            return text;
        }

        public double min() {
            return min;
        }

        public double max() {
            return max;
        }
    }

    /** Values of {@link #WINDOW}: standard display windows (center/width in HU) and a custom one. */
    public enum Window implements PropertyChoice {
        BRAIN("Brain", 40, 80),
        SUBDURAL("Subdural", 80, 200),
        STROKE("Stroke", 40, 40),
        LUNG("Lung", -600, 1500),
        MEDIASTINUM("Mediastinum", 50, 350),
        ABDOMEN("Abdomen", 40, 400),
        LIVER("Liver", 30, 150),
        BONE("Bone", 300, 2000),
        CUSTOM("Custom", Double.NaN, Double.NaN);

        private final Text text;
        private final double center;
        private final double width;

        Window(String name, double center, double width) {
            this.text = new Text(name, Double.isNaN(center) ? "Window Center and Window Width as set below."
                    : "Center " + (long) center + " HU, width " + (long) width + " HU.");
            this.center = center;
            this.width = width;
        }

        @Override
        public Text text() {
            return text;
        }

        public double center() {
            return center;
        }

        public double width() {
            return width;
        }
    }

    /** Values of {@link #OUTPUT_VALUES}. */
    public enum Values implements PropertyChoice {
        HU_FLOAT32("HU (float32)", "Hounsfield units as float32.", HounsfieldWindow.Output.HU_FLOAT32),
        HU_INT16("HU (int16)", "Hounsfield units rounded half to even to int16 (exact for integer slope and "
                + "intercept); the range must lie within -32768..32767. Half the size of float32; PNG output only when no value is "
                + "negative (PNG has no signed samples).",
                HounsfieldWindow.Output.HU_INT16),
        UNIT_FLOAT32("Scaled to [0, 1] (float32)", "The range or window mapped linearly onto [0, 1], float32.",
                HounsfieldWindow.Output.UNIT_FLOAT32);

        private final Text text;
        private final HounsfieldWindow.Output output;

        Values(String displayName, String description, HounsfieldWindow.Output output) {
            this.text = new Text(displayName, description);
            this.output = output;
        }

        @Override
        public Text text() {
            return text;
        }

        public HounsfieldWindow.Output output() {
            return output;
        }
    }

    public static final PropertyDescriptor INTENSITY_MAPPING = new PropertyDescriptor.Builder()
            .name("Intensity Mapping")
            .description("What is done with the Hounsfield units.")
            .required(true)
            .allowableValues(Mapping.class)
            .defaultValue(Mapping.CLIP)
            .build();

    public static final PropertyDescriptor MINIMUM_HU = new PropertyDescriptor.Builder()
            .name("Minimum HU")
            .description("Lower bound of the clip, in HU.")
            .required(true)
            .defaultValue("-1000")
            .addValidator(StandardValidators.NUMBER_VALIDATOR)
            .dependsOn(INTENSITY_MAPPING, Mapping.CLIP)
            .build();

    public static final PropertyDescriptor MAXIMUM_HU = new PropertyDescriptor.Builder()
            .name("Maximum HU")
            .description("Upper bound of the clip, in HU (greater than Minimum HU).")
            .required(true)
            .defaultValue("1000")
            .addValidator(StandardValidators.NUMBER_VALIDATOR)
            .dependsOn(INTENSITY_MAPPING, Mapping.CLIP)
            .build();

    public static final PropertyDescriptor PRESET = new PropertyDescriptor.Builder()
            .name("HU Preset")
            .description("A named HU range.")
            .required(true)
            .allowableValues(Preset.class)
            .defaultValue(Preset.FULL)
            .dependsOn(INTENSITY_MAPPING, Mapping.PRESET)
            .build();

    public static final PropertyDescriptor WINDOW = new PropertyDescriptor.Builder()
            .name("Window")
            .description("A standard display window (center/width in HU), or Custom.")
            .required(true)
            .allowableValues(Window.class)
            .defaultValue(Window.BRAIN)
            .dependsOn(INTENSITY_MAPPING, Mapping.WINDOW)
            .build();

    public static final PropertyDescriptor WINDOW_CENTER = new PropertyDescriptor.Builder()
            .name("Window Center")
            .description("Window center, in HU.")
            .required(true)
            .addValidator(StandardValidators.NUMBER_VALIDATOR)
            .dependsOn(WINDOW, Window.CUSTOM)
            .build();

    public static final PropertyDescriptor WINDOW_WIDTH = new PropertyDescriptor.Builder()
            .name("Window Width")
            .description("Window width, in HU (at least 1, as DICOM PS3.3 C.11.2.1.2 requires).")
            .required(true)
            .addValidator(StandardValidators.NUMBER_VALIDATOR)
            .dependsOn(WINDOW, Window.CUSTOM)
            .build();

    public static final PropertyDescriptor STACKED_WINDOWS = new PropertyDescriptor.Builder()
            .name("Windows")
            .description("Comma-separated windows, one output channel each: standard window names (Brain, Subdural, "
                    + "Stroke, Lung, Mediastinum, Abdomen, Liver, Bone) or center/width in HU (e.g. 40/80).")
            .required(true)
            .defaultValue("Brain, Subdural, Bone")
            .addValidator(StandardValidators.NON_BLANK_VALIDATOR)
            .dependsOn(INTENSITY_MAPPING, Mapping.STACK)
            .build();

    public static final PropertyDescriptor OUTPUT_VALUES = new PropertyDescriptor.Builder()
            .name("Output Values")
            .description("What the output samples are.")
            .required(true)
            .allowableValues(Values.class)
            .defaultValue(Values.HU_FLOAT32)
            .build();

    public static final PropertyDescriptor ACCEPT_NON_CT = new PropertyDescriptor.Builder()
            .name("Accept Non-CT Images")
            .description("When false, an image whose modality is not CT goes to failure. When true, its Modality "
                    + "LUT is applied and the result treated as HU: for CT volumes from tools that record no "
                    + "modality (e.g. a NIfTI file not written by medprep, modality OT).")
            .required(true)
            .allowableValues("true", "false")
            .defaultValue("false")
            .build();

    public static final PropertyDescriptor METAL_THRESHOLD = new PropertyDescriptor.Builder()
            .name("Metal Threshold HU")
            .description("Voxels above this many HU count as metal; they are counted and grouped into 26-connected "
                    + "regions on the HU before clipping, and written to the medprep.metal.* attributes.")
            .required(true)
            .defaultValue("3000")
            .addValidator(StandardValidators.NUMBER_VALIDATOR)
            .build();

    private static final List<PropertyDescriptor> PROPERTIES = List.of(INTENSITY_MAPPING, MINIMUM_HU, MAXIMUM_HU,
            PRESET, WINDOW, WINDOW_CENTER, WINDOW_WIDTH, STACKED_WINDOWS, OUTPUT_VALUES, ACCEPT_NON_CT, METAL_THRESHOLD);

    @Override
    protected List<PropertyDescriptor> transformProperties() {
        return PROPERTIES;
    }

    @Override
    protected Collection<ValidationResult> customValidate(ValidationContext context) {
        List<ValidationResult> problems = new ArrayList<>();
        Mapping mapping = context.getProperty(INTENSITY_MAPPING).asAllowableValue(Mapping.class);
        if (mapping == Mapping.CLIP) {
            Double min = number(context.getProperty(MINIMUM_HU).getValue());
            Double max = number(context.getProperty(MAXIMUM_HU).getValue());
            if (min != null && max != null && !(min < max)) {
                problems.add(new ValidationResult.Builder().subject(MAXIMUM_HU.getName()).valid(false)
                        .explanation("Maximum HU must be greater than Minimum HU").build());
            }
        } else if (mapping == Mapping.WINDOW
                && context.getProperty(WINDOW).asAllowableValue(Window.class) == Window.CUSTOM) {
            Double width = number(context.getProperty(WINDOW_WIDTH).getValue());
            if (width != null && !(width >= 1)) {
                problems.add(new ValidationResult.Builder().subject(WINDOW_WIDTH.getName()).valid(false)
                        .explanation("Window Width must be at least 1 HU").build());
            }
        }
        if (mapping == Mapping.STACK) {
            try {
                parseWindows(context.getProperty(STACKED_WINDOWS).getValue());
            } catch (IllegalArgumentException e) {
                problems.add(new ValidationResult.Builder().subject(STACKED_WINDOWS.getName()).valid(false)
                        .explanation(e.getMessage()).build());
            }
        }
        return problems;
    }

    /** One window of {@link #STACKED_WINDOWS}: its name (a standard window's, or "Custom") and values. */
    record NamedWindow(String name, double center, double width) {
    }

    /**
     * Parses {@link #STACKED_WINDOWS}.
     *
     * @throws IllegalArgumentException naming the first item that is neither a standard window nor center/width
     *                                  with width ≥ 1
     */
    static List<NamedWindow> parseWindows(String text) {
        List<NamedWindow> out = new ArrayList<>();
        for (String raw : (text == null ? "" : text).split(",")) {
            String item = raw.strip();
            if (item.isEmpty()) {
                continue;
            }
            NamedWindow found = null;
            for (Window w : Window.values()) {
                boolean named = w.name().equalsIgnoreCase(item) || w.getDisplayName().equalsIgnoreCase(item);
                if (w != Window.CUSTOM && named) {
                    found = new NamedWindow(w.getDisplayName(), w.center(), w.width());
                }
            }
            if (found == null) {
                String[] cw = item.split("/");
                Double c = cw.length == 2 ? number(cw[0]) : null;
                Double w = cw.length == 2 ? number(cw[1]) : null;
                if (c == null || w == null || !Double.isFinite(c) || !(w >= 1) || !Double.isFinite(w)) {
                    throw new IllegalArgumentException("'" + item + "' is neither a standard window name nor "
                            + "center/width in HU with width at least 1");
                }
                found = new NamedWindow("Custom", c, w);
            }
            out.add(found);
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("at least one window is needed");
        }
        return out;
    }

    private static Double number(String s) {
        try {
            return s == null ? null : Double.valueOf(s.strip());
        } catch (NumberFormatException e) {
            return null; // the property's own validator reports it
        }
    }

    @Override
    protected ImageTransformer.Operation operation(ProcessContext context) {
        Mapping mapping = context.getProperty(INTENSITY_MAPPING).asAllowableValue(Mapping.class);
        Values values = context.getProperty(OUTPUT_VALUES).asAllowableValue(Values.class);
        boolean acceptNonCt = context.getProperty(ACCEPT_NON_CT).asBoolean();
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("Intensity Mapping", mapping.getDisplayName());
        // (minimum, maximum) in HU for a clip or preset; (center, width) in HU for a window.
        double a = 0;
        double b = 0;
        List<NamedWindow> stack = List.of();
        switch (mapping) {
            case CLIP -> {
                a = context.getProperty(MINIMUM_HU).asDouble();
                b = context.getProperty(MAXIMUM_HU).asDouble();
            }
            case PRESET -> {
                Preset preset = context.getProperty(PRESET).asAllowableValue(Preset.class);
                p.put("HU Preset", preset.getDisplayName());
                a = preset.min();
                b = preset.max();
            }
            case STACK -> {
                stack = parseWindows(context.getProperty(STACKED_WINDOWS).getValue());
                List<Map<String, Object>> recorded = new ArrayList<>();
                for (NamedWindow w : stack) {
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("Window", w.name());
                    m.put("Window Center", w.center());
                    m.put("Window Width", w.width());
                    recorded.add(m);
                }
                p.put("Windows", recorded);
            }
            default -> {
                Window window = context.getProperty(WINDOW).asAllowableValue(Window.class);
                p.put("Window", window.getDisplayName());
                a = window == Window.CUSTOM ? context.getProperty(WINDOW_CENTER).asDouble() : window.center();
                b = window == Window.CUSTOM ? context.getProperty(WINDOW_WIDTH).asDouble() : window.width();
            }
        }
        if (mapping == Mapping.WINDOW) {
            p.put("Window Center", a);
            p.put("Window Width", b);
        } else if (mapping != Mapping.STACK) {
            p.put("Minimum HU", a);
            p.put("Maximum HU", b);
        }
        p.put("Output Values", values.getDisplayName());
        p.put("Accept Non-CT Images", acceptNonCt);
        double metalThreshold = context.getProperty(METAL_THRESHOLD).asDouble();
        p.put("Metal Threshold HU", metalThreshold);
        HounsfieldWindow.Output output = values.output();
        double lo = a;
        double hi = b;
        double[] centers = stack.stream().mapToDouble(NamedWindow::center).toArray();
        double[] widths = stack.stream().mapToDouble(NamedWindow::width).toArray();
        UnaryOperator<Image> map = switch (mapping) {
            case WINDOW -> image -> HounsfieldWindow.window(image, lo, hi, output);
            case STACK -> image -> HounsfieldWindow.stack(image, centers, widths, output);
            default -> image -> HounsfieldWindow.clip(image, lo, hi, output);
        };
        return new ClipOperation(map, acceptNonCt, metalThreshold, Collections.unmodifiableMap(p));
    }

    /** The operation; it needs the DICOM header to check the Modality LUT's presence and RescaleType. */
    private record ClipOperation(UnaryOperator<Image> map, boolean acceptNonCt, double metalThreshold,
                                 Map<String, Object> parameters)
            implements ImageTransformer.Operation {

        @Override
        public ImageTransformer.Step apply(Image image, FlowFile flowFile) {
            return apply(image, Map.of(), flowFile);
        }

        @Override
        public ImageTransformer.Step apply(Image image, Map<String, String> header, FlowFile flowFile) {
            checkHounsfield(image, header, acceptNonCt);
            Map<String, Object> p = new LinkedHashMap<>(parameters);
            p.put("Rescale Slope", image.metadata().rescaleSlope());
            p.put("Rescale Intercept", image.metadata().rescaleIntercept());
            MetalDetection.Result metal = MetalDetection.detect(image, metalThreshold);
            Image out = map.apply(image);
            return new ImageTransformer.Step(out, p, Map.of(
                    METAL_VOXELS, Long.toString(metal.voxels()),
                    METAL_REGIONS, Integer.toString(metal.regions()),
                    METAL_FRACTION, Double.toString(metal.fraction()),
                    METAL_SEVERITY, metal.severity()));
        }
    }

    /**
     * Refuses an image whose stored values cannot be read as HU: a modality other than CT (unless accepted), and,
     * for DICOM input (non-empty header), a CT without RescaleSlope/RescaleIntercept or a RescaleType other than
     * HU. Non-DICOM input carries its Modality LUT in the image metadata (NIfTI scl_slope/scl_inter) and has no
     * RescaleType.
     */
    static void checkHounsfield(Image image, Map<String, String> header, boolean acceptNonCt) {
        String modality = image.metadata().modality();
        boolean ct = "CT".equalsIgnoreCase(modality == null ? "" : modality.strip());
        if (!ct && !acceptNonCt) {
            throw new IllegalArgumentException("the modality is " + modality + ", not CT, so its values are not "
                    + "Hounsfield units (set Accept Non-CT Images to true to apply its Modality LUT anyway)");
        }
        if (header.isEmpty()) {
            return;
        }
        boolean slope = !header.getOrDefault("RescaleSlope", "").isBlank();
        boolean intercept = !header.getOrDefault("RescaleIntercept", "").isBlank();
        if (ct && !(slope && intercept)) {
            throw new IllegalArgumentException("this CT has no Modality LUT (RescaleSlope and RescaleIntercept "
                    + "are required), so its stored values cannot be converted to Hounsfield units");
        }
        String type = header.getOrDefault("RescaleType", "").strip();
        if (!type.isEmpty() && !type.equalsIgnoreCase("HU")) {
            throw new IllegalArgumentException("the RescaleType is " + type + ", not HU, so the Modality LUT "
                    + "does not give Hounsfield units");
        }
    }
}
