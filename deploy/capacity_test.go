package deploy

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// The annotations of the oes-common ConfigMap that state the Postgres connection budget.
const (
	annotationMaxConnections      = "oes/postgres-max-connections"
	annotationReservedConnections = "oes/postgres-reserved-connections"
	annotationConnectionBudget    = "oes/postgres-connection-budget"
)

// Connections a process holds besides its pool of DATABASE_MAX_CONNS, by image.
var (
	// `api migrate` runs goose on one connection, which holds the migrations' advisory lock
	// while it waits for it and while it applies them (db.Migrate); it is closed when the
	// command exits.
	migrateConnections = 1
	// The email worker's relay holds a connection of its own for its lock and LISTEN
	// (store.ListenOutbox); a worker that does not lead opens it every few seconds to try.
	ownConnections = map[string]int{"oes-api": 0, "oes-emailworker": 1}
)

// forEachRendering runs f over the rendered base and production overlay. Without kubectl the
// overlay cannot be built, and is skipped.
func forEachRendering(t *testing.T, f func(t *testing.T, o objects)) {
	for _, dir := range []string{"k8s/base", "k8s/overlays/production"} {
		t.Run(dir, func(t *testing.T) {
			o, rendered := render(t, dir)
			if !rendered && dir != "k8s/base" {
				t.Skip("kubectl not found: the overlay's result cannot be built")
			}
			f(t, o)
		})
	}
}

// imageName is an image without its registry and tag.
func imageName(image string) string {
	name, _, _ := strings.Cut(image, ":")
	return name[strings.LastIndex(name, "/")+1:]
}

// usesPostgres says whether a container connects to Postgres: it gets DATABASE_URL.
func usesPostgres(c corev1.Container) bool {
	return slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "DATABASE_URL" })
}

// connections is what one container holds at most: the pool its command opens plus its own
// connections. Only `api serve` and the worker open a pool; `api migrate` does not.
func connections(t *testing.T, o objects, c corev1.Container) (n int, how string) {
	t.Helper()
	if !usesPostgres(c) {
		return 0, "none"
	}
	if imageName(c.Image) == "oes-api" && slices.Equal(c.Args, []string{"migrate"}) {
		return migrateConnections, "migrate"
	}
	values, _ := containerEnv(t, o, c)
	v := effective(values, "DATABASE_MAX_CONNS")
	pool, err := strconv.Atoi(v)
	require.NoError(t, err, "container %s: DATABASE_MAX_CONNS %q", c.Name, v)
	own, known := ownConnections[imageName(c.Image)]
	require.True(t, known, "container %s: which connections does %s hold besides its pool?", c.Name, c.Image)
	if own == 0 {
		return pool, fmt.Sprintf("%d DATABASE_MAX_CONNS", pool)
	}
	return pool + own, fmt.Sprintf("(%d DATABASE_MAX_CONNS + %d outside the pool)", pool, own)
}

// podConnections is what one pod holds at most: its containers together, or one of its init
// containers, which run one at a time and end before the containers start.
func podConnections(t *testing.T, o objects, spec corev1.PodSpec) (int, string) {
	t.Helper()
	n, hows := 0, []string{}
	for _, c := range spec.Containers {
		cn, how := connections(t, o, c)
		if cn > 0 {
			n += cn
			hows = append(hows, how)
		}
	}
	how := strings.Join(hows, " + ")
	for _, c := range spec.InitContainers {
		if cn, ihow := connections(t, o, c); cn > n {
			n, how = cn, ihow
		}
	}
	return n, how
}

// maxPods is how many pods of d can run at once: its autoscaler's maximum (or its replicas),
// plus the pods a rolling update adds over that.
func maxPods(t *testing.T, o objects, d *appsv1.Deployment) (pods, surge int, scaler string) {
	t.Helper()
	pods, scaler = 1, "replicas"
	if d.Spec.Replicas != nil {
		pods = int(*d.Spec.Replicas)
	}
	for _, h := range o.hpas {
		if h.Spec.ScaleTargetRef.Kind == "Deployment" && h.Spec.ScaleTargetRef.Name == d.Name {
			pods, scaler = int(h.Spec.MaxReplicas), "HPA maxReplicas"
		}
	}
	for _, so := range o.scaled {
		if so.Spec.ScaleTargetRef.Name == d.Name {
			pods, scaler = 100, "KEDA's default maxReplicaCount"
			if so.Spec.MaxReplicaCount != nil {
				pods, scaler = int(*so.Spec.MaxReplicaCount), "maxReplicaCount"
			}
		}
	}
	// Kubernetes's defaults: a rolling update with maxSurge 25%, rounded up.
	maxSurge := intstr.FromString("25%")
	switch st := d.Spec.Strategy; {
	case st.Type == appsv1.RecreateDeploymentStrategyType:
		return pods, 0, scaler
	case st.RollingUpdate != nil && st.RollingUpdate.MaxSurge != nil:
		maxSurge = *st.RollingUpdate.MaxSurge
	}
	surge, err := intstr.GetScaledValueFromIntOrPercent(&maxSurge, pods, true)
	require.NoError(t, err, "Deployment %s: maxSurge", d.Name)
	return pods, surge, scaler
}

