/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.nifi.components.PropertyDescriptor;
import org.apache.nifi.components.PropertyValue;
import org.apache.nifi.flow.Position;
import org.apache.nifi.flow.VersionedProcessGroup;
import org.apache.nifi.flow.VersionedProcessor;
import org.apache.nifi.logging.ComponentLog;
import org.apache.nifi.registry.flow.BucketLocation;
import org.apache.nifi.registry.flow.FlowAlreadyExistsException;
import org.apache.nifi.registry.flow.FlowLocation;
import org.apache.nifi.registry.flow.FlowRegistryBranch;
import org.apache.nifi.registry.flow.FlowRegistryBucket;
import org.apache.nifi.registry.flow.FlowRegistryClientConfigurationContext;
import org.apache.nifi.registry.flow.FlowRegistryClientInitializationContext;
import org.apache.nifi.registry.flow.FlowRegistryException;
import org.apache.nifi.registry.flow.FlowVersionLocation;
import org.apache.nifi.registry.flow.NoSuchFlowException;
import org.apache.nifi.registry.flow.NoSuchFlowVersionException;
import org.apache.nifi.registry.flow.RegisterAction;
import org.apache.nifi.registry.flow.RegisteredFlow;
import org.apache.nifi.registry.flow.RegisteredFlowSnapshot;
import org.apache.nifi.registry.flow.RegisteredFlowSnapshotMetadata;
import org.apache.nifi.util.MockComponentLog;
import org.apache.nifi.util.MockPropertyValue;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.revwalk.RevCommit;
import org.eclipse.jgit.revwalk.RevWalk;
import org.eclipse.jgit.storage.file.FileRepositoryBuilder;
import org.eclipse.jgit.treewalk.TreeWalk;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLContext;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The client against temporary Git repositories made with JGit: local bare and non-bare repositories, and a
 * bare "remote" reached through a file:// URL.
 */
class GitFlowRegistryClientTest {

    /** This repository's flows/ (the tests run in the module directory). */
    private static final Path FLOWS = Path.of("..", "flows").toAbsolutePath().normalize();
    private static final List<String> MEDPREP_FLOWS = List.of("chest-xray", "ct", "mri", "hospital-feed");

    @TempDir
    Path tmp;

    private final List<GitFlowRegistryClient> clients = new ArrayList<>();

    @AfterEach
    void closeClients() {
        // property changes close the cached repository
        clients.forEach(c -> c.onPropertyModified(GitFlowRegistryClient.REPOSITORY, "x", "y"));
    }

    // ---- helpers ----------------------------------------------------------------------------------------------

    static final class Context implements FlowRegistryClientConfigurationContext {
        final Map<PropertyDescriptor, String> values = new HashMap<>();
        String user;

        @Override
        public PropertyValue getProperty(PropertyDescriptor descriptor) {
            return new MockPropertyValue(values.getOrDefault(descriptor, descriptor.getDefaultValue()));
        }

        @Override
        public Map<String, String> getAllProperties() {
            Map<String, String> all = new HashMap<>();
            values.forEach((k, v) -> all.put(k.getName(), v));
            return all;
        }

        @Override
        public Optional<String> getNiFiUserIdentity() {
            return Optional.ofNullable(user);
        }
    }

    private GitFlowRegistryClient client(String id) {
        GitFlowRegistryClient client = new GitFlowRegistryClient();
        client.initialize(new FlowRegistryClientInitializationContext() {
            @Override
            public String getIdentifier() {
                return id;
            }

            @Override
            public ComponentLog getLogger() {
                return new MockComponentLog(id, client);
            }

            @Override
            public Optional<SSLContext> getSystemSslContext() {
                return Optional.empty();
            }
        });
        clients.add(client);
        return client;
    }

    private static Context context(String repository) {
        Context c = new Context();
        c.values.put(GitFlowRegistryClient.REPOSITORY, repository);
        return c;
    }

    private File bareRepo(String name) throws Exception {
        File dir = tmp.resolve(name).toFile();
        Git.init().setBare(true).setInitialBranch("main").setDirectory(dir).call().close();
        return dir;
    }

