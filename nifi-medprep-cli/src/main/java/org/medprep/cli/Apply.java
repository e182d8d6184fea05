/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.apache.nifi.annotation.behavior.DynamicProperties;
import org.apache.nifi.annotation.behavior.DynamicProperty;
import org.apache.nifi.components.AllowableValue;
import org.apache.nifi.components.PropertyDescriptor;
import org.apache.nifi.components.ValidationResult;
import org.apache.nifi.flowfile.attributes.CoreAttributes;
import org.apache.nifi.processor.Processor;
import org.apache.nifi.processor.Relationship;
import org.apache.nifi.util.MockFlowFile;
import org.apache.nifi.util.MockProcessContext;
import org.apache.nifi.util.TestRunner;
import org.apache.nifi.util.TestRunners;

/**
 * {@code ./medprep apply PROCESSOR [--set "Property Name=value"]... INPUT OUTPUT}: runs one processor of the
 * medprep NAR on one file, in-process, through NiFi's own mock framework (nifi-mock's TestRunner: the processor's
 * validators and customValidate, {@code @OnScheduled}, a ProcessSession with its checks, relationships,
 * provenance), so the processor code and therefore the output bytes are the ones a flow produces.
 *
 * <p>Prints one line {@code PROCESSOR -> relationship (N ms)} (N: the step's {@code ms} from
 * {@code medprep.history}, else the wall time of the run), followed by {@code : reason} when the FlowFile went to
 * failure or invalid. Writes OUTPUT (the FlowFile's content, whatever relationship it went to) and the sidecar
 * {@link #sidecar(Path)}: the FlowFile's attributes except NiFi's core ones and the raw identifiers
 * {@link #IDENTIFIERS} (never PHI in a file, as in the flows' sidecars), as AttributesToJSON writes them with
 * JSON Handling Strategy NESTED (attribute values that are JSON arrays or objects, such as
 * {@code medprep.history}, embedded as JSON), keys sorted, pretty-printed.
 *
 * <p>Exit codes: 0 the FlowFile went to a non-failure relationship; 1 it went to failure/invalid (or was dropped);
 * 2 a usage error (unknown processor or property, invalid value, unreadable INPUT), one line on stderr; 3 the
 * processor threw or did not transfer the FlowFile (a bug, reported on stderr).
 *
 * <p>Sensitive properties (Patient Key Secret) are never taken from the command line: each comes from the
 * environment variable {@code MEDPREP_} + its name in upper case with non-alphanumerics as underscores
 * ({@link #environmentVariable}).
 */
public final class Apply {

    public static final int OK = 0;
    public static final int ROUTED_TO_FAILURE = 1;
    public static final int USAGE = 2;
    public static final int ERROR = 3;

    private static final String SERVICES = "META-INF/services/" + Processor.class.getName();
    private static final String PACKAGE = "org.medprep.";
    private static final ObjectMapper JSON = new ObjectMapper();
    /**
     * Raw identifiers a sidecar never holds, as the flows' sidecars leave them out: the DICOM UIDs and, when Expose
     * Patient Identifiers is on, PatientID and PatientName (the keyed pseudonyms stay).
     */
    static final Set<String> IDENTIFIERS = Set.of("medprep.study.uid", "medprep.series.uid", "medprep.patient.id",
            "medprep.patient.name");

    private static final Set<String> CORE_ATTRIBUTES = Arrays.stream(CoreAttributes.values())
            .map(CoreAttributes::key).collect(Collectors.toUnmodifiableSet());
    /** Relationships whose FlowFiles did not get through the step. */
    private static final Set<String> FAILURE_RELATIONSHIPS = Set.of("failure", "invalid");
    /** Attributes holding why a FlowFile failed, most specific first. */
    private static final List<String> REASON_ATTRIBUTES = List.of("medprep.failure.reason", "medprep.invalid.reason");

    private final Map<String, String> environment;
    private final PrintStream out;
    private final PrintStream err;

    private Apply(Map<String, String> environment, PrintStream out, PrintStream err) {
        this.environment = environment;
        this.out = out;
        this.err = err;
    }