// connectionBudget reads the budget the oes-common ConfigMap states.
func connectionBudget(t *testing.T, o objects) (budget, maxConns, reserved int) {
	t.Helper()
	a := o.configMap(t, "oes-common").Annotations
	read := func(key string) int {
		v, ok := a[key]
		require.True(t, ok, "the oes-common ConfigMap states no %s", key)
		n, err := strconv.Atoi(v)
		require.NoError(t, err, "%s: %q", key, v)
		return n
	}
	maxConns, reserved, budget = read(annotationMaxConnections), read(annotationReservedConnections), read(annotationConnectionBudget)
	// Postgres keeps superuser_reserved_connections (3 by default) from everyone else.
	require.GreaterOrEqual(t, reserved, 3, "%s: at least Postgres's superuser_reserved_connections (3)", annotationReservedConnections)
	require.Equal(t, maxConns-reserved, budget, "%s must be %s less %s", annotationConnectionBudget, annotationMaxConnections, annotationReservedConnections)
	return budget, maxConns, reserved
}

// TestPostgresConnectionBudget adds up the Postgres connections the workloads can hold at
// once, at their autoscalers' maxima and during a rollout, and checks that they fit the budget
// the manifests state.
func TestPostgresConnectionBudget(t *testing.T) {
	forEachRendering(t, func(t *testing.T, o objects) {
		budget, maxConns, reserved := connectionBudget(t, o)
		total, lines := 0, []string{}
		for _, d := range o.deployments {
			per, how := podConnections(t, o, d.Spec.Template.Spec)
			if per == 0 {
				continue
			}
			pods, surge, scaler := maxPods(t, o, d)
			n := (pods + surge) * per
			total += n
			lines = append(lines, fmt.Sprintf("Deployment %s: (%d %s + %d surge) x %s = %d", d.Name, pods, scaler, surge, how, n))
		}
		for _, j := range o.jobs {
			per, how := podConnections(t, o, j.Spec.Template.Spec)
			if per == 0 {
				continue
			}
			pods := 1
			if j.Spec.Parallelism != nil {
				pods = int(*j.Spec.Parallelism)
			}
			total += pods * per
			lines = append(lines, fmt.Sprintf("Job %s: %d x %s = %d", j.Name, pods, how, pods*per))
		}
		require.NotEmpty(t, lines, "no workload connects to Postgres")
		summary := fmt.Sprintf("%s\ntotal %d, budget %d (max_connections %d less %d reserved)",
			strings.Join(lines, "\n"), total, budget, maxConns, reserved)
		if total > budget {
			t.Fatalf("the workloads can hold more Postgres connections than the budget:\n%s", summary)
		}
		t.Log(summary)
	})
}