    /** A small flow: a group with one processor. */
    private static RegisteredFlowSnapshot snapshot(String branch, String bucket, String flow, String version,
                                                   String processorName, String comments) {
        VersionedProcessor p = new VersionedProcessor();
        p.setIdentifier("proc-1");
        p.setName(processorName);
        p.setType("org.apache.nifi.processors.standard.GenerateFlowFile");
        p.setPosition(new Position(10, 20));
        p.setProperties(new HashMap<>(Map.of("File Size", "1 B")));
        p.setGroupIdentifier("group-1");
        VersionedProcessGroup group = new VersionedProcessGroup();
        group.setIdentifier("group-1");
        group.setName(flow);
        group.setPosition(new Position(345, 678));
        group.setProcessors(new HashSet<>(Set.of(p)));
        RegisteredFlowSnapshotMetadata meta = new RegisteredFlowSnapshotMetadata();
        meta.setBranch(branch);
        meta.setBucketIdentifier(bucket);
        meta.setFlowIdentifier(flow);
        meta.setVersion(version);
        meta.setComments(comments);
        RegisteredFlowSnapshot s = new RegisteredFlowSnapshot();
        s.setSnapshotMetadata(meta);
        s.setFlowContents(group);
        s.setExternalControllerServices(new HashMap<>());
        s.setParameterContexts(new HashMap<>());
        s.setParameterProviders(new HashMap<>());
        s.setFlowEncodingVersion("1.0");
        return s;
    }

    private static String processorName(RegisteredFlowSnapshot s) {
        return s.getFlowContents().getProcessors().iterator().next().getName();
    }

    private static byte[] fileAt(File gitDir, String rev, String path) throws IOException {
        try (Repository repo = new FileRepositoryBuilder().setGitDir(gitDir).build(); RevWalk rw = new RevWalk(repo)) {
            ObjectId id = repo.resolve(rev);
            assertNotNull(id, rev + " in " + gitDir);
            try (TreeWalk tw = TreeWalk.forPath(repo, path, rw.parseCommit(id).getTree())) {
                assertNotNull(tw, path + " at " + rev);
                return repo.open(tw.getObjectId(0)).getBytes();
            }
        }
    }

    private static ObjectId ref(File gitDir, String ref) throws IOException {
        try (Repository repo = new FileRepositoryBuilder().setGitDir(gitDir).build()) {
            return repo.resolve(ref);
        }
    }

    private static List<String> versions(GitFlowRegistryClient client, Context ctx, String branch, String bucket,
                                         String flow) throws Exception {
        return client.getFlowVersions(ctx, new FlowLocation(branch, bucket, flow)).stream()
                .map(RegisteredFlowSnapshotMetadata::getVersion).collect(Collectors.toList());
    }

    // ---- tests ------------------------------------------------------------------------------------------------

