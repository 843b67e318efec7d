package deploy

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

// pinned are the variables the deployment files may set to their defaults, each for a reason
// the file gives: a value other files depend on, which must not change with a new default.
var pinned = map[string]bool{
	// The ScaledObject's list names are written from it.
	"QUEUE_PREFIX": true,
}

// isDefault says whether value is the default def of a variable: the same text, or the same
// duration written another way (2s and 2000ms).
func isDefault(value, def string) bool {
	if value == def {
		return true
	}
	v, errV := time.ParseDuration(value)
	d, errD := time.ParseDuration(def)
	return errV == nil && errD == nil && v == d
}

// TestManifestsRestateNoDefault keeps every default in one place, pkg/config: the ConfigMaps,
// the workloads' own variables and the Compose stack set a variable only to a value of their
// own, unless pinned says why.
func TestManifestsRestateNoDefault(t *testing.T) {
	defaults := binaryDefaults()
	check := func(where string, env map[string]string) {
		for name, value := range env {
			def, ours := defaults[name]
			if ours && !pinned[name] {
				require.False(t, isDefault(value, def),
					"%s sets %s to its default %q: leave it out (the default is declared in pkg/config), or pin it with a reason", where, name, value)
			}
		}
	}

	var files objects
	decodeFile(t, "k8s/base/config.yaml", &files)
	decodeFile(t, "k8s/overlays/production/config.yaml", &files)
	require.NotEmpty(t, files.configMaps)
	for _, cm := range files.configMaps {
		check("ConfigMap "+cm.Name, cm.Data)
	}
	base, _ := render(t, "k8s/base")
	for _, d := range base.deployments {
		for _, c := range append(d.Spec.Template.Spec.InitContainers, d.Spec.Template.Spec.Containers...) {
			env := map[string]string{}
			for _, e := range c.Env {
				if e.ValueFrom == nil {
					env[e.Name] = e.Value
				}
			}
			check(describe("Deployment", d.Name, c.Name), env)
		}
	}

	data, err := os.ReadFile("compose.yaml")
	require.NoError(t, err)
	var stack struct {
		Services map[string]struct {
			Environment map[string]string `json:"environment"`
		} `json:"services"`
	}
	require.NoError(t, yaml.Unmarshal(data, &stack))
	for name, svc := range stack.Services {
		check("Compose service "+name, svc.Environment)
	}
}

func TestIsDefault(t *testing.T) {
	t.Parallel()
	require.True(t, isDefault("2000ms", "2000ms"))
	require.True(t, isDefault("2s", "2000ms"))
	require.False(t, isDefault("3s", "2000ms"))
	require.True(t, isDefault("", ""))
	require.False(t, isDefault("4", "10"))
}
