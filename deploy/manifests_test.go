package deploy

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/oeshq/oes/pkg/config"
	"github.com/oeshq/oes/pkg/config/workerenv"
)

// What `api serve` cannot run without, and which must come from a Secret.
var apiRequiredSecrets = []string{"DATABASE_URL", "JWT_SECRET", "CACHE_ENCRYPTION_KEY"}

// The variables each binary reads.
var (
	apiVariables    = setOf(config.Variables[config.API]())
	workerVariables = setOf(config.Variables[workerenv.Env]())
)

func setOf(names []string) map[string]bool {
	set := map[string]bool{}
	for _, n := range names {
		set[n] = true
	}
	return set
}

// binaryOf says which binary an image holds, ignoring its tag.
func binaryOf(t *testing.T, image string) map[string]bool {
	t.Helper()
	name, _, _ := strings.Cut(image, ":")
	switch name[strings.LastIndex(name, "/")+1:] {
	case "oes-api":
		return apiVariables
	case "oes-emailworker":
		return workerVariables
	}
	t.Fatalf("image %q is neither oes-api nor oes-emailworker", image)
	return nil
}

// runtimeVariables are the Go runtime's own variables a container may set besides its
// binary's configuration.
var runtimeVariables = map[string]bool{"GOMEMLIMIT": true, "GOGC": true, "GOMAXPROCS": true}

// containerEnv is what a container receives: its values, literal or from the downward API
// (resolved by resolveEnv), and the names taken from a Secret.
func containerEnv(t *testing.T, o objects, c corev1.Container) (values map[string]string, secret map[string]bool) {
	t.Helper()
	values, secret = map[string]string{}, map[string]bool{}
	for _, from := range c.EnvFrom {
		require.NotNil(t, from.ConfigMapRef, "container %s: envFrom only from ConfigMaps, Secrets by key", c.Name)
		for k, v := range o.configMap(t, from.ConfigMapRef.Name).Data {
			values[k] = v
		}
	}
	resolved := resolveEnv(t, c, values)
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			secret[e.Name] = true
			continue
		}
		values[e.Name] = resolved[e.Name]
	}
	return values, secret
}

// referenced lists the variables that another of c's variables names as $(NAME): helpers
// such as MEMORY_LIMIT_MIB, which build a value and are read by nobody.
func referenced(c corev1.Container) map[string]bool {
	names := map[string]bool{}
	for _, e := range c.Env {
		for _, m := range envReference.FindAllStringSubmatch(e.Value, -1) {
			names[m[1]] = true
		}
	}
	return names
}

// effective is the value of the variable name a container runs with: its environment's, or the
// binaries' default when it sets none.
func effective(values map[string]string, name string) string {
	if v, ok := values[name]; ok {
		return v
	}
	return binaryDefaults()[name]
}

func portOf(t *testing.T, addr string) int32 {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	require.NoError(t, err, addr)
	p, err := net.DefaultResolver.LookupPort(t.Context(), "tcp", port)
	require.NoError(t, err)
	return int32(p)
}

// namedPort resolves a probe's or a Service's port against the container's ports.
func namedPort(t *testing.T, c corev1.Container, port intstr.IntOrString) int32 {
	t.Helper()
	if port.Type == intstr.Int {
		return port.IntVal
	}
	for _, p := range c.Ports {
		if p.Name == port.StrVal {
			return p.ContainerPort
		}
	}
	t.Fatalf("container %s has no port named %q", c.Name, port.StrVal)
	return 0
}

func requireHardened(t *testing.T, what string, spec corev1.PodSpec, c corev1.Container) {
	t.Helper()
	require.NotNil(t, spec.SecurityContext, what)
	require.True(t, *spec.SecurityContext.RunAsNonRoot, "%s: runAsNonRoot", what)
	sc := c.SecurityContext
	require.NotNil(t, sc, what)
	require.True(t, *sc.ReadOnlyRootFilesystem, "%s: readOnlyRootFilesystem", what)
	require.False(t, *sc.AllowPrivilegeEscalation, "%s: allowPrivilegeEscalation", what)
	require.Equal(t, []corev1.Capability{"ALL"}, sc.Capabilities.Drop, "%s: capabilities", what)
	require.NotNil(t, c.Resources.Requests.Cpu(), what)
	require.False(t, c.Resources.Limits.Memory().IsZero(), "%s: memory limit", what)
}

func TestManifests(t *testing.T) {
	for _, dir := range []string{"k8s/base", "k8s/overlays/production"} {
		t.Run(dir, func(t *testing.T) {
			o, rendered := render(t, dir)
			if !rendered && dir != "k8s/base" {
				// Without kustomize an overlay is checked by its files only (decoded by
				// render); its result is the base's, checked there.
				k := readKustomization(t, dir)
				require.Contains(t, k.Resources, "../../base")
				return
			}
			checkObjects(t, o)
		})
	}
}

