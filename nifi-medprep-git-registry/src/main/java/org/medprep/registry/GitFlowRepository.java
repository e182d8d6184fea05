/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
package org.medprep.registry;

import org.eclipse.jgit.dircache.DirCache;
import org.eclipse.jgit.dircache.DirCacheBuilder;
import org.eclipse.jgit.dircache.DirCacheEntry;
import org.eclipse.jgit.errors.MissingObjectException;
import org.eclipse.jgit.internal.storage.file.FileRepository;
import org.eclipse.jgit.lib.CommitBuilder;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.FileMode;
import org.eclipse.jgit.lib.NullProgressMonitor;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.ObjectInserter;
import org.eclipse.jgit.lib.ObjectReader;
import org.eclipse.jgit.lib.PersonIdent;
import org.eclipse.jgit.lib.Ref;
import org.eclipse.jgit.lib.RefUpdate;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.revwalk.RevCommit;
import org.eclipse.jgit.revwalk.RevTree;
import org.eclipse.jgit.revwalk.RevWalk;
import org.eclipse.jgit.storage.file.FileRepositoryBuilder;
import org.eclipse.jgit.transport.CredentialsProvider;
import org.eclipse.jgit.transport.RefSpec;
import org.eclipse.jgit.transport.RemoteRefUpdate;
import org.eclipse.jgit.transport.Transport;
import org.eclipse.jgit.transport.URIish;
import org.eclipse.jgit.treewalk.TreeWalk;
import org.eclipse.jgit.treewalk.filter.AndTreeFilter;
import org.eclipse.jgit.treewalk.filter.PathFilter;
import org.eclipse.jgit.treewalk.filter.TreeFilter;