    public static void main(String[] args) {
        // processor log messages: errors only, on stderr (the routing line and reason are on stdout already)
        if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel",
                    System.getenv().getOrDefault("MEDPREP_APPLY_LOG", "error"));
        }
        System.exit(run(args, System.getenv(), System.out, System.err));
    }

    /** Runs the command; what main does without exiting. */
    public static int run(String[] args, Map<String, String> environment, PrintStream out, PrintStream err) {
        try {
            return new Apply(environment, out, err).execute(args);
        } catch (UsageException e) {
            err.println("apply: " + e.getMessage());
            return USAGE;
        }
    }

    /** A one-line error in what the user typed. */
    static final class UsageException extends Exception {
        UsageException(String message) {
            super(message);
        }
    }

    private static final String USAGE_LINE =
            "usage: ./medprep apply PROCESSOR [--set \"Property Name=value\"]... [--repeat N] INPUT OUTPUT"
                    + " | PROCESSOR --help | --list";

    private int execute(String[] args) throws UsageException {
        String processorName = null;
        Map<String, String> settings = new LinkedHashMap<>();
        List<String> files = new ArrayList<>();
        boolean help = false;
        int repeat = 1;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--set")) {
                if (i + 1 >= args.length) {
                    throw new UsageException("--set needs \"Property Name=value\"");
                }
                addSetting(settings, args[++i]);
            } else if (a.startsWith("--set=")) {
                addSetting(settings, a.substring("--set=".length()));
            } else if (a.equals("--repeat") || a.startsWith("--repeat=")) {
                String n = a.equals("--repeat") ? (i + 1 < args.length ? args[++i] : "") : a.substring("--repeat=".length());
                try {
                    repeat = Integer.parseInt(n.strip());
                } catch (NumberFormatException e) {
                    repeat = 0;
                }
                if (repeat < 1) {
                    throw new UsageException("--repeat needs a positive number of runs, got '" + n + "'");
                }
            } else if (a.equals("--help") || a.equals("-h")) {
                help = true;
            } else if (a.equals("--list")) {
                out.println(String.join("\n", processorNames()));
                return OK;
            } else if (a.startsWith("--")) {
                throw new UsageException("unknown option " + a + "; " + USAGE_LINE);
            } else if (processorName == null) {
                processorName = a;
            } else {
                files.add(a);
            }
        }
        if (processorName == null) {
            if (help) {
                out.println(USAGE_LINE);
                out.println("processors: " + String.join(", ", processorNames()));
                return OK;
            }
            throw new UsageException("no processor given; " + USAGE_LINE + "; processors: "
                    + String.join(", ", processorNames()));
        }
        Class<? extends Processor> type = processorClass(processorName);
        String name = type.getSimpleName();
        TestRunner runner = TestRunners.newTestRunner(type);
        Processor processor = runner.getProcessor();
        if (help) {
            describe(name, processor);
            return OK;
        }
        if (files.size() != 2) {
            throw new UsageException("expected INPUT and OUTPUT after the processor, got " + files.size()
                    + " file argument(s); " + USAGE_LINE);
        }
        Path input = Path.of(files.get(0)).toAbsolutePath().normalize();
        Path output = Path.of(files.get(1)).toAbsolutePath().normalize();
        if (!Files.isRegularFile(input) || !Files.isReadable(input)) {
            throw new UsageException("INPUT " + files.get(0) + " is not a readable file");
        }
        if (output.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".json")) {
            throw new UsageException("OUTPUT " + files.get(1) + " ends in .json, the sidecar's extension; choose "
                    + "an image extension (.nii, .nii.gz, .npy, .png, ...)");
        }
        if (output.equals(input)) {
            throw new UsageException("OUTPUT is the INPUT file; write to another file");
        }
        configure(runner, name, processor, settings);
        return process(runner, name, processor, input, output, repeat);
    }

    private static void addSetting(Map<String, String> settings, String setting) throws UsageException {
        int eq = setting.indexOf('=');
        if (eq <= 0) {
            throw new UsageException("--set \"" + setting + "\": expected \"Property Name=value\"");
        }
        settings.put(setting.substring(0, eq).strip(), setting.substring(eq + 1));
    }

    // ---- processors ---------------------------------------------------------------------------------------------

    /** The FQCNs of our processors, from every META-INF/services/org.apache.nifi.processor.Processor on the classpath. */
    static List<String> processorClassNames() {
        Set<String> names = new TreeSet<>();
        try {
            Enumeration<URL> files = Apply.class.getClassLoader().getResources(SERVICES);
            while (files.hasMoreElements()) {
                try (InputStream in = files.nextElement().openStream()) {
                    new String(in.readAllBytes(), StandardCharsets.UTF_8).lines()
                            .map(l -> l.replaceFirst("#.*", "").strip())
                            .filter(l -> l.startsWith(PACKAGE))
                            .forEach(names::add);
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + SERVICES + ": " + e.getMessage(), e);
        }
        return List.copyOf(names);
    }

    /** Simple class names of our processors, sorted. */
    static List<String> processorNames() {
        return processorClassNames().stream().map(n -> n.substring(n.lastIndexOf('.') + 1)).sorted().toList();
    }

    private static Class<? extends Processor> processorClass(String given) throws UsageException {
        List<String> fqcns = processorClassNames();
        String match = fqcns.stream().filter(f -> f.equals(given) || simple(f).equals(given)).findFirst()
                .orElseGet(() -> {
                    List<String> ci = fqcns.stream().filter(f -> simple(f).equalsIgnoreCase(given)).toList();
                    return ci.size() == 1 ? ci.get(0) : null;
                });
        if (match == null) {
            throw new UsageException("unknown processor '" + given + "'; valid: " + String.join(", ", processorNames()));
        }
        try {
            return Class.forName(match).asSubclass(Processor.class);
        } catch (ClassNotFoundException | ClassCastException e) {
            throw new IllegalStateException(match + " is registered as a processor but cannot be loaded: " + e, e);
        }
    }

    private static String simple(String fqcn) {
        return fqcn.substring(fqcn.lastIndexOf('.') + 1);
    }

    // ---- properties ---------------------------------------------------------------------------------------------

    /** The environment variable a sensitive property is read from: "Patient Key Secret" → MEDPREP_PATIENT_KEY_SECRET. */
    public static String environmentVariable(PropertyDescriptor property) {
        return "MEDPREP_" + property.getName().toUpperCase(Locale.ROOT).replaceAll("[^A-Z0-9]+", "_")
                .replaceAll("^_|_$", "");
    }

    private static boolean supportsDynamicProperties(Processor processor) {
        return processor.getClass().isAnnotationPresent(DynamicProperty.class)
                || processor.getClass().isAnnotationPresent(DynamicProperties.class);
    }

    private static PropertyDescriptor property(String processorName, Processor processor, String given)
            throws UsageException {
        List<PropertyDescriptor> all = processor.getPropertyDescriptors();
        for (PropertyDescriptor p : all) {
            if (p.getName().equals(given) || given.equals(p.getDisplayName())) {
                return p;
            }
        }
        List<PropertyDescriptor> ci = all.stream().filter(p -> p.getName().equalsIgnoreCase(given)
                || given.equalsIgnoreCase(p.getDisplayName())).toList();
        if (ci.size() == 1) {
            return ci.get(0);
        }
        if (supportsDynamicProperties(processor)) {
            return processor.getPropertyDescriptor(given);
        }
        throw new UsageException(processorName + " has no property '" + given + "'; valid: "
                + all.stream().map(PropertyDescriptor::getName).collect(Collectors.joining(", ")));
    }

    /** An allowable value given by its value or display name (exact, else case-insensitive) → its value. */
    private static String allowableValue(PropertyDescriptor property, String given) {
        List<AllowableValue> allowed = property.getAllowableValues();
        if (allowed == null || allowed.isEmpty()) {
            return given;
        }
        for (AllowableValue v : allowed) {
            if (v.getValue().equals(given)) {
                return given;
            }
        }
        String g = given.strip();
        for (AllowableValue v : allowed) {
            if (g.equals(v.getDisplayName())) {
                return v.getValue();
            }
        }
        for (AllowableValue v : allowed) {
            if (g.equalsIgnoreCase(v.getValue()) || g.equalsIgnoreCase(v.getDisplayName())) {
                return v.getValue();
            }
        }
        return given;
    }

    private static String allowedList(PropertyDescriptor property) {
        return property.getAllowableValues().stream()
                .map(v -> v.getValue().equals(v.getDisplayName()) ? v.getValue()
                        : v.getDisplayName() + " (" + v.getValue() + ")")
                .collect(Collectors.joining(", "));
    }

    private void configure(TestRunner runner, String name, Processor processor, Map<String, String> settings)
            throws UsageException {
        for (Map.Entry<String, String> s : settings.entrySet()) {
            PropertyDescriptor p = property(name, processor, s.getKey());
            if (p.isSensitive()) {
                throw new UsageException(name + "'s '" + p.getName() + "' is sensitive: give it in the environment "
                        + "variable " + environmentVariable(p) + ", never on the command line");
            }
            String value = allowableValue(p, s.getValue());
            ValidationResult r = runner.setProperty(p, value);
            if (!r.isValid()) {
                throw new UsageException(invalid(name, p, value, r));
            }
        }
        for (PropertyDescriptor p : processor.getPropertyDescriptors()) {
            if (!p.isSensitive()) {
                continue;
            }
            String variable = environmentVariable(p);
            String value = environment.get(variable);
            if (value != null && !value.isEmpty()) {
                ValidationResult r = runner.setProperty(p, value);
                if (!r.isValid()) {
                    throw new UsageException(name + "'s '" + p.getName() + "' from " + variable + " is invalid: "
                            + r.getExplanation());
                }
            } else if (p.isRequired() && p.getDefaultValue() == null) {
                throw new UsageException(name + " needs '" + p.getName() + "', a sensitive property: set the "
                        + "environment variable " + variable);
            }
        }
        // the whole configuration, as NiFi validates a processor before it may start (customValidate included)
        Collection<ValidationResult> results = ((MockProcessContext) runner.getProcessContext()).validate();
        List<String> problems = new ArrayList<>();
        for (ValidationResult r : results) {
            if (!r.isValid()) {
                problems.add("'" + r.getSubject() + "': " + r.getExplanation());
            }
        }
        if (!problems.isEmpty()) {
            throw new UsageException(name + " is not valid with these settings: " + String.join("; ", problems));
        }
    }

    private static String invalid(String name, PropertyDescriptor p, String value, ValidationResult r) {
        String message = "invalid value '" + value + "' for " + name + "'s '" + p.getName() + "': " + r.getExplanation();
        if (p.getAllowableValues() != null && !p.getAllowableValues().isEmpty()) {
            message += "; valid: " + allowedList(p);
        }
        return message;
    }

    private void describe(String name, Processor processor) {
        out.println(name + " properties (--set \"Name=value\"):");
        for (PropertyDescriptor p : processor.getPropertyDescriptors()) {
            StringBuilder line = new StringBuilder("  ").append(p.getName());
            List<String> notes = new ArrayList<>();
            if (p.isSensitive()) {
                notes.add("sensitive: from $" + environmentVariable(p));
            }
            if (p.getDefaultValue() != null) {
                String display = p.getAllowableValues() == null ? null : p.getAllowableValues().stream()
                        .filter(v -> v.getValue().equals(p.getDefaultValue())).map(AllowableValue::getDisplayName)
                        .findFirst().orElse(null);
                notes.add("default " + (display != null ? display : p.getDefaultValue()));
            }
            if (p.getAllowableValues() != null && !p.getAllowableValues().isEmpty()) {
                notes.add("one of " + allowedList(p));
            }
            if (!notes.isEmpty()) {
                line.append(" (").append(String.join("; ", notes)).append(')');
            }
            out.println(line);
        }
        out.println(name + " relationships: " + processor.getRelationships().stream().map(Relationship::getName)
                .sorted().collect(Collectors.joining(", ")));
    }

    // ---- running ------------------------------------------------------------------------------------------------

    private int process(TestRunner runner, String name, Processor processor, Path input, Path output, int repeat)
            throws UsageException {
        Map<String, String> attributes = new LinkedHashMap<>();
        // what ListFile + FetchFile give a FlowFile in a flow (filename is what Expression Language sees)
        attributes.put(CoreAttributes.FILENAME.key(), input.getFileName().toString());
        attributes.put(CoreAttributes.PATH.key(), "./");
        attributes.put(CoreAttributes.ABSOLUTE_PATH.key(), input.getParent().toString() + "/");
        byte[] content;
        try {
            content = Files.readAllBytes(input);
        } catch (IOException e) {
            throw new UsageException("cannot read INPUT " + input + ": " + e.getMessage());
        }
        // --repeat N: N FlowFiles of the same content one after the other, scheduled once (@OnScheduled once, as a
        // running processor in NiFi); OUTPUT and the sidecar are the last run's
        List<Long> times = new ArrayList<>();
        List<Transferred> transferred = new ArrayList<>();
        Transferred primary = null;
        for (int i = 0; i < repeat; i++) {
            if (i > 0) {
                runner.clearTransferState();
            }
            MockFlowFile in = runner.enqueue(content, attributes);
            String uuid = in.getAttribute(CoreAttributes.UUID.key());
            long t0 = System.nanoTime();
            try {
                runner.run(1, i == repeat - 1, i == 0);
            } catch (Throwable t) {
                err.println("apply: " + name + " failed: " + rootMessage(t));
                return ERROR;
            }
            long wallMs = (System.nanoTime() - t0) / 1_000_000;

            // every FlowFile the processor transferred, by relationship; the one with the input's identity is OUTPUT
            transferred.clear();
            processor.getRelationships().stream().sorted(Comparator.comparing(Relationship::getName)).forEach(rel ->
                    runner.getFlowFilesForRelationship(rel).forEach(f -> transferred.add(new Transferred(rel.getName(), f))));
            if (transferred.isEmpty()) {
                if (runner.getRemovedCount() > 0) {
                    out.println(name + " -> (removed) (" + wallMs + " ms)");
                    return ROUTED_TO_FAILURE;
                }
                List<String> errors = runner.getLogger().getErrorMessages().stream().map(m -> m.getMsg()).toList();
                err.println("apply: " + name + " did not transfer the FlowFile"
                        + (errors.isEmpty() ? "" : ": " + errors.get(errors.size() - 1)));
                return ERROR;
            }
            primary = transferred.stream()
                    .filter(t -> uuid != null && uuid.equals(t.flowFile.getAttribute(CoreAttributes.UUID.key())))
                    .findFirst().orElse(transferred.get(0));
            times.add(stepMillis(primary.flowFile, name, wallMs));
        }
        String timing;
        if (repeat == 1) {
            timing = times.get(0) + " ms";
        } else {
            List<Long> sorted = times.stream().sorted().toList();
            long median = sorted.get(sorted.size() / 2);
            timing = median + " ms median of " + repeat + " runs, first " + times.get(0) + " ms";
        }

        boolean failed = isFailure(primary);
        String reason = reason(primary.flowFile);
        StringBuilder line = new StringBuilder(name).append(" -> ").append(primary.relationship)
                .append(" (").append(timing).append(")");
        if (reason != null && (failed || FAILURE_RELATIONSHIPS.contains(primary.relationship))) {
            line.append(": ").append(reason.replaceAll("\\s*\\R\\s*", " "));
        }
        try {
            write(primary.flowFile, output, name);
            out.println(line);
            int n = 0;
            for (Transferred t : transferred) {
                if (t == primary) {
                    continue;
                }
                Path extra = extraOutput(output, t, ++n);
                write(t.flowFile, extra, name);
                out.println("  + " + t.relationship + " -> " + extra);
            }
        } catch (IOException e) {
            out.println(line);
            err.println("apply: cannot write the output: " + e.getMessage());
            return ERROR;
        }
        return failed ? ROUTED_TO_FAILURE : OK;
    }

    private record Transferred(String relationship, MockFlowFile flowFile) {
    }

    private static boolean isFailure(Transferred t) {
        if (FAILURE_RELATIONSHIPS.contains(t.relationship)) {
            return true;
        }
        return REASON_ATTRIBUTES.stream().anyMatch(a -> t.flowFile.getAttribute(a) != null);
    }

    private static String reason(MockFlowFile f) {
        for (String a : REASON_ATTRIBUTES) {
            String v = f.getAttribute(a);
            if (v != null && !v.isBlank()) {
                return v.strip();
            }
        }
        return f.getAttributes().entrySet().stream()
                .filter(e -> e.getKey().startsWith("medprep.") && e.getKey().endsWith(".reason"))
                .map(e -> e.getValue().strip()).findFirst().orElse(null);
    }

    /** The step's own time from the last medprep.history entry of this processor, else the wall time of the run. */
    private static long stepMillis(MockFlowFile f, String name, long wallMs) {
        String history = f.getAttribute("medprep.history");
        if (history == null) {
            return wallMs;
        }
        try {
            JsonNode steps = JSON.readTree(history);
            for (int i = steps.size() - 1; i >= 0; i--) {
                JsonNode s = steps.get(i);
                if (name.equals(s.path("processor").asText()) && s.has("ms")) {
                    return s.get("ms").asLong();
                }
            }
        } catch (IOException e) {
            // not JSON: fall back to the wall time
        }
        return wallMs;
    }

    private void write(MockFlowFile f, Path output, String name) throws IOException {
        Path parent = output.getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        Files.write(output, f.toByteArray());
        Files.writeString(sidecar(output), sidecarJson(f));
        String produced = f.getAttribute(CoreAttributes.FILENAME.key());
        if (produced != null && !extension(produced).equalsIgnoreCase(extension(output.getFileName().toString()))) {
            err.println("apply: note: " + name + " named its output " + produced + " (its format's extension); "
                    + "written to " + output.getFileName() + " as asked");
        }
    }

    /**
     * The sidecar of an output: the output's path without its extension ({@code .nii.gz} counts as one, as in the
     * flows) plus {@code .json}; an output without extension gets {@code OUTPUT.json}.
     */
    public static Path sidecar(Path output) {
        String file = output.getFileName().toString();
        String stem = file.substring(0, file.length() - extension(file).length());
        return output.resolveSibling(stem + ".json");
    }

    /** ".nii.gz" for a gzipped NIfTI, else the last ".xyz" (not a leading dot), else "". */
    static String extension(String file) {
        String lower = file.toLowerCase(Locale.ROOT);
        if (lower.endsWith(".nii.gz") && lower.length() > ".nii.gz".length()) {
            return file.substring(file.length() - ".nii.gz".length());
        }
        int dot = file.lastIndexOf('.');
        return dot > 0 ? file.substring(dot) : "";
    }

    /** A further FlowFile (e.g. a bias field on its own relationship): OUTPUT-stem-relationship.ext next to OUTPUT. */
    private static Path extraOutput(Path output, Transferred t, int n) {
        String file = output.getFileName().toString();
        String stem = file.substring(0, file.length() - extension(file).length());
        String produced = t.flowFile.getAttribute(CoreAttributes.FILENAME.key());
        String ext = produced != null && !extension(produced).isEmpty() ? extension(produced) : extension(file);
        String rel = t.relationship.replaceAll("[^A-Za-z0-9._]+", "-");
        return output.resolveSibling(stem + "-" + rel + (n > 1 ? "-" + n : "") + ext);
    }

    /**
     * The FlowFile's attributes except NiFi's core attributes and {@link #IDENTIFIERS}, as AttributesToJSON writes them with JSON Handling
     * Strategy NESTED and Pretty Print (a value that, trimmed, starts with '[' and ends with ']' or starts with '{'
     * and ends with '}' is embedded as JSON), keys sorted so that the same step gives the same file.
     */
    static String sidecarJson(MockFlowFile f) throws IOException {
        ObjectNode json = JSON.createObjectNode();
        for (Map.Entry<String, String> e : new TreeMap<>(f.getAttributes()).entrySet()) {
            if (CORE_ATTRIBUTES.contains(e.getKey()) || IDENTIFIERS.contains(e.getKey())) {
                continue;
            }
            String v = e.getValue();
            String t = v == null ? null : v.trim();
            if (t != null && ((t.startsWith("[") && t.endsWith("]")) || (t.startsWith("{") && t.endsWith("}")))) {
                try {
                    json.set(e.getKey(), JSON.readTree(t));
                    continue;
                } catch (IOException notJson) {
                    // AttributesToJSON would route to failure; keep the text
                }
            }
            json.put(e.getKey(), v);
        }
        return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(json);
    }

    private static String rootMessage(Throwable t) {
        Throwable c = t;
        while (c.getCause() != null && c.getCause() != c) {
            c = c.getCause();
        }
        String m = c.getMessage();
        return (m == null ? c.getClass().getSimpleName() : m).lines().findFirst().orElse("").strip();
    }
}
