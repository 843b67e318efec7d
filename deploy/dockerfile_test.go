package deploy

import (
	"debug/elf"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// There is no Docker engine where these tests run, so TestDockerfiles replays each image's build
// stage on the host: COPY from the repository root into a temporary image filesystem, RUN with
// sh -c there. That catches what a `docker build` would: a COPY that misses a directory the
// binary needs, a RUN that fails, a module that cannot be downloaded, a bad build flag.
func TestDockerfiles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds both binaries")
	}
	for _, name := range []string{"api", "emailworker"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			replayDockerfile(t, "..", filepath.Join("docker", name+".Dockerfile"))
		})
	}
}

// instruction is one Dockerfile instruction, continuations joined and comments dropped.
type instruction struct{ cmd, args string }

// parseDockerfile splits a Dockerfile into stages, each starting with its FROM.
func parseDockerfile(t *testing.T, path string) [][]instruction {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var stages [][]instruction
	var cur string
	for _, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		// Docker drops comment lines even inside a continuation.
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if rest, ok := strings.CutSuffix(trimmed, `\`); ok {
			cur += rest + " "
			continue
		}
		cur += trimmed
		cmd, args, _ := strings.Cut(cur, " ")
		cur = ""
		in := instruction{strings.ToUpper(cmd), strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			stages = append(stages, nil)
		}
		require.NotEmpty(t, stages, "%s: %s before the first FROM", path, in.cmd)
		stages[len(stages)-1] = append(stages[len(stages)-1], in)
	}
	require.Empty(t, cur, "%s ends in a continuation", path)
	require.GreaterOrEqual(t, len(stages), 2, "%s: a build stage and a final stage", path)
	return stages
}

func replayDockerfile(t *testing.T, repo, dockerfile string) {
	stages := parseDockerfile(t, dockerfile)
	build, final := stages[0], stages[len(stages)-1]

	// The build stage's Go must be the workspace's: an older one refuses go.work, a newer one
	// builds with a toolchain the tests never ran on.
	from := regexp.MustCompile(`(?i)^golang:(\d+\.\d+)\S*\s+AS\s+build$`).FindStringSubmatch(build[0].args)
	require.NotNil(t, from, "%s: the first stage must be `FROM golang:<version> AS build`, got %q", dockerfile, build[0].args)
	work, err := os.ReadFile(filepath.Join(repo, "go.work"))
	require.NoError(t, err)
	goDirective := regexp.MustCompile(`(?m)^go (\d+\.\d+)(\.\d+)?$`).FindSubmatch(work)
	require.NotNil(t, goDirective, "go.work has no go directive")
	require.Equal(t, string(goDirective[1]), from[1], "%s: golang image vs go.work's go directive", dockerfile)

	root := t.TempDir() // the build container's filesystem
	ignored := dockerignore(t, repo)
	workdir := "/"
	env := buildEnv()
	for _, in := range build[1:] {
		switch in.cmd {
		case "WORKDIR":
			workdir = imagePath(workdir, in.args)
			require.NoError(t, os.MkdirAll(filepath.Join(root, workdir), 0o755))
		case "ENV", "ARG":
			// A single unquoted K=V sets a variable for later RUNs; several pairs, quoting,
			// ARG K without a default and the legacy `ENV K V` are refused, not guessed at.
			require.True(t, strings.Contains(in.args, "=") && !strings.ContainsAny(in.args, " \t\"'"),
				"%s: unsupported %s %s", dockerfile, in.cmd, in.args)
			env = append(env, in.args)
		case "COPY":
			args := strings.Fields(in.args)
			require.GreaterOrEqual(t, len(args), 2, "%s: COPY %s", dockerfile, in.args)
			require.False(t, strings.HasPrefix(args[0], "--"), "%s: COPY flags are not replayed: COPY %s", dockerfile, in.args)
			srcs, dst := args[:len(args)-1], args[len(args)-1]
			// Docker's rule: the destination is a directory when it ends in / or there are
			// several sources; a directory source copies its contents, not itself.
			toDir := strings.HasSuffix(dst, "/") || len(srcs) > 1
			dst = filepath.Join(root, imagePath(workdir, dst))
			for _, src := range srcs {
				from := filepath.Join(repo, src)
				info, err := os.Stat(from)
				require.NoError(t, err, "%s: COPY %s: the source is not in the build context", dockerfile, in.args)
				to := dst
				if toDir && !info.IsDir() {
					to = filepath.Join(dst, filepath.Base(from))
				}
				copyTree(t, repo, from, to, ignored)
			}
		case "RUN":
			require.False(t, strings.HasPrefix(in.args, "["), "%s: RUN in exec form is not replayed", dockerfile)
			// Build outputs go to absolute paths such as `-o /out/api`; on the host they are
			// rewritten into the image filesystem. Only /out/ is mapped: another absolute path
			// in a RUN would write to the host, so keep outputs under /out/.
			script := strings.ReplaceAll(in.args, " /out/", " "+filepath.Join(root, "out")+"/")
			cmd := exec.CommandContext(t.Context(), "sh", "-c", script)
			cmd.Dir = filepath.Join(root, workdir)
			cmd.Env = env
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s: RUN %s failed:\n%s", dockerfile, in.args, out)
		default:
			t.Fatalf("%s: the replay does not know %s in the build stage; teach it or keep the stage simple", dockerfile, in.cmd)
		}
	}

	// The final stage: what it takes from the build must exist and run on scratch, as a
	// non-root user, through an ENTRYPOINT naming a copied binary.
	copied := map[string]bool{}
	var user, entrypoint string
	for _, in := range final[1:] {
		switch in.cmd {
		case "COPY":
			args := strings.Fields(in.args)
			if args[0] != "--from=build" {
				continue
			}
			require.Len(t, args, 3, "%s: COPY %s", dockerfile, in.args)
			copied[args[2]] = true
			// Anything outside /out/ (the CA bundle) comes from the golang image itself,
			// which the replay does not have; Docker checks those.
			if !strings.HasPrefix(args[1], "/out/") {
				continue
			}
			requireStaticBinary(t, filepath.Join(root, args[1]))
		case "USER":
			user = in.args
		case "ENTRYPOINT":
			entrypoint = in.args
		}
	}
	require.Regexp(t, `^[0-9]+(:[0-9]+)?$`, user, "%s: USER must be numeric for runAsNonRoot", dockerfile)
	uid, _, _ := strings.Cut(user, ":")
	n, err := strconv.Atoi(uid)
	require.NoError(t, err)
	require.NotZero(t, n, "%s: USER is root", dockerfile)
	var argv []string
	require.NoError(t, json.Unmarshal([]byte(entrypoint), &argv), "%s: ENTRYPOINT must be in exec form", dockerfile)
	require.NotEmpty(t, argv, "%s: ENTRYPOINT is empty", dockerfile)
	require.True(t, copied[argv[0]], "%s: ENTRYPOINT %s is not copied from the build stage", dockerfile, argv[0])
}

// imagePath resolves an image path against the current WORKDIR.
func imagePath(workdir, p string) string {
	if !filepath.IsAbs(p) {
		p = filepath.Join(workdir, p)
	}
	return filepath.Clean(p)
}

// buildEnv is the host's environment as the golang image would see it: no workspace override
// and no GOFLAGS (the image sets neither), the local toolchain only (the image sets
// GOTOOLCHAIN=local), and linux output whatever the host. The module cache and proxy stay the
// host's, so the replay works offline once the modules are cached.
func buildEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GOWORK", "GOFLAGS", "GOTOOLCHAIN", "GOOS", "CGO_ENABLED":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "GOTOOLCHAIN=local", "GOOS=linux", "GOFLAGS=")
}

// dockerignore reads the simple patterns of the context's .dockerignore, if there is one.
func dockerignore(t *testing.T, repo string) []string {
	data, err := os.ReadFile(filepath.Join(repo, ".dockerignore"))
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	var patterns []string
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		require.False(t, strings.HasPrefix(line, "!") || strings.Contains(line, "**"),
			".dockerignore pattern %q is beyond the replay", line)
		patterns = append(patterns, filepath.Clean(strings.TrimPrefix(line, "/")))
	}
	return patterns
}

// copyTree copies a file or directory, skipping what .dockerignore excludes: a path is
// excluded when it or one of its parents matches a pattern.
func copyTree(t *testing.T, repo, from, to string, ignored []string) {
	require.NoError(t, filepath.Walk(from, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(repo, path)
		require.NoError(t, err)
		for _, p := range ignored {
			if ok, _ := filepath.Match(p, rel); ok {
				if info.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		sub, err := filepath.Rel(from, path)
		require.NoError(t, err)
		dst := filepath.Join(to, sub)
		switch {
		case info.IsDir():
			return os.MkdirAll(dst, 0o755)
		case info.Mode()&os.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, dst)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, data, info.Mode().Perm())
	}))
}

// requireStaticBinary checks that path is an executable ELF with no interpreter and no dynamic
// section: scratch has no loader and no libc.
func requireStaticBinary(t *testing.T, path string) {
	info, err := os.Stat(path)
	require.NoError(t, err, "the build stage did not produce %s", path)
	require.NotZero(t, info.Mode().Perm()&0o111, "%s is not executable", path)
	f, err := elf.Open(path)
	require.NoError(t, err, "%s is not an ELF binary", path)
	defer f.Close()
	for _, p := range f.Progs {
		require.NotEqual(t, elf.PT_INTERP, p.Type, "%s is dynamically linked (PT_INTERP)", path)
		require.NotEqual(t, elf.PT_DYNAMIC, p.Type, "%s is dynamically linked (PT_DYNAMIC)", path)
	}
}