// envReference is a $(NAME) in a variable's value, which the kubelet replaces with an earlier
// variable's value.
var envReference = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)`)

// resolveEnv computes c's variables as the kubelet would, for the sources these manifests use:
// literals, with $(NAME) replaced by a variable defined before (from envFrom, whose values
// are given, or earlier in env), and the downward API's resource fields. Secrets stay empty.
func resolveEnv(t *testing.T, c corev1.Container, fromEnvFrom map[string]string) map[string]string {
	t.Helper()
	vars := map[string]string{}
	for k, v := range fromEnvFrom {
		vars[k] = v
	}
	out := map[string]string{}
	for _, e := range c.Env {
		var v string
		switch {
		case e.ValueFrom == nil:
			v = envReference.ReplaceAllStringFunc(e.Value, func(ref string) string {
				if val, ok := vars[ref[2:len(ref)-1]]; ok {
					return val
				}
				return ref // the kubelet leaves an unknown reference as it is
			})
		case e.ValueFrom.ResourceFieldRef != nil:
			v = resourceField(t, c, e.ValueFrom.ResourceFieldRef)
		}
		vars[e.Name], out[e.Name] = v, v
	}
	return out
}

// resourceField is the value the downward API gives for one of c's resource limits or
// requests: the quantity over the divisor, rounded up.
func resourceField(t *testing.T, c corev1.Container, ref *corev1.ResourceFieldSelector) string {
	t.Helper()
	require.True(t, ref.ContainerName == "" || ref.ContainerName == c.Name, "container %s reads another container's %s", c.Name, ref.Resource)
	kind, name, _ := strings.Cut(ref.Resource, ".")
	list := c.Resources.Limits
	if kind == "requests" {
		list = c.Resources.Requests
	}
	q, ok := list[corev1.ResourceName(name)]
	require.True(t, ok, "container %s: the downward API's %s is unset (the node's capacity would be used)", c.Name, ref.Resource)
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	return strconv.FormatInt(int64(math.Ceil(float64(q.Value())/float64(divisor.Value()))), 10)
}

// parseGoMemLimit reads a GOMEMLIMIT as the Go runtime does: a whole number of bytes with an
// optional unit suffix B, KiB, MiB, GiB or TiB.
func parseGoMemLimit(s string) (int64, error) {
	units := []struct {
		suffix string
		factor int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}
	num, factor := s, int64(1)
	for _, u := range units {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			num, factor = n, u.factor
			break
		}
	}
	if num == "" || strings.Trim(num, "0123456789") != "" {
		return 0, fmt.Errorf("GOMEMLIMIT %q is not a number of bytes with a unit (the Go runtime refuses to start)", s)
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n > math.MaxInt64/factor {
		return 0, fmt.Errorf("GOMEMLIMIT %q: out of range", s)
	}
	return n * factor, nil
}

func TestParseGoMemLimit(t *testing.T) {
	for in, want := range map[string]int64{"512": 512, "512000000B": 512000000, "460MiB": 460 << 20, "1GiB": 1 << 30} {
		got, err := parseGoMemLimit(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "MiB", "$(MEMORY_LIMIT_MIB)000000B", "512 MiB", "0.5GiB", "512MB"} {
		_, err := parseGoMemLimit(in)
		require.Error(t, err, in)
	}
}

// TestGoMemoryLimit checks that every container with a memory limit gives the Go runtime a
// soft limit under it, so that the garbage collector works harder before the container is
// killed at the limit, while leaving room for what the runtime does not count.
func TestGoMemoryLimit(t *testing.T) {
	forEachRendering(t, func(t *testing.T, o objects) {
		check := func(kind, name string, spec corev1.PodSpec) {
			for _, c := range slices.Concat(spec.InitContainers, spec.Containers) {
				limit := c.Resources.Limits.Memory()
				if limit.IsZero() {
					continue
				}
				what := describe(kind, name, c.Name)
				values, _ := containerEnv(t, o, c)
				v, ok := values["GOMEMLIMIT"]
				require.True(t, ok, "%s: a memory limit of %s and no GOMEMLIMIT", what, limit)
				soft, err := parseGoMemLimit(v)
				require.NoError(t, err, what)
				ratio := float64(soft) / float64(limit.Value())
				require.LessOrEqual(t, soft, limit.Value(), "%s: GOMEMLIMIT %s (%d bytes) is over the memory limit %s", what, v, soft, limit)
				require.True(t, ratio >= 0.80 && ratio <= 0.96,
					"%s: GOMEMLIMIT %s (%d bytes) is %.1f%% of the memory limit %s; want 80%% to 96%%", what, v, soft, 100*ratio, limit)
			}
		}
		for _, d := range o.deployments {
			check("Deployment", d.Name, d.Spec.Template.Spec)
		}
		for _, j := range o.jobs {
			check("Job", j.Name, j.Spec.Template.Spec)
		}
	})
}

// TestMigrationsComeFirst checks that no pod reaches Postgres before its release's schema
// migrations have run: every workload that connects to Postgres first runs `api migrate` of
// the api's image, with the same database, in an init container. Concurrent runs take turns
// on goose's advisory lock (db.Migrate), so any number of pods may start at once.
func TestMigrationsComeFirst(t *testing.T) {
	forEachRendering(t, func(t *testing.T, o objects) {
		for _, j := range o.jobs {
			for _, c := range j.Spec.Template.Spec.Containers {
				require.False(t, slices.Equal(c.Args, []string{"migrate"}),
					"Job %s: the migrations run in the workloads' init containers; a Job would run unordered with them", j.Name)
			}
		}
		apiImage := o.deployment(t, "oes-api").Spec.Template.Spec.Containers[0].Image
		require.Equal(t, "oes-api", imageName(apiImage))
		for _, d := range o.deployments {
			spec := d.Spec.Template.Spec
			for _, c := range spec.Containers {
				if !usesPostgres(c) {
					continue
				}
				what := describe("Deployment", d.Name, c.Name)
				require.NotEmpty(t, spec.InitContainers, "%s connects to Postgres without running the migrations first", what)
				m := spec.InitContainers[0]
				require.Equal(t, apiImage, m.Image, "%s: the first init container must be the api's image", what)
				require.Equal(t, []string{"migrate"}, m.Args, "%s: the first init container must run `api migrate`", what)
				require.Equal(t, secretRef(c, "DATABASE_URL"), secretRef(m, "DATABASE_URL"), "%s: the migrations must go to its database", what)
			}
		}
	})
}

// secretRef names the Secret key a container's variable comes from.
func secretRef(c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			return e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
		}
	}
	return ""
}

// composeService is the part of a Compose service these tests read.
type composeService struct {
	Image           string            `json:"image"`
	Command         []string          `json:"command"`
	Environment     map[string]string `json:"environment"`
	StopGracePeriod string            `json:"stop_grace_period"`
	DependsOn       json.RawMessage   `json:"depends_on"`
}

func readCompose(t *testing.T) map[string]composeService {
	t.Helper()
	data, err := os.ReadFile("compose.yaml")
	require.NoError(t, err)
	var stack struct {
		Services map[string]composeService `json:"services"`
	}
	require.NoError(t, yaml.Unmarshal(data, &stack))
	return stack.Services
}

// dependencies maps the services s waits for to the condition it waits for, in either of
// Compose's forms (a list waits for each to start).
func (s composeService) dependencies(t *testing.T) map[string]string {
	t.Helper()
	deps := map[string]string{}
	if len(s.DependsOn) == 0 {
		return deps
	}
	var list []string
	if json.Unmarshal(s.DependsOn, &list) == nil {
		for _, n := range list {
			deps[n] = "service_started"
		}
		return deps
	}
	var long map[string]struct {
		Condition string `json:"condition"`
	}
	require.NoError(t, json.Unmarshal(s.DependsOn, &long), "depends_on")
	for n, d := range long {
		deps[n] = cmp.Or(d.Condition, "service_started")
	}
	return deps
}

// ours says whether a service runs one of the project's images.
func (s composeService) ours() bool {
	name := imageName(s.Image)
	return name == "oes-api" || name == "oes-emailworker"
}

// oneShot says whether a service of ours runs a command that finishes by itself.
func (s composeService) oneShot() bool {
	return imageName(s.Image) == "oes-api" && len(s.Command) > 0 && (s.Command[0] == "migrate" || s.Command[0] == "seed")
}

// TestComposeStopGracePeriod checks that Compose gives each long-running service of ours the
// time its SHUTDOWN_TIMEOUT asks for, with shutdownMargin, before it kills it.
func TestComposeStopGracePeriod(t *testing.T) {
	seen := 0
	for name, svc := range readCompose(t) {
		if !svc.ours() || svc.oneShot() {
			continue
		}
		seen++
		grace := 10 * time.Second // Compose's default
		if svc.StopGracePeriod != "" {
			var err error
			grace, err = time.ParseDuration(svc.StopGracePeriod)
			require.NoError(t, err, "service %s: stop_grace_period", name)
		}
		shutdown := shutdownTimeout(t, svc.Environment)
		require.GreaterOrEqual(t, grace, shutdown+shutdownMargin,
			"service %s: stop_grace_period %s is shorter than SHUTDOWN_TIMEOUT %s and %s", name, grace, shutdown, shutdownMargin)
	}
	require.Equal(t, 2, seen, "the api and the worker")
}

// TestComposeMigratesFirst checks that the api and the worker start only after the migrations
// completed.
func TestComposeMigratesFirst(t *testing.T) {
	services := readCompose(t)
	require.Equal(t, []string{"migrate"}, services["migrate"].Command)
	// after says whether name waits for migrate to complete, directly or through a service it
	// waits for: Compose starts a service only once its own conditions hold.
	var after func(name string, seen map[string]bool) bool
	after = func(name string, seen map[string]bool) bool {
		if seen[name] {
			return false
		}
		seen[name] = true
		for dep, cond := range services[name].dependencies(t) {
			if dep == "migrate" && cond == "service_completed_successfully" || after(dep, seen) {
				return true
			}
		}
		return false
	}
	for name, svc := range services {
		if !svc.ours() || svc.oneShot() {
			continue
		}
		require.True(t, after(name, map[string]bool{}), "service %s may start before the migrations completed", name)
	}
}