func checkObjects(t *testing.T, o objects) {
	example := objects{}
	decodeFile(t, "k8s/base/secret.example.yaml", &example)
	require.Len(t, example.secrets, 1)
	secretKeys := example.secrets[0].StringData
	require.Empty(t, o.secrets, "secrets stay out of the manifests")

	checkContainer := func(kind, name string, spec corev1.PodSpec, c corev1.Container) (map[string]string, map[string]bool) {
		what := describe(kind, name, c.Name)
		reads := binaryOf(t, c.Image)
		values, secret := containerEnv(t, o, c)
		helpers := referenced(c)
		for n := range values {
			require.True(t, reads[n] || runtimeVariables[n] || helpers[n], "%s: sets %s, which its binary does not read", what, n)
		}
		for n := range secret {
			require.True(t, reads[n], "%s: sets %s, which its binary does not read", what, n)
		}
		for _, e := range c.Env {
			if ref := e.ValueFrom; ref != nil && ref.SecretKeyRef != nil {
				require.Equal(t, "oes-secrets", ref.SecretKeyRef.Name, what)
				require.Contains(t, secretKeys, ref.SecretKeyRef.Key, "%s: secret.example.yaml lacks the key", what)
			}
		}
		requireHardened(t, what, spec, c)
		return values, secret
	}
	// A workload's one container, after checking its init containers (the migrations, which
	// TestMigrationsComeFirst checks further).
	checkPod := func(kind, name string, spec corev1.PodSpec) (corev1.Container, map[string]string, map[string]bool) {
		for _, ic := range spec.InitContainers {
			checkContainer(kind, name, spec, ic)
		}
		require.Len(t, spec.Containers, 1, "%s %s", kind, name)
		c := spec.Containers[0]
		values, secret := checkContainer(kind, name, spec, c)
		return c, values, secret
	}

	// The api: every required secret, probes and ports where the binary serves them.
	api := o.deployment(t, "oes-api")
	c, values, secret := checkPod("Deployment", api.Name, api.Spec.Template.Spec)
	require.Equal(t, []string{"serve"}, c.Args)
	for _, n := range apiRequiredSecrets {
		require.True(t, secret[n], "api: %s must come from a Secret", n)
	}
	require.GreaterOrEqual(t, *api.Spec.Replicas, int32(2))
	httpPort := portOf(t, effective(values, "HTTP_ADDR"))
	require.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path)
	require.Equal(t, "/healthz", c.LivenessProbe.HTTPGet.Path)
	require.Equal(t, httpPort, namedPort(t, c, c.ReadinessProbe.HTTPGet.Port))
	require.Equal(t, httpPort, namedPort(t, c, c.LivenessProbe.HTTPGet.Port))
	require.Equal(t, "http", c.Ports[0].Name)
	require.Equal(t, portOf(t, effective(values, "METRICS_ADDR")), namedPort(t, c, intstr.FromString("metrics")))
	requireGracePeriod(t, "Deployment "+api.Name, api.Spec.Template.Spec, c, values)

	require.Len(t, o.services, 1)
	require.Equal(t, httpPort, namedPort(t, c, o.services[0].Spec.Ports[0].TargetPort))
	require.Equal(t, api.Spec.Selector.MatchLabels, o.services[0].Spec.Selector)
	require.Len(t, o.ingresses, 1)
	require.Equal(t, o.services[0].Name, o.ingresses[0].Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name)
	require.Len(t, o.hpas, 1)
	require.Equal(t, api.Name, o.hpas[0].Spec.ScaleTargetRef.Name)
	require.GreaterOrEqual(t, *o.hpas[0].Spec.MinReplicas, int32(2))
	require.Len(t, o.pdbs, 1)
	require.Equal(t, api.Spec.Selector, o.pdbs[0].Spec.Selector)

	// The worker: probes on HEALTH_ADDR, and time to finish deliveries on SIGTERM.
	worker := o.deployment(t, "oes-emailworker")
	c, values, secret = checkPod("Deployment", worker.Name, worker.Spec.Template.Spec)
	require.True(t, secret["QUEUE_REDIS_URL"] || secret["REDIS_URL"], "worker: the queue's Redis URL must come from a Secret")
	healthPort := portOf(t, effective(values, "HEALTH_ADDR"))
	require.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path)
	require.Equal(t, "/healthz", c.LivenessProbe.HTTPGet.Path)
	require.Equal(t, healthPort, namedPort(t, c, c.ReadinessProbe.HTTPGet.Port))
	require.Equal(t, healthPort, namedPort(t, c, c.LivenessProbe.HTTPGet.Port))
	requireGracePeriod(t, "Deployment "+worker.Name, worker.Spec.Template.Spec, c, values)

	// KEDA watches the pending list of each of the worker's lanes.
	require.Len(t, o.scaled, 1)
	so := o.scaled[0]
	require.Equal(t, worker.Name, so.Spec.ScaleTargetRef.Name)
	prefix := effective(values, "QUEUE_PREFIX")
	var lists []string
	for _, tr := range so.Spec.Triggers {
		require.Equal(t, "redis", tr.Type)
		lists = append(lists, tr.Metadata["listName"])
		require.NotNil(t, tr.AuthenticationRef)
		require.Len(t, o.triggerAuth, 1)
		require.Equal(t, o.triggerAuth[0].Name, tr.AuthenticationRef.Name)
	}
	require.ElementsMatch(t, []string{
		"asynq:{" + prefix + ":critical}:pending",
		"asynq:{" + prefix + ":default}:pending",
		"asynq:{" + prefix + ":low}:pending",
	}, lists)
	for _, ref := range o.triggerAuth[0].Spec.SecretTargetRef {
		require.Contains(t, secretKeys, ref.Key)
	}
}

