/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.corpus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medprep.corpus.Mutant.Kind;
import org.medprep.corpus.ProcessorHarness.Outcome;
import org.medprep.corpus.Source.Format;

/**
 * Issue 9's malformed-input corpus in the default test run: {@link CorpusGenerator} makes 2,000+ mutants of real
 * DICOM, JPEG, PNG, TIFF, NIfTI (.nii, .nii.gz) files and series ZIPs with a fixed seed; {@link CorpusProbe} runs
 * every processor on every mutant in a forked JVM with {@code -Xmx256m} and two threads; this side parses its lines
 * and asserts, per (mutant, processor), {@link OutcomeChecks}: nothing thrown (no OutOfMemoryError), exactly one
 * transfer, a readable reason on invalid/failure, at most {@value OutcomeChecks#REFUSAL_MS} ms for a refusal and
 * {@value OutcomeChecks#ANY_MS} ms for anything. The originals must validate and resize (the controls), and no file
 * may appear outside the corpus folder (path-traversal names are never written). Prints a summary; the probe's
 * raw lines are kept in {@code target/malformed-corpus-probe.txt}.
 */
class MalformedCorpusTest {

    static final int THREADS = 2;

    @Test
    void everyProcessorOnEveryMutantIn256MiB(@TempDir Path tmp) throws Exception {
        List<Mutant> corpus = CorpusGenerator.generate(CorpusGenerator.SEED);
        long mutants = corpus.stream().filter(m -> m.kind() != Kind.ORIGINAL).count();
        assertTrue(mutants >= 2000, "only " + mutants + " mutants");
        assertEquals(EnumSet.allOf(Kind.class), corpus.stream().map(Mutant::kind)
                .collect(Collectors.toCollection(() -> EnumSet.noneOf(Kind.class))));
        assertEquals(EnumSet.allOf(Format.class), corpus.stream().map(m -> m.source().format())
                .collect(Collectors.toCollection(() -> EnumSet.noneOf(Format.class))));
        Path dir = Files.createDirectories(tmp.resolve("corpus"));
        CorpusProbe.write(corpus, dir);
        Path cwd = Files.createDirectories(tmp.resolve("w/a/b/c/d"));
        Set<Path> before = files(tmp);

        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = List.of(java, "-Xmx256m", "--enable-native-access=ALL-UNNAMED", "-Dstdout.encoding=UTF-8",
                "-Djava.io.tmpdir=" + cwd, "-cp", System.getProperty("java.class.path") + File.pathSeparator
                        + System.getProperty("surefire.test.class.path", ""),
                CorpusProbe.class.getName(), dir.toString(), Integer.toString(THREADS));
        long t0 = System.nanoTime();
        // stderr apart: native libraries (libpng) write warnings there without a line break
        Path errors = tmp.resolve("probe-stderr.txt");
        Process p = new ProcessBuilder(cmd).directory(cwd.toFile()).redirectError(errors.toFile()).start();
        Map<String, Map<String, Outcome>> outcomes = new HashMap<>();
        List<String> other = new ArrayList<>();
        Path log = Files.createDirectories(Path.of("target")).resolve("malformed-corpus-probe.txt");
        try (java.io.Writer copy = Files.newBufferedWriter(log, StandardCharsets.UTF_8);
             BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(),
                StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null; ) {
                copy.write(line + "\n");
                if (line.startsWith("R\t")) {
                    String[] f = line.split("\t", -1);
                    Outcome o = new Outcome(f[2], f[3], Integer.parseInt(f[4]), Long.parseLong(f[5]),
                            CorpusProbe.unescape(f[6]), CorpusProbe.unescape(f[7]));
                    Outcome twice = outcomes.computeIfAbsent(f[1], k -> new HashMap<>()).put(f[2], o);
                    assertTrue(twice == null, "two results for " + f[1] + " in " + f[2]);
                } else if (!line.startsWith("DONE\t")) {
                    other.add(line);
                }
            }
        }
        assertTrue(p.waitFor(10, TimeUnit.MINUTES), "probe did not finish");
        other.addAll(Files.readAllLines(errors, StandardCharsets.UTF_8).stream().filter(l -> !l.startsWith("libpng "))
                .toList());
        Files.delete(errors);
        long wall = (System.nanoTime() - t0) / 1_000_000;
        String otherText = String.join("\n", other.subList(0, Math.min(other.size(), 200)));
        assertEquals(0, p.exitValue(), "the forked probe failed:\n" + otherText);
        assertTrue(other.stream().noneMatch(l -> l.contains("OutOfMemoryError")), otherText);