    @Test
    void createsBucketAndFlowSavesVersionsAndReadsEachBack() throws Exception {
        File repo = bareRepo("flows.git");
        GitFlowRegistryClient client = client("c1");
        Context ctx = context(repo.getPath());
        ctx.values.put(GitFlowRegistryClient.AUTHOR_NAME, "Test Bot");
        ctx.values.put(GitFlowRegistryClient.AUTHOR_EMAIL, "bot@example.org");

        // an empty repository: the default branch is offered, and one placeholder bucket
        assertEquals(Set.of("main"), names(client.getBranches(ctx)));
        assertEquals(Set.of("default"), client.getBuckets(ctx, "main").stream()
                .map(FlowRegistryBucket::getIdentifier).collect(Collectors.toSet()));

        RegisteredFlow flow = new RegisteredFlow();
        flow.setIdentifier(client.generateFlowId("xray demo"));
        flow.setBucketIdentifier("medprep");
        flow.setBranch("main");
        assertEquals("xray-demo", flow.getIdentifier());
        client.registerFlow(ctx, flow);
        assertEquals(null, ref(repo, "refs/heads/main"), "registering a flow commits nothing");

        RegisteredFlowSnapshot first = client.registerFlowSnapshot(ctx,
                snapshot("main", "medprep", "xray-demo", null, "Generate", "first version"), RegisterAction.COMMIT);
        String v1 = first.getSnapshotMetadata().getVersion();
        assertEquals(ref(repo, "refs/heads/main").getName(), v1);
        assertTrue(first.isLatest());
        assertEquals(new Position(345, 678).getX(), first.getFlowContents().getPosition().getX(),
                "the returned snapshot keeps the group's position");
        assertEquals(v1, first.getFlowContents().getVersionedFlowCoordinates().getVersion());

        RegisteredFlowSnapshot second = client.registerFlowSnapshot(ctx,
                snapshot("main", "medprep", "xray-demo", v1, "Generate renamed", "second version"), RegisterAction.COMMIT);
        String v2 = second.getSnapshotMetadata().getVersion();
        assertNotEquals(v1, v2);

        // the file in git: flows/medprep/xray-demo.json, a flow definition with the group at (0, 0)
        JsonNode stored = new ObjectMapper().readTree(fileAt(repo, v2, "flows/medprep/xray-demo.json"));
        assertEquals("Generate renamed", stored.at("/flowContents/processors/0/name").asText());
        assertEquals(0.0, stored.at("/flowContents/position/x").asDouble());
        assertFalse(stored.has("snapshotMetadata"), "commit metadata stays in the commit, not in the file");
        try (Git git = Git.open(repo)) {
            RevCommit head = git.log().setMaxCount(1).call().iterator().next();
            assertEquals("second version", head.getFullMessage().strip());
            assertEquals("Test Bot", head.getAuthorIdent().getName());
            assertEquals(1, head.getParentCount());
            assertEquals(v1, head.getParent(0).getName());
        }

        assertEquals(List.of(v2, v1), versions(client, ctx, "main", "medprep", "xray-demo"));
        RegisteredFlowSnapshotMetadata m1 = client.getFlowVersions(ctx, new FlowLocation("main", "medprep", "xray-demo"))
                .stream().filter(m -> m.getVersion().equals(v1)).findFirst().orElseThrow();
        assertEquals("first version", m1.getComments());
        assertEquals("Test Bot", m1.getAuthor());
        assertTrue(m1.getTimestamp() > 0);

        RegisteredFlowSnapshot read1 = client.getFlowContents(ctx, new FlowVersionLocation("main", "medprep", "xray-demo", v1));
        RegisteredFlowSnapshot read2 = client.getFlowContents(ctx, new FlowVersionLocation("main", "medprep", "xray-demo", v2));
        assertEquals("Generate", processorName(read1));
        assertEquals("Generate renamed", processorName(read2));
        assertFalse(read1.isLatest());
        assertTrue(read2.isLatest());
        assertEquals(v1, read1.getSnapshotMetadata().getVersion());
        assertEquals("medprep", read1.getBucket().getIdentifier());
        assertEquals("xray-demo", read1.getFlow().getIdentifier());
        assertEquals(Optional.of(v2), client.getLatestVersion(ctx, new FlowLocation("main", "medprep", "xray-demo")));

        assertEquals(Set.of("medprep"), client.getBuckets(ctx, "main").stream()
                .map(FlowRegistryBucket::getIdentifier).collect(Collectors.toSet()));
        assertEquals(Set.of("xray-demo"), client.getFlows(ctx, new BucketLocation("main", "medprep")).stream()
                .map(RegisteredFlow::getIdentifier).collect(Collectors.toSet()));
        RegisteredFlow got = client.getFlow(ctx, new FlowLocation("main", "medprep", "xray-demo"));
        assertEquals(2, got.getVersionCount());

        // registering the same id again is refused; an unchanged snapshot makes no empty commit
        RegisteredFlow again = new RegisteredFlow();
        again.setIdentifier("xray-demo");
        again.setBucketIdentifier("medprep");
        again.setBranch("main");
        assertThrows(FlowAlreadyExistsException.class, () -> client.registerFlow(ctx, again));
        RegisteredFlowSnapshot same = client.registerFlowSnapshot(ctx,
                snapshot("main", "medprep", "xray-demo", v2, "Generate renamed", "no change"), RegisterAction.COMMIT);
        assertEquals(v2, same.getSnapshotMetadata().getVersion());
        assertEquals(v2, ref(repo, "refs/heads/main").getName());

        assertThrows(NoSuchFlowVersionException.class, () -> client.getFlowContents(ctx,
                new FlowVersionLocation("main", "medprep", "xray-demo", "0123456789abcdef0123456789abcdef01234567")));
        assertThrows(NoSuchFlowException.class, () -> client.getFlow(ctx, new FlowLocation("main", "medprep", "nope")));
    }

    @Test
    void staleCommitIsRefusedAndForceCommitOverrides() throws Exception {
        File repo = bareRepo("stale.git");
        GitFlowRegistryClient client = client("c2");
        Context ctx = context(repo.getPath());
        String v1 = client.registerFlowSnapshot(ctx, snapshot("main", "b", "f", null, "one", "v1"),
                RegisterAction.COMMIT).getSnapshotMetadata().getVersion();
        String v2 = client.registerFlowSnapshot(ctx, snapshot("main", "b", "f", v1, "two", "v2"),
                RegisterAction.COMMIT).getSnapshotMetadata().getVersion();

        // a second NiFi still at v1 commits: refused, nothing written
        FlowRegistryException stale = assertThrows(FlowRegistryException.class, () -> client.registerFlowSnapshot(ctx,
                snapshot("main", "b", "f", v1, "three", "based on v1"), RegisterAction.COMMIT));
        assertTrue(stale.getMessage().contains(v2), stale.getMessage());
        assertEquals(v2, ref(repo, "refs/heads/main").getName());
        // a first commit of a flow whose file exists is stale too
        assertThrows(FlowRegistryException.class, () -> client.registerFlowSnapshot(ctx,
                snapshot("main", "b", "f", null, "three", "new"), RegisterAction.COMMIT));

        String v3 = client.registerFlowSnapshot(ctx, snapshot("main", "b", "f", v1, "three", "forced"),
                RegisterAction.FORCE_COMMIT).getSnapshotMetadata().getVersion();
        assertEquals(List.of(v3, v2, v1), versions(client, ctx, "main", "b", "f"));
        try (Git git = Git.open(repo)) {
            RevCommit head = git.log().setMaxCount(1).call().iterator().next();
            assertEquals(v2, head.getParent(0).getName(), "a forced commit goes on top of the latest version");
        }
        assertEquals("three", processorName(client.getFlowContents(ctx, new FlowVersionLocation("main", "b", "f", v3))));
    }