// shutdownMargin is what a grace period must leave beyond SHUTDOWN_TIMEOUT (and a preStop
// pause): the exit after the last request or delivery, closing the pools, a slow node.
const shutdownMargin = 5 * time.Second

// shutdownTimeout is the SHUTDOWN_TIMEOUT of a container's environment, or the binaries'
// default when it sets none.
func shutdownTimeout(t *testing.T, values map[string]string) time.Duration {
	t.Helper()
	v := effective(values, "SHUTDOWN_TIMEOUT")
	d, err := time.ParseDuration(v)
	require.NoError(t, err, "SHUTDOWN_TIMEOUT %q", v)
	return d
}

// requireGracePeriod checks that a pod is given the time to stop that its container asks for:
// the preStop pause, SHUTDOWN_TIMEOUT and shutdownMargin.
func requireGracePeriod(t *testing.T, what string, spec corev1.PodSpec, c corev1.Container, values map[string]string) {
	t.Helper()
	need := shutdownTimeout(t, values) + shutdownMargin
	if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
		need += time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
	}
	grace := 30 * time.Second // Kubernetes's default
	if spec.TerminationGracePeriodSeconds != nil {
		grace = time.Duration(*spec.TerminationGracePeriodSeconds) * time.Second
	}
	require.GreaterOrEqual(t, grace, need,
		"%s: terminationGracePeriodSeconds %s is shorter than the preStop pause, SHUTDOWN_TIMEOUT and %s", what, grace, shutdownMargin)
}

// TestCompose checks that every service of the Compose stack sets only variables its binary
// reads, and that the api gets its required secrets.
func TestCompose(t *testing.T) {
	data, err := os.ReadFile("compose.yaml")
	require.NoError(t, err)
	var stack struct {
		Services map[string]struct {
			Image       string            `json:"image"`
			Environment map[string]string `json:"environment"`
		} `json:"services"`
	}
	require.NoError(t, yaml.Unmarshal(data, &stack))
	binaries := map[string]map[string]bool{"oes-api": apiVariables, "oes-emailworker": workerVariables}
	seen := 0
	for name, svc := range stack.Services {
		image, _, _ := strings.Cut(svc.Image, ":")
		reads, ours := binaries[image]
		if !ours {
			continue
		}
		seen++
		for n := range svc.Environment {
			require.True(t, reads[n], "service %s sets %s, which its binary does not read", name, n)
		}
	}
	require.Equal(t, 4, seen, "migrate, seed, api and emailworker")
	api := stack.Services["api"].Environment
	for _, n := range apiRequiredSecrets {
		require.Contains(t, api, n)
	}
	for _, n := range []string{"JWT_SECRET", "CACHE_ENCRYPTION_KEY"} {
		require.True(t, strings.HasPrefix(api[n], "${"+n+":?"), "%s must be interpolated, never written down", n)
	}
}

// TestKustomizationFiles checks that every file a kustomization lists exists, without
// kustomize.
func TestKustomizationFiles(t *testing.T) {
	for _, dir := range []string{"k8s/base", "k8s/overlays/production"} {
		k := readKustomization(t, dir)
		for _, r := range k.Resources {
			_, err := os.Stat(filepath.Join(dir, r))
			require.NoError(t, err, "%s lists %s", dir, r)
		}
		for _, p := range k.Patches {
			_, err := os.Stat(filepath.Join(dir, p.Path))
			require.NoError(t, err, "%s patches with %s", dir, p.Path)
		}
	}
	require.Contains(t, readKustomization(t, "k8s/overlays/production").Resources, "../../base")
}

// TestProductionTrustsTheIngress checks that the production overlay names the ingress
// controller's network in TRUSTED_PROXIES, without which every client shares one rate-limit
// bucket, and that its browser settings are ones the api accepts.
func TestProductionTrustsTheIngress(t *testing.T) {
	o := objects{}
	decodeFile(t, "k8s/overlays/production/config.yaml", &o)
	api := o.configMap(t, "oes-api").Data
	require.NotEmpty(t, api["TRUSTED_PROXIES"], "production: TRUSTED_PROXIES must name the ingress controller's network")
	for _, p := range strings.Split(api["TRUSTED_PROXIES"], ",") {
		prefix, err := netip.ParsePrefix(p)
		require.NoError(t, err, "TRUSTED_PROXIES: %q is not a CIDR", p)
		require.True(t, prefix.Addr().IsPrivate(), "TRUSTED_PROXIES: %s is not a private network", p)
	}
	hsts, err := time.ParseDuration(api["HSTS_MAX_AGE"])
	require.NoError(t, err)
	require.NoError(t, config.Browser{HSTSMaxAge: hsts}.Validate())
	require.Positive(t, hsts, "production serves HTTPS only (its ingress's TLS): HSTS is on")
}
