/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.registry;

import org.apache.nifi.annotation.documentation.CapabilityDescription;
import org.apache.nifi.annotation.documentation.Tags;
import org.apache.nifi.components.PropertyDescriptor;
import org.apache.nifi.components.ValidationContext;
import org.apache.nifi.components.ValidationResult;
import org.apache.nifi.components.Validator;
import org.apache.nifi.context.PropertyContext;
import org.apache.nifi.flow.Position;
import org.apache.nifi.flow.VersionedFlowCoordinates;
import org.apache.nifi.flow.VersionedProcessGroup;
import org.apache.nifi.registry.flow.AbstractFlowRegistryClient;
import org.apache.nifi.registry.flow.BucketLocation;
import org.apache.nifi.registry.flow.FlowAlreadyExistsException;
import org.apache.nifi.registry.flow.FlowLocation;
import org.apache.nifi.registry.flow.FlowRegistryBranch;
import org.apache.nifi.registry.flow.FlowRegistryBucket;
import org.apache.nifi.registry.flow.FlowRegistryClientConfigurationContext;
import org.apache.nifi.registry.flow.FlowRegistryException;
import org.apache.nifi.registry.flow.FlowRegistryPermissions;
import org.apache.nifi.registry.flow.FlowVersionLocation;
import org.apache.nifi.registry.flow.NoSuchFlowException;
import org.apache.nifi.registry.flow.NoSuchFlowVersionException;
import org.apache.nifi.registry.flow.RegisterAction;
import org.apache.nifi.registry.flow.RegisteredFlow;
import org.apache.nifi.registry.flow.RegisteredFlowSnapshot;
import org.apache.nifi.registry.flow.RegisteredFlowSnapshotMetadata;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.PersonIdent;
import org.eclipse.jgit.transport.CredentialsProvider;
import org.eclipse.jgit.transport.UsernamePasswordCredentialsProvider;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A flow registry client that versions flows in a Git repository through JGit, on a local repository or any Git
 * remote (HTTP(S), git://, file://).
 *
 * <p>Layout: {@code <Repository Path>/<bucket>/<flow>.json} on each branch; a bucket is a folder, a flow is a
 * file holding NiFi's flow definition JSON (what "Download flow definition" gives), a version is a commit of the
 * branch that changed the file (its id, author, time and message are the version's). Committing a version writes
 * the file and commits it straight to the branch ref, never through a working tree. A {@link RegisterAction#COMMIT}
 * based on another version than the file's latest one is refused; {@link RegisterAction#FORCE_COMMIT} commits on top
 * of the latest one anyway. See docs/git-registry.md.
 */
@Tags({"git", "jgit", "registry", "flow", "version control", "medprep"})
@CapabilityDescription("Versions flows in a Git repository through JGit: a local repository (committed to directly, "
        + "never through its working tree) or a remote one (HTTP(S), git:// or file:// URL, cloned into a cache "
        + "directory under NiFi's working directory, fetched before reads and pushed after each commit). Flows are "
        + "stored as <Repository Path>/<bucket>/<flow>.json (NiFi's flow definition JSON); a version is a commit. "
        + "Commits to a branch checked out in a work tree of a local repository are refused.")
public class GitFlowRegistryClient extends AbstractFlowRegistryClient {

    private static final Validator NON_BLANK = (subject, input, context) -> new ValidationResult.Builder()
            .subject(subject).input(input).valid(input != null && !input.isBlank())
            .explanation(subject + " must not be blank").build();
    private static final Validator ANY = (subject, input, context) -> new ValidationResult.Builder()
            .subject(subject).input(input).valid(true).build();

    /** The repository: a local directory or a remote URL. */
    public static final PropertyDescriptor REPOSITORY = new PropertyDescriptor.Builder()
            .name("Repository")
            .description("A local Git repository (a directory: a work tree, a linked work tree or a bare repository) "
                    + "or the URL of a remote one (https://, http://, git:// or file://; not ssh). A local "
                    + "repository is committed to directly; a remote one is cloned into the Clone Directory, "
                    + "fetched before reads and pushed to after each commit.")
            .required(true)
            .addValidator(NON_BLANK)
            .build();

    /** The folder of the repository that holds the bucket folders. */
    public static final PropertyDescriptor REPOSITORY_PATH = new PropertyDescriptor.Builder()
            .name("Repository Path")
            .description("The folder of the repository holding the buckets (one sub-folder each, with one "
                    + "<flow>.json per flow). '.' is the repository's root.")
            .required(true)
            .defaultValue("flows")
            .addValidator(NON_BLANK)
            .build();

    /** The branch NiFi offers first. */
    public static final PropertyDescriptor DEFAULT_BRANCH = new PropertyDescriptor.Builder()
            .name("Default Branch")
            .description("The branch offered by default. Every branch of the repository can be chosen; commits to a "
                    + "branch that a work tree of a local repository has checked out are refused.")
            .required(true)
            .defaultValue("main")
            .addValidator(NON_BLANK)
            .build();

    /** User name for HTTP(S) remotes. */
    public static final PropertyDescriptor USERNAME = new PropertyDescriptor.Builder()
            .name("Username")
            .description("User name for an HTTP(S) remote. With a token only, leave it empty (then 'git' is sent, "
                    + "which GitHub and GitLab accept with a personal access token).")
            .required(false)
            .addValidator(ANY)
            .build();

    /** Password or access token for HTTP(S) remotes. */
    public static final PropertyDescriptor PASSWORD = new PropertyDescriptor.Builder()
            .name("Password or Token")
            .description("Password or personal access token for an HTTP(S) remote (kept encrypted in NiFi's flow "
                    + "like every sensitive property, never written to the repository).")
            .required(false)
            .sensitive(true)
            .addValidator(ANY)
            .build();

    /** Committer name (and author name when NiFi has no user identity). */
    public static final PropertyDescriptor AUTHOR_NAME = new PropertyDescriptor.Builder()
            .name("Commit Author Name")
            .description("Name of the commits' committer, and of their author when NiFi does not know the user "
                    + "(an unsecured NiFi); otherwise the author is the NiFi user.")
            .required(true)
            .defaultValue("NiFi")
            .addValidator(NON_BLANK)
            .build();

    /** Committer and author e-mail. */
    public static final PropertyDescriptor AUTHOR_EMAIL = new PropertyDescriptor.Builder()
            .name("Commit Author Email")
            .description("E-mail address of the commits' author and committer.")
            .required(true)
            .defaultValue("nifi@localhost")
            .addValidator(NON_BLANK)
            .build();

    /** Where the cache clone of a remote lives. */
    public static final PropertyDescriptor CLONE_DIRECTORY = new PropertyDescriptor.Builder()
            .name("Clone Directory")
            .description("Remote repositories only: the bare cache clone's directory. Empty: "
                    + "work/git-flow-registry/<client id>-<hash of the URL> under NiFi's working directory.")
            .required(false)
            .addValidator(ANY)
            .build();

    private static final List<PropertyDescriptor> PROPERTIES = List.of(REPOSITORY, REPOSITORY_PATH, DEFAULT_BRANCH,
            USERNAME, PASSWORD, AUTHOR_NAME, AUTHOR_EMAIL, CLONE_DIRECTORY);

    /** Bucket and flow ids become folder and file names: no separators, no dot-only names. */
    private static final Pattern SAFE_NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]*");
    private static final String FLOW_SUFFIX = ".json";
    private static final String DEFAULT_BUCKET = "default";
    /** Reads within this time after a fetch use it (one UI action makes several calls). */
    private static final long MIN_FETCH_INTERVAL_MILLIS = 2000;

    private final FlowSnapshotJson json = new FlowSnapshotJson();
    private GitFlowRepository repository;
    private String repositoryKey;

    @Override
    protected List<PropertyDescriptor> getSupportedPropertyDescriptors() {
        return PROPERTIES;
    }

    @Override
    protected Collection<ValidationResult> customValidate(ValidationContext context) {
        List<ValidationResult> results = new ArrayList<>();
        String location = context.getProperty(REPOSITORY).getValue();
        if (location != null && !location.isBlank()) {
            location = location.trim();
            if (GitFlowRepository.isRemoteLocation(location)) {
                String scheme = location.substring(0, location.indexOf(':')).toLowerCase(Locale.ROOT);
                if (!List.of("http", "https", "git", "file").contains(scheme)) {
                    results.add(invalid(REPOSITORY, location, "the " + scheme + ":// scheme is not supported "
                            + "(https, http, git and file are; ssh is not)"));
                }
            } else {
                try {
                    if (GitFlowRepository.commonGitDir(new File(location)) == null) {
                        results.add(invalid(REPOSITORY, location, "no Git repository at " + location
                                + " (a local path must be an existing repository; use a URL for a remote)"));
                    }
                } catch (IOException e) {
                    results.add(invalid(REPOSITORY, location, "cannot read " + location + ": " + e.getMessage()));
                }
            }
        }
        String path = context.getProperty(REPOSITORY_PATH).getValue();
        if (path != null && !path.equals(".")) {
            boolean ok = !path.startsWith("/") && !path.endsWith("/")
                    && Arrays.stream(path.split("/")).allMatch(s -> !s.isEmpty() && !s.equals(".") && !s.equals(".."));
            if (!ok) {
                results.add(invalid(REPOSITORY_PATH, path, "a relative folder without leading or trailing '/', "
                        + "'.' or '..' segments (or '.' for the repository's root)"));
            }
        }
        return results;
    }

    private static ValidationResult invalid(PropertyDescriptor property, String input, String explanation) {
        return new ValidationResult.Builder().subject(property.getDisplayName()).input(input).valid(false)
                .explanation(explanation).build();
    }

    @Override
    public void onPropertyModified(PropertyDescriptor descriptor, String oldValue, String newValue) {
        super.onPropertyModified(descriptor, oldValue, newValue);
        closeRepository();
    }

    private synchronized void closeRepository() {
        if (repository != null) {
            repository.close();
        }
        repository = null;
        repositoryKey = null;
    }

    // ---- configuration ----------------------------------------------------------------------------------------

    private static String location(PropertyContext context) {
        return context.getProperty(REPOSITORY).getValue().trim();
    }

    private static String folder(PropertyContext context) {
        String path = context.getProperty(REPOSITORY_PATH).getValue();
        return path == null || path.equals(".") ? "" : path;
    }

    private static String branchOf(PropertyContext context, String branch) {
        return branch == null || branch.isBlank() ? context.getProperty(DEFAULT_BRANCH).getValue() : branch;
    }

    private File cloneDirectory(PropertyContext context, String url) {
        String configured = context.getProperty(CLONE_DIRECTORY).getValue();
        if (configured != null && !configured.isBlank()) {
            return new File(configured.trim());
        }
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(url.getBytes(StandardCharsets.UTF_8));
            String hash = HexFormat.of().formatHex(digest, 0, 6);
            return new File(new File("work", "git-flow-registry"), getIdentifier() + "-" + hash);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The open repository for a configuration (opened, or cloned, on first use and again when the configuration
     * changed); remote repositories are fetched unless fetched within the last two seconds.
     */
    private GitFlowRepository repository(PropertyContext context, boolean forceFetch) throws IOException {
        String location = location(context);
        String user = context.getProperty(USERNAME).getValue();
        String secret = context.getProperty(PASSWORD).getValue();
        String key = location + "\u0000" + context.getProperty(CLONE_DIRECTORY).getValue() + "\u0000" + user
                + "\u0000" + Objects.hashCode(secret);
        if (repository == null || !key.equals(repositoryKey)) {
            closeRepository();
            if (GitFlowRepository.isRemoteLocation(location)) {
                CredentialsProvider credentials = secret == null || secret.isEmpty() ? null
                        : new UsernamePasswordCredentialsProvider(user == null || user.isBlank() ? "git" : user, secret);
                repository = GitFlowRepository.openRemote(location, cloneDirectory(context, location), credentials,
                        MIN_FETCH_INTERVAL_MILLIS);
            } else {
                repository = GitFlowRepository.openLocal(new File(location));
            }
            repositoryKey = key;
        } else {
            repository.refresh(forceFetch);
        }
        return repository;
    }

    private static String checkName(String kind, String name) throws FlowRegistryException {
        if (name == null || !SAFE_NAME.matcher(name).matches()) {
            throw new FlowRegistryException("invalid " + kind + " id '" + name + "': letters, digits, '.', '_' and "
                    + "'-' only, not starting with '.' or '-'");
        }
        return name;
    }

    private static String bucketFolder(PropertyContext context, String bucket) throws FlowRegistryException {
        String f = folder(context);
        checkName("bucket", bucket);
        return f.isEmpty() ? bucket : f + "/" + bucket;
    }

    private static String flowPath(PropertyContext context, String bucket, String flow) throws FlowRegistryException {
        return bucketFolder(context, bucket) + "/" + checkName("flow", flow) + FLOW_SUFFIX;
    }

    // ---- branches and buckets ---------------------------------------------------------------------------------

    @Override
    public boolean isStorageLocationApplicable(FlowRegistryClientConfigurationContext context, String location) {
        return location != null && location.equals(storageLocation(context));
    }

    private static String storageLocation(PropertyContext context) {
        String location = location(context);
        if (GitFlowRepository.isRemoteLocation(location)) {
            return location;
        }
        try {
            File common = GitFlowRepository.commonGitDir(new File(location));
            return common == null ? location : common.getPath();
        } catch (IOException e) {
            return location;
        }
    }

    @Override
    public boolean isBranchingSupported(FlowRegistryClientConfigurationContext context) {
        return true;
    }

    @Override
    public synchronized Set<FlowRegistryBranch> getBranches(FlowRegistryClientConfigurationContext context)
            throws FlowRegistryException, IOException {
        Set<FlowRegistryBranch> result = new LinkedHashSet<>();
        Set<String> names = new java.util.TreeSet<>(repository(context, false).branches());
        names.add(context.getProperty(DEFAULT_BRANCH).getValue()); // offered even before its first commit
        for (String name : names) {
            FlowRegistryBranch branch = new FlowRegistryBranch();
            branch.setName(name);
            result.add(branch);
        }
        return result;
    }

    @Override
    public FlowRegistryBranch getDefaultBranch(FlowRegistryClientConfigurationContext context) {
        FlowRegistryBranch branch = new FlowRegistryBranch();
        branch.setName(context.getProperty(DEFAULT_BRANCH).getValue());
        return branch;
    }

    @Override
    public synchronized Set<FlowRegistryBucket> getBuckets(FlowRegistryClientConfigurationContext context, String branch)
            throws FlowRegistryException, IOException {
        Set<FlowRegistryBucket> buckets = new LinkedHashSet<>();
        for (String name : repository(context, false).list(branchOf(context, branch), folder(context), true)) {
            if (SAFE_NAME.matcher(name).matches()) {
                buckets.add(bucket(name));
            }
        }
        if (buckets.isEmpty()) {
            buckets.add(bucket(DEFAULT_BUCKET)); // a folder appears with its first flow
        }
        return buckets;
    }

    @Override
    public FlowRegistryBucket getBucket(FlowRegistryClientConfigurationContext context, BucketLocation location)
            throws FlowRegistryException {
        return bucket(checkName("bucket", location.getBucketId()));
    }

    private static FlowRegistryBucket bucket(String name) {
        FlowRegistryPermissions permissions = new FlowRegistryPermissions();
        permissions.setCanRead(true);
        permissions.setCanWrite(true);
        permissions.setCanDelete(true);
        FlowRegistryBucket bucket = new FlowRegistryBucket();
        bucket.setIdentifier(name);
        bucket.setName(name);
        bucket.setPermissions(permissions);
        return bucket;
    }

    // ---- flows ------------------------------------------------------------------------------------------------

    /**
     * Reserves a flow id: nothing is committed (the flow's file appears with its first version), but an id whose
     * file exists on the branch is refused.
     */
    @Override
    public synchronized RegisteredFlow registerFlow(FlowRegistryClientConfigurationContext context, RegisteredFlow flow)
            throws FlowRegistryException, IOException {
        String branch = branchOf(context, flow.getBranch());
        String path = flowPath(context, flow.getBucketIdentifier(), flow.getIdentifier());
        if (repository(context, true).read(branch, path).isPresent()) {
            throw new FlowAlreadyExistsException("a flow is already stored at " + path + " on branch " + branch);
        }
        flow.setBranch(branch);
        flow.setBucketName(flow.getBucketIdentifier());
        if (flow.getName() == null) {
            flow.setName(flow.getIdentifier());
        }
        return flow;
    }

    @Override
    public synchronized RegisteredFlow deregisterFlow(FlowRegistryClientConfigurationContext context, FlowLocation location)
            throws FlowRegistryException, IOException {
        String branch = branchOf(context, location.getBranch());
        RegisteredFlow flow = getFlow(context, location);
        GitFlowRepository repo = repository(context, true);
        String path = flowPath(context, location.getBucketId(), location.getFlowId());
        Optional<ObjectId> tip = repo.branchTip(branch);
        repo.commit(branch, path, null, "Remove flow " + location.getFlowId() + " from bucket " + location.getBucketId(),
                author(context), committer(context), tip.orElse(null));
        return flow;
    }

    @Override
    public synchronized RegisteredFlow getFlow(FlowRegistryClientConfigurationContext context, FlowLocation location)
            throws FlowRegistryException, IOException {
        String branch = branchOf(context, location.getBranch());
        String path = flowPath(context, location.getBucketId(), location.getFlowId());
        List<GitFlowRepository.CommitInfo> log = repository(context, false).log(branch, path);
        if (log.isEmpty() || repository.read(branch, path).isEmpty()) {
            throw new NoSuchFlowException("no flow " + path + " on branch " + branch);
        }
        RegisteredFlow flow = flow(branch, location.getBucketId(), location.getFlowId());
        flow.setVersionCount(log.size());
        flow.setCreatedTimestamp(log.getLast().timeMillis());
        flow.setLastModifiedTimestamp(log.getFirst().timeMillis());
        return flow;
    }

    @Override
    public synchronized Set<RegisteredFlow> getFlows(FlowRegistryClientConfigurationContext context, BucketLocation location)
            throws FlowRegistryException, IOException {
        String branch = branchOf(context, location.getBranch());
        Set<RegisteredFlow> flows = new LinkedHashSet<>();
        for (String file : repository(context, false).list(branch, bucketFolder(context, location.getBucketId()), false)) {
            if (file.endsWith(FLOW_SUFFIX)) {
                String id = file.substring(0, file.length() - FLOW_SUFFIX.length());
                if (SAFE_NAME.matcher(id).matches()) {
                    flows.add(flow(branch, location.getBucketId(), id));
                }
            }
        }
        return flows;
    }

    private static RegisteredFlow flow(String branch, String bucket, String id) {
        RegisteredFlow flow = new RegisteredFlow();
        flow.setIdentifier(id);
        flow.setName(id);
        flow.setBranch(branch);
        flow.setBucketIdentifier(bucket);
        flow.setBucketName(bucket);
        FlowRegistryPermissions permissions = new FlowRegistryPermissions();
        permissions.setCanRead(true);
        permissions.setCanWrite(true);
        permissions.setCanDelete(true);
        flow.setPermissions(permissions);
        return flow;
    }

    // ---- versions ---------------------------------------------------------------------------------------------

    @Override
    public synchronized RegisteredFlowSnapshot getFlowContents(FlowRegistryClientConfigurationContext context,
                                                               FlowVersionLocation location)
            throws FlowRegistryException, IOException {
        String branch = branchOf(context, location.getBranch());
        String path = flowPath(context, location.getBucketId(), location.getFlowId());
        GitFlowRepository repo = repository(context, false);
        List<GitFlowRepository.CommitInfo> log = repo.log(branch, path);
        String wanted = location.getVersion();
        if (wanted == null || wanted.isBlank()) {
            if (log.isEmpty()) {
                throw new NoSuchFlowException("no flow " + path + " on branch " + branch);
            }
            wanted = log.getFirst().id();
        }
        Optional<GitFlowRepository.CommitInfo> commit = repo.commitInfo(wanted);
        if (commit.isEmpty()) {
            throw new NoSuchFlowVersionException("no commit " + wanted + " in " + repo.storageLocation());
        }
        Optional<byte[]> content = repo.readAt(commit.get().id(), path);
        if (content.isEmpty()) {
            throw new NoSuchFlowVersionException("commit " + wanted + " holds no " + path);
        }
        RegisteredFlowSnapshot snapshot;
        try {
            snapshot = json.read(content.get());
        } catch (IOException e) {
            throw new FlowRegistryException(path + " at " + wanted + " is not a flow definition: " + e.getMessage(), e);
        }
        boolean latest = !log.isEmpty() && log.getFirst().id().equals(commit.get().id());
        describe(snapshot, branch, location.getBucketId(), location.getFlowId(), commit.get(), log.size(), latest);
        return snapshot;
    }

    private static void describe(RegisteredFlowSnapshot snapshot, String branch, String bucket, String flowId,
                                 GitFlowRepository.CommitInfo commit, int versionCount, boolean latest) {
        snapshot.setSnapshotMetadata(metadata(branch, bucket, flowId, commit));
        RegisteredFlow flow = flow(branch, bucket, flowId);
        flow.setVersionCount(versionCount);
        snapshot.setFlow(flow);
        snapshot.setBucket(bucket(bucket));
        snapshot.setLatest(latest);
    }

    private static RegisteredFlowSnapshotMetadata metadata(String branch, String bucket, String flowId,
                                                           GitFlowRepository.CommitInfo commit) {
        RegisteredFlowSnapshotMetadata metadata = new RegisteredFlowSnapshotMetadata();
        metadata.setBranch(branch);
        metadata.setBucketIdentifier(bucket);
        metadata.setFlowIdentifier(flowId);
        metadata.setVersion(commit.id());
        metadata.setAuthor(commit.authorName());
        metadata.setTimestamp(commit.timeMillis());
        metadata.setComments(commit.message().strip());
        return metadata;
    }

    @Override
    public synchronized RegisteredFlowSnapshot registerFlowSnapshot(FlowRegistryClientConfigurationContext context,
                                                                    RegisteredFlowSnapshot snapshot, RegisterAction action)
            throws FlowRegistryException, IOException {
        RegisteredFlowSnapshotMetadata meta = snapshot.getSnapshotMetadata();
        if (meta == null || snapshot.getFlowContents() == null) {
            throw new FlowRegistryException("a snapshot without metadata or flow contents cannot be committed");
        }
        String branch = branchOf(context, meta.getBranch());
        String bucket = meta.getBucketIdentifier();
        String flowId = meta.getFlowIdentifier();
        String path = flowPath(context, bucket, flowId);
        GitFlowRepository repo = repository(context, true);

        List<GitFlowRepository.CommitInfo> log = repo.log(branch, path);
        Optional<byte[]> current = repo.read(branch, path);
        // a flow whose file was removed has no latest version (its old commits stay readable)
        String latest = log.isEmpty() || current.isEmpty() ? null : log.getFirst().id();
        String expected = meta.getVersion() == null || meta.getVersion().isBlank() ? null : meta.getVersion();
        if (action != RegisterAction.FORCE_COMMIT && !Objects.equals(expected, latest)) {
            throw new FlowRegistryException("flow " + flowId + " on branch " + branch + " is at version "
                    + (latest == null ? "(none: the file does not exist)" : latest) + " but this commit is based on "
                    + (expected == null ? "no version" : expected) + ": someone committed meanwhile. Change to the "
                    + "latest version (keeping your changes aside) or force the commit to overwrite it.");
        }
        Optional<ObjectId> tip = repo.branchTip(branch);
        if (tip.isEmpty() && !repo.branches().isEmpty()) {
            throw new FlowRegistryException("branch " + branch + " does not exist in " + repo.storageLocation()
                    + " (create it with git first: git branch " + branch + " <start commit>)");
        }

        // the group's place on the canvas is not part of the flow: stored as (0, 0), as in a download
        VersionedProcessGroup contents = snapshot.getFlowContents();
        Position position = contents.getPosition();
        contents.setPosition(new Position(0, 0));
        byte[] content;
        try {
            // the group keeps the identifier the file has: a new import of the flow gets another one
            content = json.write(snapshot, current.map(json::groupId).orElse(null));
        } finally {
            contents.setPosition(position);
        }

        String version;
        if (current.isPresent() && latest != null && Arrays.equals(current.get(), content)) {
            version = latest; // nothing changed in the file: no empty commit (it would not be a version of it)
        } else {
            String comments = meta.getComments();
            String message = comments == null || comments.isBlank()
                    ? "Save flow " + flowId + " (bucket " + bucket + ")" : comments;
            version = repo.commit(branch, path, content, message, author(context), committer(context),
                    tip.orElse(null));
            getLogger().info("Committed flow {} of bucket {} to branch {} of {}: {}", flowId, bucket, branch,
                    repo.storageLocation(), version);
        }
        GitFlowRepository.CommitInfo commit = repo.commitInfo(version).orElseThrow();
        describe(snapshot, branch, bucket, flowId, commit, repo.log(branch, path).size(), true);
        VersionedFlowCoordinates coordinates = new VersionedFlowCoordinates();
        coordinates.setRegistryId(getIdentifier());
        coordinates.setStorageLocation(storageLocation(context));
        coordinates.setBranch(branch);
        coordinates.setBucketId(bucket);
        coordinates.setFlowId(flowId);
        coordinates.setVersion(version);
        coordinates.setLatest(true);
        contents.setVersionedFlowCoordinates(coordinates);
        return snapshot;
    }

    private static PersonIdent committer(FlowRegistryClientConfigurationContext context) {
        return new PersonIdent(context.getProperty(AUTHOR_NAME).getValue(), context.getProperty(AUTHOR_EMAIL).getValue());
    }

    private static PersonIdent author(FlowRegistryClientConfigurationContext context) {
        Optional<String> user = context.getNiFiUserIdentity().filter(u -> !u.isBlank() && !u.equals("anonymous"));
        return new PersonIdent(user.orElse(context.getProperty(AUTHOR_NAME).getValue()),
                context.getProperty(AUTHOR_EMAIL).getValue());
    }

    @Override
    public synchronized Set<RegisteredFlowSnapshotMetadata> getFlowVersions(FlowRegistryClientConfigurationContext context,
                                                                            FlowLocation location)
            throws FlowRegistryException, IOException {
        String branch = branchOf(context, location.getBranch());
        String path = flowPath(context, location.getBucketId(), location.getFlowId());
        Set<RegisteredFlowSnapshotMetadata> versions = new LinkedHashSet<>();
        for (GitFlowRepository.CommitInfo commit : repository(context, false).log(branch, path)) {
            versions.add(metadata(branch, location.getBucketId(), location.getFlowId(), commit));
        }
        return versions;
    }

    @Override
    public synchronized Optional<String> getLatestVersion(FlowRegistryClientConfigurationContext context,
                                                          FlowLocation location)
            throws FlowRegistryException, IOException {
        String branch = branchOf(context, location.getBranch());
        String path = flowPath(context, location.getBucketId(), location.getFlowId());
        GitFlowRepository repo = repository(context, false);
        List<GitFlowRepository.CommitInfo> log = repo.log(branch, path);
        return log.isEmpty() || repo.read(branch, path).isEmpty() ? Optional.empty() : Optional.of(log.getFirst().id());
    }

    /**
     * A file-name-safe id from a flow name: whitespace becomes '-', other characters than letters, digits, '.',
     * '_' and '-' are dropped ("Chest X-ray (v2)" becomes "Chest-X-ray-v2").
     */
    @Override
    public String generateFlowId(String flowName) {
        String id = flowName == null ? "" : flowName.trim()
                .replaceAll("\\s+", "-")
                .replaceAll("[^A-Za-z0-9._-]", "")
                .replaceAll("-{2,}", "-")
                .replaceAll("^[.-]+", "");
        return id.isEmpty() ? "flow" : id;
    }
}
