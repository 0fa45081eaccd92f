package main

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/config"
	"github.com/goccy/go-yaml"
)

// A manifest is the part of a Kubernetes object the test reads.
type manifest struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Data       map[string]string `yaml:"data"`
	StringData map[string]string `yaml:"stringData"`
	Resources  []string          `yaml:"resources"`
	Spec       struct {
		Template struct {
			Spec struct {
				Containers []container `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type container struct {
	Name  string `yaml:"name"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	Env []struct {
		Name      string `yaml:"name"`
		ValueFrom struct {
			SecretKeyRef struct{ Name, Key string } `yaml:"secretKeyRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	LivenessProbe  probe `yaml:"livenessProbe"`
	ReadinessProbe probe `yaml:"readinessProbe"`
}

type probe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"`
	} `yaml:"httpGet"`
}

// TestKubernetesManifests parses every manifest of deploy/kubernetes as
// YAML, validates the gateway configuration in the ConfigMap as
// "forgeproof validate" would, and checks that the pieces fit: probes on
// the admin listener's /livez and /readyz, the admin port where the
// configuration puts it, the Secret's keys where the Deployment takes them.
func TestKubernetesManifests(t *testing.T) {
	dir := filepath.Join("..", "..", "deploy", "kubernetes")
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in %s: %v", dir, err)
	}
	var objs []manifest
	var kustomize *manifest
	for _, file := range files {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(f)
		for {
			var m manifest
			err := dec.Decode(&m)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			if m.Kind == "Kustomization" {
				kustomize = &m
				if resources := m.Resources; !slices.Contains(resources, "gateway.yaml") {
					t.Errorf("%s lists %v", file, resources)
				}
				continue
			}
			if m.APIVersion == "" || m.Kind == "" || m.Metadata.Name == "" {
				t.Errorf("%s: an object without apiVersion, kind or metadata.name: %+v", file, m)
			}
			objs = append(objs, m)
		}
		f.Close()
	}
	if kustomize == nil {
		t.Fatal("no kustomization.yaml")
	}
	for _, file := range files {
		if base := filepath.Base(file); base != "kustomization.yaml" && !slices.Contains(kustomize.Resources, base) {
			t.Errorf("kustomization.yaml does not list %s", base)
		}
	}
	find := func(kind, name string) *manifest {
		for i := range objs {
			if objs[i].Kind == kind && objs[i].Metadata.Name == name {
				return &objs[i]
			}
		}
		t.Fatalf("no %s %s", kind, name)
		return nil
	}
	cm, secret, deploy := find("ConfigMap", "forgeproof"), find("Secret", "forgeproof"), find("Deployment", "forgeproof")
	find("Deployment", "forgeproof-redis")
	find("Service", "forgeproof-redis")

	var gw *container
	for i := range deploy.Spec.Template.Spec.Containers {
		if c := &deploy.Spec.Template.Spec.Containers[i]; c.Name == "forgeproof" {
			gw = c
		}
	}
	if gw == nil {
		t.Fatal("the Deployment has no forgeproof container")
	}
	for _, e := range gw.Env {
		ref := e.ValueFrom.SecretKeyRef
		if ref.Name != "forgeproof" || secret.StringData[ref.Key] == "" {
			t.Errorf("env %s takes key %q of Secret %q, which the Secret does not have", e.Name, ref.Key, ref.Name)
		}
		// The values the configuration reads: a real key and a store.
		switch e.Name {
		case "FORGEPROOF_KEY":
			t.Setenv(e.Name, "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0wMTIzNDU2Nzg5YWJjZGVm")
		default:
			t.Setenv(e.Name, secret.StringData[ref.Key])
		}
	}
	c, err := config.Parse("configmap.yaml:forgeproof.yaml", []byte(cm.Data["forgeproof.yaml"]))
	if err != nil {
		t.Fatalf("the ConfigMap's configuration is invalid:\n%v", err)
	}
	if err := buildGateway(c); err != nil {
		t.Fatalf("the ConfigMap's configuration does not build: %v", err)
	}
	_, port, err := net.SplitHostPort(c.Admin.Addr)
	if err != nil {
		t.Fatal(err)
	}
	adminPort := 0
	for _, p := range gw.Ports {
		if p.Name == "admin" {
			adminPort = p.ContainerPort
		}
	}
	if strconv.Itoa(adminPort) != port {
		t.Errorf("container port admin is %d; the configuration's admin.addr is %s", adminPort, c.Admin.Addr)
	}
	for _, p := range []struct {
		name string
		got  probe
		path string
	}{{"liveness", gw.LivenessProbe, "/livez"}, {"readiness", gw.ReadinessProbe, "/readyz"}} {
		if p.got.HTTPGet.Path != p.path || p.got.HTTPGet.Port != "admin" {
			t.Errorf("%s probe GET %s on port %q; want %s on admin", p.name, p.got.HTTPGet.Path, p.got.HTTPGet.Port, p.path)
		}
	}
}
