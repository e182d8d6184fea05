/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.bench;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.nifi.util.MockFlowFile;
import org.apache.nifi.util.TestRunner;
import org.apache.nifi.util.TestRunners;
import org.medprep.nifi.ListenDICOM;

/**
 * Load on ListenDICOM: {@code instances} distinct instances (copies of pydicom's CT_small.dcm, each given a new SOP
 * Instance UID by dcmtk's {@code dcmodify -gin}) sent by {@code senders} concurrent dcmtk {@code storescu}
 * processes, one association each, while ListenDICOM (nifi-mock) turns them into FlowFiles. Counts FlowFiles and
 * distinct SOP Instance UIDs against what was sent and the senders' exit codes.
 *
 * <p>{@code DicomNetworkTest} runs it with 200 instances and 4 senders. The figure of docs/benchmarks.md:
 * <pre>
 * java -cp nifi-medprep-processors/target/classes:nifi-medprep-processors/target/test-classes:$(cat work/cp.txt) \
 *   org.medprep.bench.ListenDicomLoad [instances=2000] [senders=4] [runs=3]
 * </pre>
 * prints, per run, one JSON line for ListenDICOM and one for the reference, dcmtk's {@code storescp --fork} receiving
 * the same instances from the same senders: instances, senders, FlowFiles (files written by storescp), distinct UIDs,
 * failed senders, seconds, instances/s.
 */
public final class ListenDicomLoad {

    /** What one run gave. */
    public record Result(int instances, int senders, int flowFiles, int distinctUids, int failedSenders,
                         double seconds) {
        public String json() {
            return String.format("{\"instances\": %d, \"senders\": %d, \"flowfiles\": %d, \"distinct_uids\": %d, "
                    + "\"failed_senders\": %d, \"seconds\": %.2f, \"instances_per_s\": %.1f}", instances, senders,
                    flowFiles, distinctUids, failedSenders, seconds, instances / seconds);
        }
    }

    private ListenDicomLoad() {
    }

    /** Prepares the instances in {@code work} and sends them; the listener is a fresh ListenDICOM. */
    public static Result run(Path work, Path source, int instances, int senders) throws Exception {
        List<List<String>> batches = prepare(work, source, instances, senders);
        TestRunner listener = TestRunners.newTestRunner(ListenDICOM.class);
        int port = freePort();
        listener.setProperty(ListenDICOM.PORT, Integer.toString(port));
        listener.run(1, false, true);
        long start = System.nanoTime();
        List<Process> processes = send(work, batches, port, "MEDPREP");
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(10);
        while (processes.stream().anyMatch(Process::isAlive) && System.nanoTime() < deadline) {
            listener.run(1, false, false);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        int failed = failed(processes);
        listener.run(1, true, false);
        List<MockFlowFile> out = listener.getFlowFilesForRelationship(ListenDICOM.REL_SUCCESS);
        Set<String> uids = new HashSet<>();
        out.forEach(f -> uids.add(f.getAttribute("dicom.sop.instance.uid")));
        return new Result(instances, senders, out.size(), uids.size(), failed, seconds);
    }

    /**
     * The reference: the same instances and senders against dcmtk's storescp ({@code --fork}: one process per
     * association, each instance written to disk); "flowfiles" counts the files it wrote.
     */
    public static Result runStorescp(Path work, Path source, int instances, int senders) throws Exception {
        List<List<String>> batches = prepare(work, source, instances, senders);
        Path out = Files.createDirectories(work.resolve("storescp"));
        int port = freePort();
        Process scp = new ProcessBuilder("/usr/bin/storescp", "--fork", "-aet", "STORESCP", "-od", out.toString(),
                Integer.toString(port)).redirectErrorStream(true).redirectOutput(work.resolve("storescp.log").toFile())
                .start();
        try {
            Thread.sleep(500);
            long start = System.nanoTime();
            List<Process> processes = send(work, batches, port, "STORESCP");
            for (Process p : processes) {
                p.waitFor(10, TimeUnit.MINUTES);
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            int written;
            try (var files = Files.list(out)) {
                written = (int) files.count();
            }
            return new Result(instances, senders, written, written, failed(processes), seconds);
        } finally {
            scp.destroyForcibly();
        }
    }

    private static List<List<String>> prepare(Path work, Path source, int instances, int senders) throws Exception {
        List<List<String>> batches = new ArrayList<>();
        for (int s = 0; s < senders; s++) {
            batches.add(new ArrayList<>());
        }
        Path dir = Files.createDirectories(work.resolve("instances"));
        List<String> all = new ArrayList<>();
        for (int i = 0; i < instances; i++) {
            Path f = dir.resolve("i" + i + ".dcm");
            Files.copy(source, f, StandardCopyOption.REPLACE_EXISTING);
            all.add(f.toString());
            batches.get(i % senders).add(f.toString());
        }
        for (int from = 0; from < all.size(); from += 500) {
            List<String> cmd = new ArrayList<>(List.of("/usr/bin/dcmodify", "-nb", "-gin"));
            cmd.addAll(all.subList(from, Math.min(all.size(), from + 500)));
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            if (p.waitFor() != 0) {
                throw new IOException("dcmodify failed: " + out);
            }
        }
        return batches;
    }

    private static List<Process> send(Path work, List<List<String>> batches, int port, String calledAe)
            throws IOException {
        List<Process> processes = new ArrayList<>();
        for (List<String> batch : batches) {
            List<String> cmd = new ArrayList<>(List.of("/usr/bin/storescu", "-aet", "SENDER", "-aec", calledAe,
                    "127.0.0.1", Integer.toString(port)));
            cmd.addAll(batch);
            processes.add(new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(work.resolve("storescu-" + calledAe + "-" + processes.size() + ".log").toFile())
                    .start());
        }
        return processes;
    }

    private static int failed(List<Process> processes) throws InterruptedException {
        int failed = 0;
        for (Process p : processes) {
            if (!p.waitFor(5, TimeUnit.SECONDS) || p.exitValue() != 0) {
                failed++;
            }
        }
        return failed;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    public static void main(String[] args) throws Exception {
        int instances = args.length > 0 ? Integer.parseInt(args[0]) : 2000;
        int senders = args.length > 1 ? Integer.parseInt(args[1]) : 4;
        int runs = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        Path source = Path.of("/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm");
        for (int r = 0; r < runs; r++) {
            System.out.println("{\"receiver\": \"ListenDICOM\", \"run\": " + r + ", \"result\": "
                    + run(Files.createTempDirectory("listen-dicom-load"), source, instances, senders).json() + "}");
            System.out.println("{\"receiver\": \"storescp --fork\", \"run\": " + r + ", \"result\": "
                    + runStorescp(Files.createTempDirectory("storescp-load"), source, instances, senders).json() + "}");
        }
        System.exit(0);
    }
}
