package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// scaledObject and triggerAuthentication are the parts of KEDA's resources these manifests
// use. KEDA's types are not in k8s.io/api, and importing KEDA would pull in its whole
// dependency tree; decoding strictly into these still fails on any field they do not know.
type scaledObject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		ScaleTargetRef struct {
			Name string `json:"name"`
		} `json:"scaleTargetRef"`
		MinReplicaCount *int32 `json:"minReplicaCount,omitempty"`
		MaxReplicaCount *int32 `json:"maxReplicaCount,omitempty"`
		PollingInterval *int32 `json:"pollingInterval,omitempty"`
		CooldownPeriod  *int32 `json:"cooldownPeriod,omitempty"`
		Triggers        []struct {
			Type              string            `json:"type"`
			Metadata          map[string]string `json:"metadata"`
			AuthenticationRef *struct {
				Name string `json:"name"`
			} `json:"authenticationRef,omitempty"`
		} `json:"triggers"`
	} `json:"spec"`
}

type triggerAuthentication struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		SecretTargetRef []struct {
			Parameter string `json:"parameter"`
			Name      string `json:"name"`
			Key       string `json:"key"`
		} `json:"secretTargetRef"`
	} `json:"spec"`
}

// kustomization is the part of kustomize's file format these manifests use.
type kustomization struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Labels     []struct {
		Pairs map[string]string `json:"pairs"`
	} `json:"labels,omitempty"`
	Resources []string `json:"resources"`
	Images    []struct {
		Name   string `json:"name"`
		NewTag string `json:"newTag"`
	} `json:"images,omitempty"`
	Replicas []struct {
		Name  string `json:"name"`
		Count int    `json:"count"`
	} `json:"replicas,omitempty"`
	Patches []struct {
		Path string `json:"path"`
	} `json:"patches,omitempty"`
}

// objects are the decoded documents of a set of manifests, by kind.
type objects struct {
	configMaps  []*corev1.ConfigMap
	secrets     []*corev1.Secret
	services    []*corev1.Service
	deployments []*appsv1.Deployment
	jobs        []*batchv1.Job
	hpas        []*autoscalingv2.HorizontalPodAutoscaler
	pdbs        []*policyv1.PodDisruptionBudget
	ingresses   []*networkingv1.Ingress
	scaled      []*scaledObject
	triggerAuth []*triggerAuthentication
}

var docSeparator = regexp.MustCompile(`(?m)^---\s*$`)

// decodeAll decodes every document of a YAML stream strictly into its Kubernetes type: an
// unknown field or kind fails the test.
func decodeAll(t *testing.T, name string, data []byte, into *objects) {
	t.Helper()
	for i, doc := range docSeparator.Split(string(data), -1) {
		js, err := yaml.YAMLToJSON([]byte(doc))
		require.NoError(t, err, "%s: document %d", name, i)
		if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
			continue
		}
		var tm metav1.TypeMeta
		require.NoError(t, json.Unmarshal(js, &tm), "%s: document %d", name, i)
		var err2 error
		switch tm.APIVersion + " " + tm.Kind {
		case "v1 ConfigMap":
			into.configMaps = append(into.configMaps, strict(js, &corev1.ConfigMap{}, &err2))
		case "v1 Secret":
			into.secrets = append(into.secrets, strict(js, &corev1.Secret{}, &err2))
		case "v1 Service":
			into.services = append(into.services, strict(js, &corev1.Service{}, &err2))
		case "apps/v1 Deployment":
			into.deployments = append(into.deployments, strict(js, &appsv1.Deployment{}, &err2))
		case "batch/v1 Job":
			into.jobs = append(into.jobs, strict(js, &batchv1.Job{}, &err2))
		case "autoscaling/v2 HorizontalPodAutoscaler":
			into.hpas = append(into.hpas, strict(js, &autoscalingv2.HorizontalPodAutoscaler{}, &err2))
		case "policy/v1 PodDisruptionBudget":
			into.pdbs = append(into.pdbs, strict(js, &policyv1.PodDisruptionBudget{}, &err2))
		case "networking.k8s.io/v1 Ingress":
			into.ingresses = append(into.ingresses, strict(js, &networkingv1.Ingress{}, &err2))
		case "keda.sh/v1alpha1 ScaledObject":
			into.scaled = append(into.scaled, strict(js, &scaledObject{}, &err2))
		case "keda.sh/v1alpha1 TriggerAuthentication":
			into.triggerAuth = append(into.triggerAuth, strict(js, &triggerAuthentication{}, &err2))
		default:
			t.Fatalf("%s: document %d: unexpected %s %s", name, i, tm.APIVersion, tm.Kind)
		}
		require.NoError(t, err2, "%s: document %d (%s)", name, i, tm.Kind)
	}
}

