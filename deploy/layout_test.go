package deploy

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// readmeLayout returns the paths listed in the code block under "## Layout" in the README, each
// the first word of its line, without the trailing slash.
func readmeLayout(t *testing.T) []string {
	t.Helper()
	var paths []string
	inBlock := false
	for _, line := range readmeSection(t, "## Layout") {
		switch {
		case strings.HasPrefix(line, "```"):
			inBlock = !inBlock
		case inBlock && strings.TrimSpace(line) != "":
			paths = append(paths, strings.TrimSuffix(strings.Fields(line)[0], "/"))
		}
	}
	require.NotEmpty(t, paths, "README.md has no code block under ## Layout")
	return paths
}

// goPackageDirs returns every directory of the repository that holds a Go package (a .go file
// that is not a test), relative to the root, leaving out what the build tools keep.
func goPackageDirs(t *testing.T, root string) []string {
	t.Helper()
	var dirs []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() && path != root && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "testdata") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go") {
			rel, err := filepath.Rel(root, filepath.Dir(path))
			if err != nil {
				return err
			}
			if !slices.Contains(dirs, rel) {
				dirs = append(dirs, rel)
			}
		}
		return nil
	})
	require.NoError(t, err)
	return dirs
}

// The README's layout names every Go package of the tree, and nothing that is not there.
func TestREADMELayoutMatchesTheTree(t *testing.T) {
	t.Parallel()
	listed := readmeLayout(t)
	for _, p := range listed {
		info, err := os.Stat(filepath.Join("..", p))
		require.NoError(t, err, "README.md's layout lists %s, which is not in the tree", p)
		require.True(t, info.IsDir(), "README.md's layout lists %s, which is not a directory", p)
	}
	for _, dir := range goPackageDirs(t, "..") {
		if dir == "tools" || strings.HasPrefix(dir, "tools/") {
			continue // the pinned linters' modules hold no code of the system
		}
		require.Contains(t, listed, dir, "the Go package in %s is missing from README.md's layout", dir)
	}
}
