// Package deploy holds the deployment files of the system: container images (docker/), the
// Compose stack (compose.yaml) and the Kubernetes manifests (k8s/). Its tests check them
// against what the binaries actually read and serve.
package deploy