    @Test
    void branchesAreGitBranches() throws Exception {
        File repo = bareRepo("branches.git");
        GitFlowRegistryClient client = client("c3");
        Context ctx = context(repo.getPath());
        String v1 = client.registerFlowSnapshot(ctx, snapshot("main", "b", "f", null, "main one", "v1"),
                RegisterAction.COMMIT).getSnapshotMetadata().getVersion();
        try (Git git = Git.open(repo)) {
            git.branchCreate().setName("dev").setStartPoint(v1).call();
        }
        assertEquals(Set.of("main", "dev"), names(client.getBranches(ctx)));
        assertEquals("main", client.getDefaultBranch(ctx).getName());

        String d2 = client.registerFlowSnapshot(ctx, snapshot("dev", "b", "f", v1, "dev two", "on dev"),
                RegisterAction.COMMIT).getSnapshotMetadata().getVersion();
        assertEquals(List.of(d2, v1), versions(client, ctx, "dev", "b", "f"));
        assertEquals(List.of(v1), versions(client, ctx, "main", "b", "f"));
        assertEquals("dev two", processorName(client.getFlowContents(ctx, new FlowVersionLocation("dev", "b", "f", d2))));
        assertEquals("main one", processorName(client.getFlowContents(ctx, new FlowVersionLocation("main", "b", "f", null))));
        assertEquals(v1, ref(repo, "refs/heads/main").getName());
        assertEquals(d2, ref(repo, "refs/heads/dev").getName());

        // a branch that does not exist in a repository that has branches is not created behind the user's back
        assertThrows(FlowRegistryException.class, () -> client.registerFlowSnapshot(ctx,
                snapshot("nope", "b", "f", null, "x", "x"), RegisterAction.COMMIT));
        // a different Repository Path is another set of buckets
        ctx.values.put(GitFlowRegistryClient.REPOSITORY_PATH, ".");
        assertEquals(Set.of("flows"), client.getBuckets(ctx, "main").stream()
                .map(FlowRegistryBucket::getIdentifier).collect(Collectors.toSet()));
    }

