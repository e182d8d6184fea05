/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.corpus;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.medprep.corpus.ProcessorHarness.Outcome;

/**
 * The forked side of {@link MalformedCorpusTest}: reads a corpus folder ({@code index.tsv} and one {@code <n>.bin}
 * per input, as {@link #write} made it), runs every processor on every input with {@link ProcessorHarness} and
 * prints one line per (input, processor):
 * {@code R <tab> id <tab> processor <tab> relationship <tab> transfers <tab> ms <tab> reason <tab> error}, reason and
 * error {@link #escape escaped}. The originals run first on one thread (the warm-up: class loading, native
 * libraries, JIT), then the mutants on {@code threads} threads, each with its own harness, and last the zip bombs
 * one at a time: {@link org.medprep.io.ReadLimits} budgets each read against the whole heap, so two bombs read at
 * once may together exceed it (a known limit, docs/reliability.md). Ends with {@code DONE <tab> ms}.
 *
 * <p>Usage: {@code CorpusProbe CORPUS_DIR THREADS}
 */
public final class CorpusProbe {

    private CorpusProbe() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int threads = Integer.parseInt(args[1]);
        long t0 = System.nanoTime();
        List<String[]> index = new ArrayList<>();
        for (String line : Files.readAllLines(dir.resolve("index.tsv"), StandardCharsets.UTF_8)) {
            index.add(line.split("\t", -1));
        }
        ProcessorHarness warm = new ProcessorHarness();
        List<String[]> mutants = new ArrayList<>();
        List<String[]> bombs = new ArrayList<>();
        for (String[] row : index) {
            if (row[3].equals(Mutant.Kind.ZIP_BOMB.label)) {
                bombs.add(row);
            } else if (row[3].equals(Mutant.Kind.ORIGINAL.label)) {
                print(row[1], warm.run(row[1], Files.readAllBytes(dir.resolve(row[0] + ".bin"))));
            } else {
                mutants.add(row);
            }
        }
        ThreadLocal<ProcessorHarness> harness = ThreadLocal.withInitial(ProcessorHarness::new);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        List<Future<?>> done = new ArrayList<>();
        for (String[] row : mutants) {
            done.add(pool.submit(() -> {
                byte[] content = Files.readAllBytes(dir.resolve(row[0] + ".bin"));
                print(row[1], harness.get().run(row[1], content));
                return null;
            }));
        }
        for (Future<?> f : done) {
            f.get();
        }
        pool.shutdown();
        for (String[] row : bombs) {
            print(row[1], warm.run(row[1], Files.readAllBytes(dir.resolve(row[0] + ".bin"))));
        }
        System.out.println("DONE\t" + (System.nanoTime() - t0) / 1_000_000);
        System.out.flush();
        System.exit(0);
    }

    private static void print(String id, List<Outcome> outcomes) {
        StringBuilder b = new StringBuilder();
        for (Outcome o : outcomes) {
            b.append("R\t").append(id).append('\t').append(o.processor()).append('\t').append(o.relationship())
                    .append('\t').append(o.transfers()).append('\t').append(o.millis()).append('\t')
                    .append(escape(o.reason())).append('\t').append(escape(o.error())).append('\n');
        }
        synchronized (System.out) {
            System.out.print(b);
            System.out.flush();
        }
    }

    /** Writes a corpus folder the probe reads: {@code <n>.bin} per mutant and {@code index.tsv}. */
    public static void write(List<Mutant> corpus, Path dir) throws IOException {
        StringBuilder index = new StringBuilder();
        for (int i = 0; i < corpus.size(); i++) {
            Mutant m = corpus.get(i);
            Files.write(dir.resolve(i + ".bin"), m.bytes());
            index.append(i).append('\t').append(m.id()).append('\t').append(m.source().format()).append('\t')
                    .append(m.kind().label).append('\t').append(escape(m.what())).append('\n');
        }
        Files.writeString(dir.resolve("index.tsv"), index, StandardCharsets.UTF_8);
    }

    /** Null as "-"; backslash, tab, line breaks and other control characters as \\uXXXX escapes. */
    public static String escape(String s) {
        if (s == null) {
            return "-";
        }
        StringBuilder b = new StringBuilder();
        for (char c : s.toCharArray()) {
            if (c == '\\' || c < 0x20 || c == 0x7F || c == '-' && b.isEmpty() && s.length() == 1) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    /** The inverse of {@link #escape}. */
    public static String unescape(String s) {
        if (s.equals("-")) {
            return null;
        }
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 5 < s.length() + 0 && s.charAt(i + 1) == 'u') {
                b.append((char) Integer.parseInt(s.substring(i + 2, i + 6), 16));
                i += 5;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }
}
