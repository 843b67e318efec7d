package deploy

import (
	"maps"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/config"
	"github.com/oeshq/oes/pkg/config/workerenv"
)

// readmeVariable is one row of the README's configuration table.
type readmeVariable struct {
	def, readBy, meaning string
}

// readmeSection returns the lines of the README's section titled heading ("## Layout"), up
// to the next heading of its level.
func readmeSection(t *testing.T, heading string) []string {
	t.Helper()
	data, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	var lines []string
	in := false
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "## ") {
			if in {
				break
			}
			in = line == heading
			continue
		}
		if in {
			lines = append(lines, line)
		}
	}
	require.NotEmpty(t, lines, "README.md has no section %q", heading)
	return lines
}

// readmeConfiguration parses the table under "## Configuration" in the repository's README:
// columns variable | default | read by | meaning, the first two written as code.
func readmeConfiguration(t *testing.T) map[string]readmeVariable {
	t.Helper()
	rows := map[string]readmeVariable{}
	inTable, header := false, false
	for _, line := range readmeSection(t, "## Configuration") {
		if !strings.HasPrefix(line, "|") {
			if inTable {
				break // the first table of the section only
			}
			continue
		}
		cells := strings.Split(line, "|")
		require.GreaterOrEqual(t, len(cells), 6, "configuration table row %q", line)
		cells = cells[1 : len(cells)-1]
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if !inTable {
			inTable, header = true, true
			require.Equal(t, []string{"variable", "default", "read by", "meaning"}, cells[:4], "configuration table header")
			continue
		}
		if header { // the |---|---| line
			header = false
			continue
		}
		name := strings.Trim(cells[0], "`")
		_, dup := rows[name]
		require.False(t, dup, "the configuration table lists %s twice", name)
		rows[name] = readmeVariable{
			def:     strings.Trim(cells[1], "`"),
			readBy:  cells[2],
			meaning: strings.Join(cells[3:], "|"),
		}
	}
	require.NotEmpty(t, rows, "README.md has no configuration table under ## Configuration")
	return rows
}

// binaryDefaults maps every variable either binary reads to its default as --help prints it.
func binaryDefaults() map[string]string {
	defaults := config.DefaultTexts[config.API]()
	maps.Copy(defaults, config.DefaultTexts[workerenv.Env]())
	return defaults
}

func TestREADMEConfigurationTableMatchesTheBinaries(t *testing.T) {
	api, worker := apiVariables, workerVariables
	defaults := binaryDefaults()

	rows := readmeConfiguration(t)
	for name := range defaults {
		var want string
		switch {
		case api[name] && worker[name]:
			want = "api and worker"
		case api[name]:
			want = "api"
		default:
			want = "worker"
		}
		row, ok := rows[name]
		if !assert.True(t, ok, "README configuration table lacks %s (read by %s)", name, want) {
			continue
		}
		require.Equal(t, defaults[name], row.def, "README default of %s", name)
		require.Equal(t, want, row.readBy, "README 'read by' of %s", name)
		require.NotEmpty(t, row.meaning, "README meaning of %s", name)
	}
	for name := range rows {
		_, ok := defaults[name]
		require.True(t, ok, "README configuration table lists %s, which neither binary reads", name)
	}
}