    @Test
    void neverCommitsToTheCheckedOutBranchOfAWorkTree() throws Exception {
        File work = tmp.resolve("work").toFile();
        try (Git git = Git.init().setInitialBranch("main").setDirectory(work).call()) {
            Files.writeString(work.toPath().resolve("README"), "hello\n");
            git.add().addFilepattern("README").call();
            git.commit().setMessage("init").setAuthor("a", "a@b").setCommitter("a", "a@b").call();
            git.branchCreate().setName("nifi-flows").call();
        }
        GitFlowRegistryClient client = client("c4");
        Context ctx = context(work.getPath());
        ObjectId mainBefore = ref(new File(work, ".git"), "refs/heads/main");
        IOException refused = assertThrows(IOException.class, () -> client.registerFlowSnapshot(ctx,
                snapshot("main", "b", "f", null, "x", "x"), RegisterAction.COMMIT));
        assertTrue(refused.getMessage().contains("checked out"), refused.getMessage());
        assertEquals(mainBefore, ref(new File(work, ".git"), "refs/heads/main"));

        String v1 = client.registerFlowSnapshot(ctx, snapshot("nifi-flows", "b", "f", null, "x", "on a flows branch"),
                RegisterAction.COMMIT).getSnapshotMetadata().getVersion();
        assertEquals(v1, ref(new File(work, ".git"), "refs/heads/nifi-flows").getName());
        try (Git git = Git.open(work)) {
            assertTrue(git.status().call().isClean(), "the work tree is untouched");
            assertEquals("main", git.getRepository().getBranch());
        }
        assertFalse(Files.exists(work.toPath().resolve("flows")), "nothing written into the work tree");

        // a linked work tree with nifi-flows checked out protects that branch too
        File linked = tmp.resolve("linked").toFile();
        Process p = new ProcessBuilder("git", "-C", work.getPath(), "worktree", "add", linked.getPath(), "nifi-flows")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() == 0) {
            assertEquals(Set.of("main", "nifi-flows"), GitFlowRepository.checkedOutBranches(work));
            assertThrows(IOException.class, () -> client.registerFlowSnapshot(ctx,
                    snapshot("nifi-flows", "b", "f", v1, "y", "y"), RegisterAction.COMMIT));
            // the linked work tree itself names the same repository
            assertEquals(GitFlowRepository.commonGitDir(work), GitFlowRepository.commonGitDir(linked));
        } else {
            System.err.println("git worktree add failed (git CLI missing?), linked work tree case skipped: " + out);
        }
    }

    @Test
    void remoteThroughFileUrlClonesFetchesAndPushes() throws Exception {
        File origin = bareRepo("origin.git");
        // seed the remote with this repository's chest-xray flow, committed by another client
        GitFlowRegistryClient seeder = client("seed");
        Context seedCtx = context(origin.getPath());
        RegisteredFlowSnapshot xray = new FlowSnapshotJson().read(Files.readAllBytes(FLOWS.resolve("medprep/chest-xray.json")));
        xray.setSnapshotMetadata(snapshot("main", "medprep", "chest-xray", null, "x", "seed").getSnapshotMetadata());
        String v1 = seeder.registerFlowSnapshot(seedCtx, xray, RegisterAction.COMMIT).getSnapshotMetadata().getVersion();

        String url = origin.toURI().toString(); // file:/... ; JGit takes file:/// and file:/ alike
        assertTrue(url.startsWith("file:"));
        GitFlowRegistryClient a = client("a");
        Context ctxA = context(url.replaceFirst("^file:/+", "file:///"));
        ctxA.values.put(GitFlowRegistryClient.CLONE_DIRECTORY, tmp.resolve("clone-a").toString());
        GitFlowRegistryClient b = client("b");
        Context ctxB = context(url.replaceFirst("^file:/+", "file:///"));
        ctxB.values.put(GitFlowRegistryClient.CLONE_DIRECTORY, tmp.resolve("clone-b").toString());

        assertEquals(List.of(v1), versions(a, ctxA, "main", "medprep", "chest-xray"));
        assertTrue(Files.isDirectory(tmp.resolve("clone-a").resolve("objects")), "a bare cache clone");
        RegisteredFlowSnapshot readA = a.getFlowContents(ctxA, new FlowVersionLocation("main", "medprep", "chest-xray", v1));
        assertEquals("chest-xray", readA.getFlowContents().getName());

        // a commits: pushed to origin
        readA.getFlowContents().setComments("changed by a");
        readA.getSnapshotMetadata().setComments("a: comments");
        String v2 = a.registerFlowSnapshot(ctxA, readA, RegisterAction.COMMIT).getSnapshotMetadata().getVersion();
        assertEquals(v2, ref(origin, "refs/heads/main").getName(), "pushed to the remote");
        assertEquals("changed by a", new ObjectMapper().readTree(fileAt(origin, v2, "flows/medprep/chest-xray.json"))
                .at("/flowContents/comments").asText());

        // b (cache fetched before a's commit) sees a's commit on its next read (fetch before reads) ...
        assertEquals(List.of(v2, v1), versions(b, ctxB, "main", "medprep", "chest-xray"));
        // ... and its commit based on v1 is stale
        RegisteredFlowSnapshot readB = b.getFlowContents(ctxB, new FlowVersionLocation("main", "medprep", "chest-xray", v1));
        readB.getSnapshotMetadata().setComments("b: based on v1");
        assertThrows(FlowRegistryException.class, () -> b.registerFlowSnapshot(ctxB, readB, RegisterAction.COMMIT));
        assertEquals(v2, ref(origin, "refs/heads/main").getName());

        Thread.sleep(2100); // reads within 2 s of a fetch use it; commits always fetch
        // someone pushes directly to origin: a's next commit (fetch before commit) knows it is stale
        String v3 = seeder.registerFlowSnapshot(seedCtx, snapshot("main", "medprep", "other", null, "o", "other flow"),
                RegisterAction.COMMIT).getSnapshotMetadata().getVersion();
        readA.getFlowContents().setComments("changed by a again");
        readA.getSnapshotMetadata().setVersion(v2);
        String v4 = a.registerFlowSnapshot(ctxA, readA, RegisterAction.COMMIT).getSnapshotMetadata().getVersion();
        try (Git git = Git.open(origin)) {
            RevCommit head = git.log().setMaxCount(1).call().iterator().next();
            assertEquals(v4, head.getName());
            assertEquals(v3, head.getParent(0).getName(), "committed on top of the other flow's commit");
        }
        assertEquals(Set.of("chest-xray", "other"), b.getFlows(ctxB, new BucketLocation("main", "medprep")).stream()
                .map(RegisteredFlow::getIdentifier).collect(Collectors.toSet()));
    }

    @Test
    void remoteNonBareRepositoryKeepsItsCheckedOutBranch() throws Exception {
        File work = tmp.resolve("upstream").toFile();
        try (Git git = Git.init().setInitialBranch("main").setDirectory(work).call()) {
            Files.writeString(work.toPath().resolve("README"), "hello\n");
            git.add().addFilepattern("README").call();
            git.commit().setMessage("init").setAuthor("a", "a@b").setCommitter("a", "a@b").call();
            git.branchCreate().setName("medprep-flows").call();
        }
        GitFlowRegistryClient client = client("r");
        Context ctx = context("file://" + new File(work, ".git").getAbsolutePath());
        ctx.values.put(GitFlowRegistryClient.CLONE_DIRECTORY, tmp.resolve("clone-r").toString());
        assertThrows(IOException.class, () -> client.registerFlowSnapshot(ctx,
                snapshot("main", "b", "f", null, "x", "x"), RegisterAction.COMMIT));
        String v1 = client.registerFlowSnapshot(ctx, snapshot("medprep-flows", "b", "f", null, "x", "x"),
                RegisterAction.COMMIT).getSnapshotMetadata().getVersion();
        assertEquals(v1, ref(new File(work, ".git"), "refs/heads/medprep-flows").getName());
        try (Git git = Git.open(work)) {
            assertTrue(git.status().call().isClean());
        }
    }

    @Test
    void readsThisRepositorysFlowDefinitionsAsSnapshots() throws Exception {
        File repo = bareRepo("medprep.git");
        // commit flows/medprep/*.json as they are in this repository, byte for byte
        try (Repository r = new FileRepositoryBuilder().setGitDir(repo).build();
             GitFlowRepository g = GitFlowRepository.openLocal(repo)) {
            ObjectId tip = null;
            for (String flow : MEDPREP_FLOWS) {
                byte[] bytes = Files.readAllBytes(FLOWS.resolve("medprep").resolve(flow + ".json"));
                String id = g.commit("main", "flows/medprep/" + flow + ".json", bytes, "add " + flow,
                        new org.eclipse.jgit.lib.PersonIdent("t", "t@t"), new org.eclipse.jgit.lib.PersonIdent("t", "t@t"), tip);
                tip = r.resolve(id);
            }
        }
        GitFlowRegistryClient client = client("c5");
        Context ctx = context(repo.getPath());
        assertEquals(Set.of("medprep"), client.getBuckets(ctx, "main").stream()
                .map(FlowRegistryBucket::getIdentifier).collect(Collectors.toSet()));
        assertEquals(new HashSet<>(MEDPREP_FLOWS), client.getFlows(ctx, new BucketLocation("main", "medprep")).stream()
                .map(RegisteredFlow::getIdentifier).collect(Collectors.toSet()));
        ObjectMapper plain = new ObjectMapper();
        FlowSnapshotJson json = new FlowSnapshotJson();
        for (String flow : MEDPREP_FLOWS) {
            byte[] file = Files.readAllBytes(FLOWS.resolve("medprep").resolve(flow + ".json"));
            JsonNode expected = plain.readTree(file);
            RegisteredFlowSnapshot s = client.getFlowContents(ctx, new FlowVersionLocation("main", "medprep", flow, null));
            assertEquals(flow, s.getFlowContents().getName());
            assertEquals(expected.at("/flowContents/processors").size(), s.getFlowContents().getProcessors().size());
            assertEquals(expected.at("/flowContents/connections").size(), s.getFlowContents().getConnections().size());
            assertEquals(setOf(expected.get("parameterContexts").fieldNames()), s.getParameterContexts().keySet());
            assertTrue(s.isLatest());
            // what the client writes back is the file's flow: the same JSON once instance ids and the order of
            // NiFi's unordered collections are set aside (the e2e test's canonical comparison)
            byte[] written = json.write(s);
            List<String> diff = new ArrayList<>();
            diff(canonical(expected), canonical(plain.readTree(written)), "", diff);
            assertEquals(List.of(), diff, flow + ": written back differs from the file at these JSON paths");
            assertFalse(new String(written, StandardCharsets.UTF_8).contains("instanceIdentifier"));
            // and the format is stable: reading and writing again gives the same bytes
            assertArrayEquals(written, json.write(json.read(written)), flow + ": writing is not idempotent");
            // the repository's files are kept in this format, so a first commit from NiFi diffs only what changed
            assertArrayEquals(file, written, flow + ".json is not in the client's format: run "
                    + "tools/normalize_flow.py flows/medprep/" + flow + ".json (docs/git-registry.md)");
        }
    }

    /** Like e2e_test.py's canonical(): no instance ids, every array sorted. */
    private static JsonNode canonical(JsonNode node) {
        if (node.isObject()) {
            com.fasterxml.jackson.databind.node.ObjectNode o = new ObjectMapper().createObjectNode();
            node.fields().forEachRemaining(e -> {
                if (!e.getKey().equals("instanceIdentifier")) {
                    o.set(e.getKey(), canonical(e.getValue()));
                }
            });
            return o;
        }
        if (node.isArray()) {
            List<JsonNode> items = new ArrayList<>();
            node.forEach(n -> items.add(canonical(n)));
            items.sort(java.util.Comparator.comparing(JsonNode::toString));
            com.fasterxml.jackson.databind.node.ArrayNode a = new ObjectMapper().createArrayNode();
            items.forEach(a::add);
            return a;
        }
        return node;
    }

    @Test
    void keepsTheStoredGroupIdentifierAndSortsCollections() throws Exception {
        File repo = bareRepo("ids-kept.git");
        GitFlowRegistryClient client = client("c7");
        Context ctx = context(repo.getPath());
        String v1 = client.registerFlowSnapshot(ctx, snapshot("main", "b", "f", null, "one", "v1"),
                RegisterAction.COMMIT).getSnapshotMetadata().getVersion();
        // another NiFi imported the flow: its group has another identifier
        RegisteredFlowSnapshot s = snapshot("main", "b", "f", v1, "two", "v2");
        s.getFlowContents().setIdentifier("group-X");
        s.getFlowContents().getProcessors().forEach(p -> p.setGroupIdentifier("group-X"));
        // NiFi hands over its instantiated components, which also carry their group's instance id
        VersionedProcessor extra = new VersionedProcessor() {
            @SuppressWarnings("unused")
            public String getInstanceGroupId() {
                return "instance-group-of-proc-0";
            }
        };
        extra.setIdentifier("proc-0");
        extra.setName("first by id");
        extra.setGroupIdentifier("group-X");
        extra.setInstanceIdentifier("instance-of-proc-0");
        s.getFlowContents().getProcessors().add(extra);
        String v2 = client.registerFlowSnapshot(ctx, s, RegisterAction.COMMIT).getSnapshotMetadata().getVersion();
        assertEquals("group-X", s.getFlowContents().getIdentifier(), "the caller's snapshot keeps its own id");
        byte[] file = fileAt(repo, v2, "flows/b/f.json");
        JsonNode stored = new ObjectMapper().readTree(file);
        assertEquals("group-1", stored.at("/flowContents/identifier").asText());
        assertEquals("proc-0", stored.at("/flowContents/processors/0/identifier").asText());
        assertEquals("group-1", stored.at("/flowContents/processors/0/groupIdentifier").asText());
        assertEquals("group-1", stored.at("/flowContents/processors/1/groupIdentifier").asText());
        assertFalse(new String(file, StandardCharsets.UTF_8).contains("group-X"));
        assertFalse(new String(file, StandardCharsets.UTF_8).contains("instance-of-proc-0"));
        assertFalse(new String(file, StandardCharsets.UTF_8).contains("instance-group-of-proc-0"));
    }

    @Test
    void readsTheFlowHistoryOfThisRepositoryItself() throws Exception {
        File root = FLOWS.getParent().toFile();
        File common = GitFlowRepository.commonGitDir(root);
        org.junit.jupiter.api.Assumptions.assumeTrue(common != null, "not a Git checkout");
        String branch;
        try (Repository r = new FileRepositoryBuilder().setGitDir(common).build()) {
            org.junit.jupiter.api.Assumptions.assumeTrue(r.exactRef(Constants.R_HEADS + "main") != null, "no main branch");
            branch = "main";
        }
        GitFlowRegistryClient client = client("self");
        Context ctx = context(root.getPath()); // read only: nothing is committed
        List<String> versions = versions(client, ctx, branch, "medprep", "chest-xray");
        assertFalse(versions.isEmpty());
        for (String v : versions.subList(0, Math.min(3, versions.size()))) {
            assertEquals("chest-xray", client.getFlowContents(ctx,
                    new FlowVersionLocation(branch, "medprep", "chest-xray", v)).getFlowContents().getName());
        }
    }

    @Test
    void deregisteringAFlowCommitsItsRemovalAndKeepsItsHistory() throws Exception {
        File repo = bareRepo("deregister.git");
        GitFlowRegistryClient client = client("c8");
        Context ctx = context(repo.getPath());
        String v1 = client.registerFlowSnapshot(ctx, snapshot("main", "b", "f", null, "one", "v1"),
                RegisterAction.COMMIT).getSnapshotMetadata().getVersion();
        client.registerFlowSnapshot(ctx, snapshot("main", "b", "keep", null, "k", "another flow"), RegisterAction.COMMIT);
        RegisteredFlow removed = client.deregisterFlow(ctx, new FlowLocation("main", "b", "f"));
        assertEquals("f", removed.getIdentifier());
        assertEquals(Set.of("keep"), client.getFlows(ctx, new BucketLocation("main", "b")).stream()
                .map(RegisteredFlow::getIdentifier).collect(Collectors.toSet()));
        assertThrows(NoSuchFlowException.class, () -> client.getFlow(ctx, new FlowLocation("main", "b", "f")));
        assertEquals("one", processorName(client.getFlowContents(ctx, new FlowVersionLocation("main", "b", "f", v1))),
                "old versions stay readable by commit id");
        // the removal is no version; the id can be used again
        assertEquals(List.of(v1), versions(client, ctx, "main", "b", "f"));
        assertEquals(Optional.empty(), client.getLatestVersion(ctx, new FlowLocation("main", "b", "f")));
        RegisteredFlow again = new RegisteredFlow();
        again.setIdentifier("f");
        again.setBucketIdentifier("b");
        again.setBranch("main");
        client.registerFlow(ctx, again);
        String v3 = client.registerFlowSnapshot(ctx, snapshot("main", "b", "f", null, "three", "again"),
                RegisterAction.COMMIT).getSnapshotMetadata().getVersion();
        assertEquals(List.of(v3, v1), versions(client, ctx, "main", "b", "f"));
    }

    @Test
    void idsThatAreNotPlainFileNamesAreRefused() throws Exception {
        File repo = bareRepo("ids.git");
        GitFlowRegistryClient client = client("c6");
        Context ctx = context(repo.getPath());
        for (String bad : List.of("..", "../x", "a/b", ".hidden", "")) {
            assertThrows(FlowRegistryException.class, () -> client.registerFlowSnapshot(ctx,
                    snapshot("main", bad, "f", null, "x", "x"), RegisterAction.COMMIT), bad);
            assertThrows(FlowRegistryException.class, () -> client.registerFlowSnapshot(ctx,
                    snapshot("main", "b", bad, null, "x", "x"), RegisterAction.COMMIT), bad);
        }
        assertEquals(null, ref(repo, "refs/heads/main"));
        assertEquals("Chest-X-ray-v2", client.generateFlowId("  Chest X-ray (v2) "));
        assertEquals("flow", client.generateFlowId("../"));
    }

    /** JSON paths where two trees differ (at most 20). */
    private static void diff(JsonNode a, JsonNode b, String path, List<String> out) {
        if (out.size() >= 20 || a.equals(b)) {
            return;
        }
        if (a.isObject() && b.isObject()) {
            Set<String> keys = new LinkedHashSet<>(setOf(a.fieldNames()));
            keys.addAll(setOf(b.fieldNames()));
            for (String k : keys) {
                if (!a.has(k) || !b.has(k)) {
                    out.add(path + "/" + k + (a.has(k) ? " only in the file: " + a.get(k) : " only written: " + b.get(k)));
                } else {
                    diff(a.get(k), b.get(k), path + "/" + k, out);
                }
            }
        } else if (a.isArray() && b.isArray() && a.size() == b.size()) {
            for (int i = 0; i < a.size(); i++) {
                diff(a.get(i), b.get(i), path + "/" + i, out);
            }
        } else {
            String sa = a.toString();
            String sb = b.toString();
            out.add(path + ": " + sa.substring(0, Math.min(200, sa.length())) + " vs " + sb.substring(0, Math.min(200, sb.length())));
        }
    }

    private static Set<String> names(Set<FlowRegistryBranch> branches) {
        return branches.stream().map(FlowRegistryBranch::getName).collect(Collectors.toSet());
    }

    private static Set<String> setOf(java.util.Iterator<String> it) {
        Set<String> s = new LinkedHashSet<>();
        it.forEachRemaining(s::add);
        return s;
    }
}