        Map<String, Mutant> byId = new HashMap<>();
        corpus.forEach(m -> byId.put(m.id(), m));
        List<String> violations = new ArrayList<>();
        for (Mutant m : corpus) {
            Map<String, Outcome> per = outcomes.getOrDefault(m.id(), Map.of());
            for (String proc : ProcessorHarness.PROCESSORS) {
                Outcome o = per.get(proc);
                if (o == null) {
                    violations.add(m.id() + " / " + proc + ": no result");
                    continue;
                }
                List<String> v = OutcomeChecks.violations(o);
                if (m.kind() == Kind.ORIGINAL) {
                    // the originals are the warm-up: class loading and native libraries count against them
                    v.removeIf(s -> s.startsWith("took "));
                }
                for (String s : v) {
                    violations.add(m.id() + " [" + m.what() + "] / " + proc + ": " + s
                            + (o.reason() == null ? "" : " -- reason: " + CorpusProbe.escape(o.reason())));
                }
            }
            if (m.kind() == Kind.ORIGINAL) {
                String v = per.containsKey("ValidateImage") ? per.get("ValidateImage").relationship() : "none";
                String r = per.containsKey("ResizeWithPadding") ? per.get("ResizeWithPadding").relationship() : "none";
                if (!v.equals("valid") || !r.equals("success")) {
                    violations.add(m.id() + ": the original must be valid and resize, got " + v + " / " + r
                            + " -- " + per.get("ValidateImage").reason());
                }
            }
        }
        Set<Path> created = files(tmp);
        created.removeAll(before);
        created.removeIf(f -> f.startsWith(cwd) && f.getFileName().toString().startsWith("hsperfdata"));

        System.out.println(summary(corpus, outcomes, wall));
        assertTrue(created.isEmpty(), "files appeared: " + created);
        if (!violations.isEmpty()) {
            // grouped by what went wrong (numbers masked), each with its count and first example
            Map<String, List<String>> groups = new java.util.LinkedHashMap<>();
            for (String v : violations) {
                String key = v.substring(v.indexOf(": ") + 2).replaceAll("[0-9]+", "#");
                groups.computeIfAbsent(key, k -> new ArrayList<>()).add(v);
            }
            fail(violations.size() + " violation(s) of " + groups.size() + " kinds:\n" + groups.values().stream()
                    .limit(60).map(g -> g.size() + " x, e.g. " + g.get(0)).collect(Collectors.joining("\n")));
        }
    }

    private static Set<Path> files(Path root) throws Exception {
        try (Stream<Path> s = Files.walk(root)) {
            return s.collect(Collectors.toCollection(java.util.HashSet::new));
        }
    }

    /** Counts per format and kind, per processor and relationship, the slowest runs and the distinct reasons. */
    static String summary(List<Mutant> corpus, Map<String, Map<String, Outcome>> outcomes, long wallMs) {
        StringBuilder b = new StringBuilder("\n== malformed-input corpus (seed " + CorpusGenerator.SEED + ", "
                + THREADS + " threads, -Xmx256m): " + corpus.size() + " inputs, forked run " + wallMs + " ms\n");
        Map<String, Long> perKind = new TreeMap<>();
        for (Mutant m : corpus) {
            perKind.merge(m.source().format() + " " + m.kind().label, 1L, Long::sum);
        }
        Map<String, Long> perFormat = new TreeMap<>();
        Map<String, Long> perKindOnly = new TreeMap<>();
        for (Mutant m : corpus) {
            perFormat.merge(m.source().format().toString(), 1L, Long::sum);
            perKindOnly.merge(m.kind().label, 1L, Long::sum);
        }
        b.append("per format: ").append(perFormat).append('\n');
        b.append("per kind: ").append(perKindOnly).append('\n');
        b.append("per format and kind: ").append(perKind).append('\n');
        Map<String, Map<String, Long>> perRel = new TreeMap<>();
        List<String[]> all = new ArrayList<>();
        Map<String, Long> reasons = new TreeMap<>();
        for (Map.Entry<String, Map<String, Outcome>> e : outcomes.entrySet()) {
            for (Outcome o : e.getValue().values()) {
                perRel.computeIfAbsent(o.processor(), k -> new TreeMap<>()).merge(o.relationship(), 1L, Long::sum);
                all.add(new String[]{Long.toString(o.millis()), e.getKey(), o.processor(), o.relationship()});
                if (o.reason() != null) {
                    reasons.merge(o.reason().replaceAll("-?[0-9][0-9.eE+-]*", "#"), 1L, Long::sum);
                }
            }
        }
        for (String proc : ProcessorHarness.PROCESSORS) {
            b.append(String.format("  %-18s %s%n", proc, perRel.getOrDefault(proc, Map.of())));
        }
        all.sort(Comparator.comparingLong((String[] a) -> Long.parseLong(a[0])).reversed());
        b.append("slowest:\n");
        all.stream().limit(12).forEach(a -> b.append("  ").append(a[0]).append(" ms  ").append(a[2]).append("  ")
                .append(a[3]).append("  ").append(a[1]).append('\n'));
        long distinct = outcomes.values().stream().flatMap(m -> m.values().stream()).map(Outcome::reason)
                .filter(r -> r != null).distinct().count();
        b.append("distinct reasons: ").append(distinct).append(" (").append(reasons.size())
                .append(" with numbers masked); most frequent:\n");
        reasons.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed()).limit(25)
                .forEach(e -> b.append(String.format("  %6d  %s%n", e.getValue(),
                        e.getKey().length() > 160 ? e.getKey().substring(0, 160) + "..." : e.getKey())));
        return b.toString();
    }
}
