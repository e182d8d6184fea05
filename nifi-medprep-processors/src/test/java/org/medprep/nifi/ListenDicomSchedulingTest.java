/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.nifi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.nifi.util.MockFlowFile;
import org.apache.nifi.util.TestRunner;
import org.apache.nifi.util.TestRunners;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.medprep.net.StoreScp;
import org.medprep.testutil.RealFiles;

/**
 * How ListenDICOM's trigger takes received instances, driven through the same entry point the DICOM association
 * threads use ({@code awaitCommit}, which blocks until the instance's session committed). nifi-mock ignores
 * {@code context.yield()}, which a real NiFi honours for the processor's Yield Duration (1 s): a trigger that
 * yields while a sender is about to send paces that sender at one instance per second, so these tests look at
 * whether the trigger yielded, not only at what it transferred.
 */
class ListenDicomSchedulingTest {

    private TestRunner runner;
    private ListenDICOM listener;
    private StoreScp.Instance instance;

    @BeforeEach
    void start() throws IOException {
        runner = TestRunners.newTestRunner(ListenDICOM.class);
        try (ServerSocket s = new ServerSocket(0)) {
            runner.setProperty(ListenDICOM.PORT, Integer.toString(s.getLocalPort()));
        }
        listener = (ListenDICOM) runner.getProcessor();
        instance = new StoreScp.Instance(Files.readAllBytes(RealFiles.pydicom("CT_small.dcm")),
                "1.2.840.10008.5.1.4.1.1.2", "1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322",
                "1.2.840.10008.1.2.1", "MODALITY1", "MEDPREP", "127.0.0.1", 104);
    }

    @AfterEach
    void stop() {
        runner.stop();
    }

    /** An instance that arrives while the trigger runs is taken by that trigger; the trigger does not yield. */
    @Test
    void aTriggerWaitsForAnInstanceInsteadOfYielding() throws Exception {
        CompletableFuture<Integer> status = CompletableFuture.supplyAsync(() -> {
            // as a sender's next C-STORE: it arrives just after the trigger found nothing waiting
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (listener.listeningPort() < 0 && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            sleep(20);
            return listener.awaitCommit(instance);
        });
        runner.run(1, false, true); // @OnScheduled (listening), then one trigger
        assertEquals(StoreScp.SUCCESS, status.get(10, TimeUnit.SECONDS));
        runner.assertAllFlowFilesTransferred(ListenDICOM.REL_SUCCESS, 1);
        assertFalse(runner.isYieldCalled(), "the trigger yielded although an instance arrived within "
                + ListenDICOM.POLL_WAIT_MILLIS + " ms");
    }

    /** Instances waiting when a trigger runs go into its one session, and one commit acknowledges them all. */
    @Test
    void aTriggerTakesEveryWaitingInstanceIntoOneSession() throws Exception {
        runner.run(1, false, true); // listening; nothing to take yet
        List<CompletableFuture<Integer>> senders = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            senders.add(CompletableFuture.supplyAsync(() -> listener.awaitCommit(instance)));
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (listener.waitingInstances() < 3 && System.nanoTime() < deadline) {
            sleep(5);
        }
        assertEquals(3, listener.waitingInstances(), "the three senders' instances are not waiting");
        assertTrue(senders.stream().noneMatch(CompletableFuture::isDone), "acknowledged before any session took it");
        runner.run(1, false, false); // one trigger
        for (CompletableFuture<Integer> s : senders) {
            assertEquals(StoreScp.SUCCESS, s.get(10, TimeUnit.SECONDS));
        }
        runner.assertAllFlowFilesTransferred(ListenDICOM.REL_SUCCESS, 3);
        for (MockFlowFile ff : runner.getFlowFilesForRelationship(ListenDICOM.REL_SUCCESS)) {
            ff.assertContentEquals(instance.part10());
        }
        assertEquals(3, runner.getProvenanceEvents().size());
        assertEquals(0, listener.waitingInstances());
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