import java.io.Closeable;
import java.io.File;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * The Git side of the flow registry client: reads files of a branch or a commit, lists a file's history and
 * commits a file straight to a branch ref (object inserter and an in-memory index: no working tree is read or
 * written, so a checked-out working tree is never touched).
 *
 * <p>Two modes:
 * <ul>
 *   <li><b>local</b>: the location is a directory (a work tree with {@code .git}, a linked work tree, or a bare
 *       repository). Branches are {@code refs/heads/*} of that repository; a commit moves the branch ref with a
 *       compare-and-swap on its old value. Committing to a branch that a work tree of the repository has checked
 *       out is refused: the branch would move under the work tree, which would then show the commit's changes as
 *       local modifications reversed.</li>
 *   <li><b>remote</b>: the location is a URL ({@code https://}, {@code http://}, {@code git://}, {@code file://}).
 *       A bare clone lives in a cache directory; {@link #refresh(boolean)} fetches {@code refs/heads/*} into
 *       {@code refs/remotes/origin/*} (reads use those), a commit is pushed to the remote branch with the
 *       expected old value (a remote that moved meanwhile rejects it) and only then recorded locally. When the
 *       remote is a local non-bare repository the same checked-out-branch rule applies.</li>
 * </ul>
 * Instances are not thread-safe; the client serialises calls.
 */
public final class GitFlowRepository implements Closeable {

    /** Tracking namespace of a remote repository's branches inside the cache clone. */
    static final String TRACKING_PREFIX = "refs/remotes/origin/";

    /** One commit of a file's history. */
    public record CommitInfo(String id, String authorName, String authorEmail, long timeMillis, String message) {
    }

    private final Repository repository;
    private final URIish remote;             // null in local mode
    private final File remoteLocalDirectory; // remote given as file:// or path of a local repository, else null
    private final CredentialsProvider credentials;
    private final String storageLocation;
    private final long minFetchIntervalMillis;
    private long lastFetch;

    private GitFlowRepository(Repository repository, URIish remote, File remoteLocalDirectory,
                              CredentialsProvider credentials, String storageLocation, long minFetchIntervalMillis) {
        this.repository = repository;
        this.remote = remote;
        this.remoteLocalDirectory = remoteLocalDirectory;
        this.credentials = credentials;
        this.storageLocation = storageLocation;
        this.minFetchIntervalMillis = minFetchIntervalMillis;
    }

    /**
     * Whether a repository location is a URL (remote mode) rather than a local directory.
     *
     * @param location the configured location
     * @return true for {@code scheme://...} locations
     */
    public static boolean isRemoteLocation(String location) {
        return location.matches("^[A-Za-z][A-Za-z0-9+.-]*://.*");
    }

    /**
     * Opens a local repository (a work tree, a linked work tree or a git directory).
     *
     * @param directory the directory
     * @return the repository, in local mode
     * @throws IOException when no repository is there
     */
    public static GitFlowRepository openLocal(File directory) throws IOException {
        File commonDir = commonGitDir(directory);
        if (commonDir == null) {
            throw new IOException("no Git repository at " + directory);
        }
        Repository repo = new FileRepositoryBuilder().setGitDir(commonDir).setMustExist(true).build();
        return new GitFlowRepository(repo, null, null, null, commonDir.getAbsolutePath(), 0);
    }

    /**
     * Opens (cloning on first use) the cache clone of a remote repository and fetches it.
     *
     * @param url the remote URL
     * @param cacheDirectory where the bare cache clone lives (created when missing)
     * @param credentials user name and password/token for HTTP(S), or null
     * @param minFetchIntervalMillis reads within this interval of the last fetch do not fetch again
     * @return the repository, in remote mode
     * @throws IOException when the cache cannot be created or the remote cannot be fetched
     */
    public static GitFlowRepository openRemote(String url, File cacheDirectory, CredentialsProvider credentials,
                                               long minFetchIntervalMillis) throws IOException {
        URIish uri;
        try {
            uri = new URIish(url);
        } catch (URISyntaxException e) {
            throw new IOException("not a Git URL: " + url, e);
        }
        if (uri.getPass() != null) {
            throw new IOException("the repository URL holds a password: put it in the Password or Token property "
                    + "(a sensitive property) instead");
        }
        File localRemote = null;
        if ("file".equals(uri.getScheme())) {
            localRemote = new File(uri.getPath());
        }
        Files.createDirectories(cacheDirectory.toPath());
        Repository repo = new FileRepositoryBuilder().setGitDir(cacheDirectory).setBare().build();
        if (!new File(cacheDirectory, "HEAD").isFile()) {
            repo.create(true);
        }
        GitFlowRepository result = new GitFlowRepository(repo, uri, localRemote, credentials, url,
                minFetchIntervalMillis);
        try {
            result.refresh(true);
        } catch (IOException e) {
            result.close();
            throw e;
        }
        return result;
    }

    /** @return true in remote mode */
    public boolean isRemote() {
        return remote != null;
    }

    /** @return the repository's location as configured (local: its common git directory; remote: the URL) */
    public String storageLocation() {
        return storageLocation;
    }

    /**
     * Fetches the remote's branches (remote mode; nothing in local mode).
     *
     * @param force fetch even when the last fetch is more recent than the minimum interval
     * @throws IOException when the fetch fails
     */
    public void refresh(boolean force) throws IOException {
        if (remote == null) {
            return;
        }
        long now = System.currentTimeMillis();
        if (!force && now - lastFetch < minFetchIntervalMillis) {
            return;
        }
        try (Transport transport = Transport.open(repository, remote)) {
            if (credentials != null) {
                transport.setCredentialsProvider(credentials);
            }
            transport.setRemoveDeletedRefs(true);
            transport.fetch(NullProgressMonitor.INSTANCE,
                    List.of(new RefSpec("+refs/heads/*:" + TRACKING_PREFIX + "*")));
        } catch (org.eclipse.jgit.errors.TransportException e) {
            throw new IOException("could not fetch " + remote + ": " + e.getMessage(), e);
        }
        lastFetch = System.currentTimeMillis();
    }

    private String branchRef(String branch) {
        return (remote == null ? Constants.R_HEADS : TRACKING_PREFIX) + branch;
    }

    /**
     * The branches: {@code refs/heads/*} locally, the remote's branches in remote mode.
     *
     * @return branch names, sorted
     * @throws IOException on a repository error
     */
    public Set<String> branches() throws IOException {
        String prefix = remote == null ? Constants.R_HEADS : TRACKING_PREFIX;
        Set<String> names = new TreeSet<>();
        for (Ref ref : repository.getRefDatabase().getRefsByPrefix(prefix)) {
            String name = ref.getName().substring(prefix.length());
            if (!name.equals("HEAD")) {
                names.add(name);
            }
        }
        return names;
    }

    /**
     * The commit a branch points to.
     *
     * @param branch the branch name
     * @return its tip, empty when the branch does not exist
     * @throws IOException on a repository error
     */
    public Optional<ObjectId> branchTip(String branch) throws IOException {
        Ref ref = repository.exactRef(branchRef(branch));
        return ref == null || ref.getObjectId() == null ? Optional.empty() : Optional.of(ref.getObjectId());
    }

    /**
     * Names of the entries directly under a folder on a branch.
     *
     * @param branch the branch
     * @param folder folder path ("" = repository root)
     * @param directories true for sub-folders, false for files
     * @return names, sorted; empty when the branch or the folder does not exist
     * @throws IOException on a repository error
     */
    public Set<String> list(String branch, String folder, boolean directories) throws IOException {
        Set<String> names = new TreeSet<>();
        Optional<ObjectId> tip = branchTip(branch);
        if (tip.isEmpty()) {
            return names;
        }
        try (RevWalk rw = new RevWalk(repository)) {
            RevTree tree = rw.parseCommit(tip.get()).getTree();
            ObjectId folderTree = tree;
            if (!folder.isEmpty()) {
                try (TreeWalk tw = TreeWalk.forPath(repository, folder, tree)) {
                    if (tw == null || tw.getFileMode(0) != FileMode.TREE) {
                        return names;
                    }
                    folderTree = tw.getObjectId(0);
                }
            }
            try (TreeWalk tw = new TreeWalk(repository)) {
                tw.addTree(folderTree);
                tw.setRecursive(false);
                while (tw.next()) {
                    boolean isTree = tw.getFileMode(0) == FileMode.TREE;
                    if (isTree == directories) {
                        names.add(tw.getNameString());
                    }
                }
            }
        }
        return names;
    }

    /**
     * A file's content in a commit.
     *
     * @param commitId the commit (full or abbreviated id, or a ref)
     * @param path the file path
     * @return the content, empty when the commit has no such file
     * @throws IOException when the commit does not exist or the repository fails
     */
    public Optional<byte[]> readAt(String commitId, String path) throws IOException {
        ObjectId id = repository.resolve(commitId + "^{commit}");
        if (id == null) {
            throw new MissingObjectException(ObjectId.zeroId(), "commit " + commitId);
        }
        return readAt(id, path);
    }

    private Optional<byte[]> readAt(ObjectId commit, String path) throws IOException {
        try (RevWalk rw = new RevWalk(repository)) {
            RevTree tree = rw.parseCommit(commit).getTree();
            try (TreeWalk tw = TreeWalk.forPath(repository, path, tree)) {
                if (tw == null || (tw.getFileMode(0).getBits() & FileMode.TYPE_MASK) != FileMode.TYPE_FILE) {
                    return Optional.empty();
                }
                return Optional.of(repository.open(tw.getObjectId(0), Constants.OBJ_BLOB).getBytes());
            }
        }
    }

    /**
     * A file's content at the tip of a branch.
     *
     * @param branch the branch
     * @param path the file path
     * @return the content, empty when the branch or the file does not exist
     * @throws IOException on a repository error
     */
    public Optional<byte[]> read(String branch, String path) throws IOException {
        Optional<ObjectId> tip = branchTip(branch);
        return tip.isEmpty() ? Optional.empty() : readAt(tip.get(), path);
    }

    /**
     * The commits of a branch that changed a file and hold it (like {@code git log BRANCH -- PATH} without the
     * commits that deleted it), newest first.
     *
     * @param branch the branch
     * @param path the file path
     * @return the commits, empty when the branch does not exist or never held the file
     * @throws IOException on a repository error
     */
    public List<CommitInfo> log(String branch, String path) throws IOException {
        List<CommitInfo> commits = new ArrayList<>();
        Optional<ObjectId> tip = branchTip(branch);
        if (tip.isEmpty()) {
            return commits;
        }
        try (RevWalk rw = new RevWalk(repository)) {
            rw.markStart(rw.parseCommit(tip.get()));
            rw.setTreeFilter(AndTreeFilter.create(PathFilter.create(path), TreeFilter.ANY_DIFF));
            for (RevCommit c : rw) {
                try (TreeWalk tw = TreeWalk.forPath(repository, path, c.getTree())) {
                    if (tw == null) {
                        continue; // the commit deleted the file: not a version of it
                    }
                }
                PersonIdent author = c.getAuthorIdent();
                commits.add(new CommitInfo(c.getName(), author.getName(), author.getEmailAddress(),
                        c.getCommitTime() * 1000L, c.getFullMessage()));
            }
        }
        return commits;
    }

    /**
     * One commit's id, author, time and message.
     *
     * @param commitId the commit (full or abbreviated id)
     * @return the commit, empty when there is no such commit
     * @throws IOException on a repository error
     */
    public Optional<CommitInfo> commitInfo(String commitId) throws IOException {
        ObjectId id;
        try {
            id = repository.resolve(commitId + "^{commit}");
        } catch (org.eclipse.jgit.errors.RevisionSyntaxException | org.eclipse.jgit.errors.AmbiguousObjectException
                 | MissingObjectException | org.eclipse.jgit.errors.IncorrectObjectTypeException e) {
            return Optional.empty();
        }
        if (id == null) {
            return Optional.empty();
        }
        try (RevWalk rw = new RevWalk(repository)) {
            RevCommit c = rw.parseCommit(id);
            PersonIdent author = c.getAuthorIdent();
            return Optional.of(new CommitInfo(c.getName(), author.getName(), author.getEmailAddress(),
                    c.getCommitTime() * 1000L, c.getFullMessage()));
        } catch (MissingObjectException e) {
            return Optional.empty(); // a well-formed id of no object here
        }
    }

    /**
     * Commits one file (written, or deleted when {@code content} is null) on top of a branch's tip and moves the
     * branch (local) or pushes the commit to it (remote), in both cases only if the branch is still at
     * {@code expectedTip}.
     *
     * @param branch the branch; created (from {@code expectedTip}, or as a root commit when that is null and the
     *               branch does not exist)
     * @param path the file path
     * @param content the new content, or null to delete the file
     * @param message the commit message
     * @param author the author
     * @param committer the committer
     * @param expectedTip the tip the commit is built on (null: the branch does not exist yet)
     * @return the new commit's id
     * @throws IOException when the branch is checked out in a work tree, moved meanwhile, or Git fails
     */
    public String commit(String branch, String path, byte[] content, String message, PersonIdent author,
                         PersonIdent committer, ObjectId expectedTip) throws IOException {
        File checkoutRepo = remote == null ? repository.getDirectory() : remoteLocalDirectory;
        if (checkoutRepo != null) {
            Set<String> checkedOut = checkedOutBranches(checkoutRepo);
            if (checkedOut.contains(branch)) {
                throw new CheckedOutBranchException("branch " + branch + " is checked out in a work tree of "
                        + checkoutRepo + ": committing to it would change the branch under that work tree (its files "
                        + "would then show the commit reversed as local changes). Use a branch that is not checked "
                        + "out (e.g. a dedicated flows branch) or a bare repository.");
            }
        }
        ObjectId commitId;
        try (ObjectInserter inserter = repository.newObjectInserter(); ObjectReader reader = repository.newObjectReader();
             RevWalk rw = new RevWalk(reader)) {
            DirCache index = DirCache.newInCore();
            DirCacheBuilder builder = index.builder();
            if (expectedTip != null) {
                RevTree tree = rw.parseCommit(expectedTip).getTree();
                try (TreeWalk tw = new TreeWalk(reader)) {
                    tw.addTree(tree);
                    tw.setRecursive(true);
                    while (tw.next()) {
                        if (tw.getPathString().equals(path)) {
                            continue;
                        }
                        DirCacheEntry e = new DirCacheEntry(tw.getRawPath());
                        e.setFileMode(tw.getFileMode(0));
                        e.setObjectId(tw.getObjectId(0));
                        builder.add(e);
                    }
                }
            }
            if (content != null) {
                DirCacheEntry e = new DirCacheEntry(path);
                e.setFileMode(FileMode.REGULAR_FILE);
                e.setObjectId(inserter.insert(Constants.OBJ_BLOB, content));
                builder.add(e);
            }
            builder.finish();
            CommitBuilder cb = new CommitBuilder();
            cb.setTreeId(index.writeTree(inserter));
            if (expectedTip != null) {
                cb.setParentId(expectedTip);
            }
            cb.setAuthor(author);
            cb.setCommitter(committer);
            cb.setMessage(message.endsWith("\n") ? message : message + "\n");
            commitId = inserter.insert(cb);
            inserter.flush();
        }
        if (remote == null) {
            updateRef(Constants.R_HEADS + branch, commitId, expectedTip, message);
        } else {
            push(branch, commitId, expectedTip);
            updateRef(TRACKING_PREFIX + branch, commitId, expectedTip, message);
        }
        return commitId.getName();
    }

    private void updateRef(String ref, ObjectId newId, ObjectId expectedOld, String message) throws IOException {
        RefUpdate update = repository.updateRef(ref);
        update.setNewObjectId(newId);
        update.setExpectedOldObjectId(expectedOld == null ? ObjectId.zeroId() : expectedOld);
        update.setRefLogMessage("commit (nifi flow registry): " + firstLine(message), false);
        RefUpdate.Result result = update.update();
        switch (result) {
            case NEW, FAST_FORWARD, FORCED -> {
            }
            default -> throw new StaleBranchException("could not move " + ref + " to " + newId.getName() + " ("
                    + result + "): the branch moved meanwhile; reload and try again");
        }
    }

    private void push(String branch, ObjectId commitId, ObjectId expectedTip) throws IOException {
        try (Transport transport = Transport.open(repository, remote)) {
            if (credentials != null) {
                transport.setCredentialsProvider(credentials);
            }
            RemoteRefUpdate update = new RemoteRefUpdate(repository, (String) null, commitId,
                    Constants.R_HEADS + branch, false, null,
                    expectedTip == null ? ObjectId.zeroId() : expectedTip);
            transport.push(NullProgressMonitor.INSTANCE, List.of(update));
            RemoteRefUpdate.Status status = update.getStatus();
            if (status == RemoteRefUpdate.Status.REJECTED_NONFASTFORWARD
                    || status == RemoteRefUpdate.Status.REJECTED_REMOTE_CHANGED) {
                throw new StaleBranchException("the remote branch " + branch + " of " + remote
                        + " moved meanwhile (" + status + "); reload and try again");
            }
            if (status != RemoteRefUpdate.Status.OK && status != RemoteRefUpdate.Status.UP_TO_DATE) {
                throw new IOException("push of " + commitId.getName() + " to " + branch + " of " + remote
                        + " failed: " + status + (update.getMessage() == null ? "" : " (" + update.getMessage() + ")"));
            }
        } catch (org.eclipse.jgit.errors.TransportException e) {
            throw new IOException("could not push to " + remote + ": " + e.getMessage(), e);
        }
    }

    private static String firstLine(String message) {
        int nl = message.indexOf('\n');
        return nl < 0 ? message : message.substring(0, nl);
    }

    /**
     * The common git directory of a repository given as a work tree (with a {@code .git} directory or a
     * {@code .git} file of a linked work tree), a linked work tree's git directory, or a (bare) git directory.
     *
     * @param location the directory
     * @return the common git directory, or null when there is no repository
     * @throws IOException when a {@code .git} file cannot be read
     */
    static File commonGitDir(File location) throws IOException {
        File gitDir;
        File dotGit = new File(location, Constants.DOT_GIT);
        if (dotGit.isDirectory()) {
            gitDir = dotGit;
        } else if (dotGit.isFile()) {
            String line = Files.readString(dotGit.toPath(), StandardCharsets.UTF_8).trim();
            if (!line.startsWith("gitdir:")) {
                return null;
            }
            gitDir = resolve(location, line.substring("gitdir:".length()).trim());
        } else if (new File(location, "HEAD").isFile()
                && (new File(location, "objects").isDirectory() || new File(location, "commondir").isFile())) {
            gitDir = location;
        } else {
            return null;
        }
        File commondir = new File(gitDir, "commondir");
        if (commondir.isFile()) {
            gitDir = resolve(gitDir, Files.readString(commondir.toPath(), StandardCharsets.UTF_8).trim());
        }
        return gitDir.getCanonicalFile();
    }

    private static File resolve(File base, String path) {
        File f = new File(path);
        return f.isAbsolute() ? f : new File(base, path);
    }

    /**
     * The branches checked out in the work trees of a repository: its own HEAD unless it is bare, and the HEAD of
     * every linked work tree ({@code worktrees/* /HEAD} of the common directory).
     *
     * @param location the repository (as accepted by {@link #openLocal(File)})
     * @return branch names; empty for a bare repository without linked work trees or a non-repository
     * @throws IOException when the repository cannot be read
     */
    static Set<String> checkedOutBranches(File location) throws IOException {
        Set<String> branches = new TreeSet<>();
        File common = commonGitDir(location);
        if (common == null) {
            return branches;
        }
        boolean bare;
        try (Repository repo = new FileRepository(common)) {
            bare = repo.getConfig().getBoolean("core", "bare", false);
        }
        if (!bare) {
            addHeadBranch(common.toPath().resolve("HEAD"), branches);
        }
        File[] linked = new File(common, "worktrees").listFiles(File::isDirectory);
        if (linked != null) {
            for (File wt : linked) {
                addHeadBranch(wt.toPath().resolve("HEAD"), branches);
            }
        }
        return branches;
    }

    private static void addHeadBranch(Path head, Set<String> branches) throws IOException {
        if (!Files.isRegularFile(head)) {
            return;
        }
        String text = Files.readString(head, StandardCharsets.UTF_8).trim();
        String prefix = "ref: " + Constants.R_HEADS;
        if (text.startsWith(prefix)) {
            branches.add(text.substring(prefix.length()));
        }
    }

    @Override
    public void close() {
        repository.close();
    }

    /** A commit refused because the branch is checked out in a work tree. */
    public static final class CheckedOutBranchException extends IOException {
        CheckedOutBranchException(String message) {
            super(message);
        }
    }

    /** A commit refused because the branch moved after the commit was built. */
    public static final class StaleBranchException extends IOException {
        StaleBranchException(String message) {
            super(message);
        }
    }
}