func strict[T any](js []byte, v *T, errp *error) *T {
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	*errp = dec.Decode(v)
	return v
}

func decodeFile(t *testing.T, path string, into *objects) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	decodeAll(t, path, data, into)
}

func readKustomization(t *testing.T, dir string) kustomization {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	require.NoError(t, err)
	js, err := yaml.YAMLToJSON(data)
	require.NoError(t, err)
	var k kustomization
	var derr error
	strict(js, &k, &derr)
	require.NoError(t, derr, "%s/kustomization.yaml", dir)
	require.Equal(t, "Kustomization", k.Kind)
	return k
}

// render builds dir with kustomize when kubectl is installed. Without it, it decodes the
// files the kustomization lists (resources and patches, following directories), which checks
// each file but not the result of patching; rendered reports which of the two happened.
func render(t *testing.T, dir string) (objs objects, rendered bool) {
	t.Helper()
	if kubectl, err := exec.LookPath("kubectl"); err == nil {
		out, err := exec.CommandContext(t.Context(), kubectl, "kustomize", dir).Output()
		if err != nil {
			var stderr []byte
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				stderr = ee.Stderr
			}
			t.Fatalf("kubectl kustomize %s: %v\n%s", dir, err, stderr)
		}
		decodeAll(t, "kustomize "+dir, out, &objs)
		return objs, true
	}
	t.Logf("kubectl not found: decoding the files of %s without building it", dir)
	var walk func(dir string) objects
	walk = func(dir string) objects {
		var o objects
		k := readKustomization(t, dir)
		for _, r := range k.Resources {
			p := filepath.Join(dir, r)
			fi, err := os.Stat(p)
			require.NoError(t, err, "%s lists %s", dir, r)
			if fi.IsDir() {
				sub := walk(p)
				o = merge(o, sub)
				continue
			}
			decodeFile(t, p, &o)
		}
		for _, p := range k.Patches {
			var patch objects
			decodeFile(t, filepath.Join(dir, p.Path), &patch)
		}
		return o
	}
	return walk(dir), false
}

func merge(a, b objects) objects {
	a.configMaps = append(a.configMaps, b.configMaps...)
	a.secrets = append(a.secrets, b.secrets...)
	a.services = append(a.services, b.services...)
	a.deployments = append(a.deployments, b.deployments...)
	a.jobs = append(a.jobs, b.jobs...)
	a.hpas = append(a.hpas, b.hpas...)
	a.pdbs = append(a.pdbs, b.pdbs...)
	a.ingresses = append(a.ingresses, b.ingresses...)
	a.scaled = append(a.scaled, b.scaled...)
	a.triggerAuth = append(a.triggerAuth, b.triggerAuth...)
	return a
}

func (o objects) configMap(t *testing.T, name string) *corev1.ConfigMap {
	t.Helper()
	for _, c := range o.configMaps {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no ConfigMap %q", name)
	return nil
}

func (o objects) deployment(t *testing.T, name string) *appsv1.Deployment {
	t.Helper()
	for _, d := range o.deployments {
		if d.Name == name {
			return d
		}
	}
	t.Fatalf("no Deployment %q", name)
	return nil
}

func describe(kind, name, container string) string {
	return fmt.Sprintf("%s %s, container %s", kind, name, container)
}
