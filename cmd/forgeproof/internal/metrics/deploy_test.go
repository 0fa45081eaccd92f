package metrics_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/metrics"
	"github.com/goccy/go-yaml"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// exported gathers every family a Metrics exports, with at least one child
// each, and returns each family's label names and the label values seen.
func exported(t *testing.T) (map[string]*dto.MetricFamily, map[string][]string, map[string]map[string]bool) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	m.Observe(forgeproof.Event{Decision: forgeproof.Allowed})
	m.ObserveDuration(time.Millisecond)
	m.TokenIssued(metrics.TokenEndpoint)
	m.AlertRaised("origin-rejections")
	s := m.InstrumentStore(&mapStore{m: map[string][]byte{}})
	s.Get(context.Background(), "k")

	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	families := map[string]*dto.MetricFamily{}
	labels := map[string][]string{}
	values := map[string]map[string]bool{}
	for _, mf := range mfs {
		families[mf.GetName()] = mf
		for _, mt := range mf.GetMetric() {
			for _, l := range mt.GetLabel() {
				if !slices.Contains(labels[mf.GetName()], l.GetName()) {
					labels[mf.GetName()] = append(labels[mf.GetName()], l.GetName())
				}
				if values[l.GetName()] == nil {
					values[l.GetName()] = map[string]bool{}
				}
				values[l.GetName()][l.GetValue()] = true
			}
		}
	}
	// Every reason can appear, and any rule name.
	for _, r := range forgeproof.Reasons() {
		values["reason"][r.String()] = true
	}
	values["rule"] = nil
	return families, labels, values
}

func TestNamesListsEveryFamily(t *testing.T) {
	families, _, _ := exported(t)
	var got []string
	for name := range families {
		got = append(got, name)
	}
	slices.Sort(got)
	want := slices.Sorted(slices.Values(metrics.Names))
	if !slices.Equal(got, want) {
		t.Errorf("exported families %q, Names %q", got, want)
	}
}

var (
	selectorRE = regexp.MustCompile(`\b(forgeproof_[a-z_]+)(\{[^}]*\})?`)
	matcherRE  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"`)
	byRE       = regexp.MustCompile(`\b(?:by|without)\s*\(([^)]*)\)`)
	anyNameRE  = regexp.MustCompile(`\b[a-z]+_[a-z_]+_(?:total|seconds|bucket|sum|count)\b`)
)

// checkExpr checks that every metric an expression selects is exported,
// with the label names and values it matches on, and returns the problems
// it found.
func checkExpr(where, expr string, families map[string]*dto.MetricFamily, labels map[string][]string, values map[string]map[string]bool) (problems []string) {
	errorf := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	for _, name := range anyNameRE.FindAllString(expr, -1) {
		if !strings.HasPrefix(name, "forgeproof_") {
			errorf("%s: %s is not a forgeproof metric", where, name)
		}
	}
	used := map[string]bool{}
	sels := selectorRE.FindAllStringSubmatch(expr, -1)
	if len(sels) == 0 {
		errorf("%s: no forgeproof metric in %q", where, expr)
	}
	for _, sel := range sels {
		name, family := sel[1], sel[1]
		extra := []string{}
		if _, ok := families[name]; !ok {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				base := strings.TrimSuffix(name, suffix)
				if mf, ok := families[base]; ok && base != name && mf.GetType() == dto.MetricType_HISTOGRAM {
					family = base
					if suffix == "_bucket" {
						extra = append(extra, "le")
					}
				}
			}
		}
		mf, ok := families[family]
		if !ok {
			errorf("%s: metric %s is not exported", where, name)
			continue
		}
		if mf.GetType() == dto.MetricType_HISTOGRAM && family == name {
			errorf("%s: histogram %s must be queried as _bucket, _sum or _count", where, name)
		}
		known := append(slices.Clone(labels[family]), extra...)
		for _, l := range known {
			used[l] = true
		}
		for _, m := range matcherRE.FindAllStringSubmatch(sel[2], -1) {
			label, op, value := m[1], m[2], m[3]
			if !slices.Contains(known, label) {
				errorf("%s: %s has no label %q", where, name, label)
				continue
			}
			if values[label] == nil {
				continue // any value
			}
			alts := []string{value}
			if op == "=~" || op == "!~" {
				if strings.ContainsAny(value, ".*+?[]()") {
					continue
				}
				alts = strings.Split(value, "|")
			}
			for _, v := range alts {
				if !values[label][v] {
					errorf("%s: %s{%s} never takes the value %q", where, name, label, v)
				}
			}
		}
	}
	for _, m := range byRE.FindAllStringSubmatch(expr, -1) {
		for l := range strings.SplitSeq(m[1], ",") {
			if l = strings.TrimSpace(l); l != "" && !used[l] {
				errorf("%s: grouping by %q, which no selected metric has", where, l)
			}
		}
	}
	return problems
}

func TestPrometheusRulesUseExportedMetrics(t *testing.T) {
	families, labels, values := exported(t)
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "deploy", "prometheus", "forgeproof-alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				For         string            `yaml:"for"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.UnmarshalWithOptions(b, &file, yaml.Strict()); err != nil {
		t.Fatal(err)
	}
	ops, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "docs", "OPERATIONS.md"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			n++
			for _, p := range checkExpr(r.Alert, r.Expr, families, labels, values) {
				t.Error(p)
			}
			if !slices.Contains([]string{"critical", "warning", "info"}, r.Labels["severity"]) {
				t.Errorf("%s: severity %q", r.Alert, r.Labels["severity"])
			}
			if r.Annotations["summary"] == "" {
				t.Errorf("%s: no summary", r.Alert)
			}
			if r.For != "" {
				if _, err := time.ParseDuration(r.For); err != nil {
					t.Errorf("%s: for: %v", r.Alert, err)
				}
			}
			_, anchor, ok := strings.Cut(r.Annotations["runbook"], "docs/OPERATIONS.md#")
			if !ok || !anchors(string(ops))[anchor] {
				t.Errorf("%s: runbook %q does not lead to a heading of docs/OPERATIONS.md", r.Alert, r.Annotations["runbook"])
			}
		}
	}
	if n < 5 {
		t.Errorf("%d rules, want at least 5", n)
	}
}

// anchors returns the GitHub anchors of the headings of a Markdown text.
func anchors(md string) map[string]bool {
	out := map[string]bool{}
	for line := range strings.SplitSeq(md, "\n") {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		var b strings.Builder
		for _, r := range strings.ToLower(strings.TrimSpace(strings.TrimLeft(line, "#"))) {
			switch {
			case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
				b.WriteRune(r)
			case r == ' ':
				b.WriteByte('-')
			}
		}
		out[b.String()] = true
	}
	return out
}

func TestGrafanaDashboardUsesExportedMetrics(t *testing.T) {
	families, labels, values := exported(t)
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "deploy", "grafana", "forgeproof.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			for _, p := range checkExpr(p.Title, tg.Expr, families, labels, values) {
				t.Error(p)
			}
			for _, m := range selectorRE.FindAllStringSubmatch(tg.Expr, -1) {
				seen[strings.TrimSuffix(m[1], "_bucket")] = true
			}
		}
	}
	for _, name := range metrics.Names {
		if !seen[name] {
			t.Errorf("no panel shows %s", name)
		}
	}
}

func TestCheckExprFindsMistakes(t *testing.T) {
	families, labels, values := exported(t)
	tests := []struct{ name, expr string }{
		{"unknown metric", `rate(forgeproof_request_total[5m])`},
		{"foreign metric", `rate(http_requests_total[5m]) + rate(forgeproof_requests_total[5m])`},
		{"unknown label", `rate(forgeproof_requests_total{path="/x"}[5m])`},
		{"unknown decision", `rate(forgeproof_requests_total{decision="denied"}[5m])`},
		{"unknown reason", `rate(forgeproof_requests_total{reason="csrf"}[5m])`},
		{"unknown result in a regex", `rate(forgeproof_store_operations_total{result=~"ok|timeout"}[5m])`},
		{"bare histogram", `rate(forgeproof_request_duration_seconds[5m])`},
		{"le on a counter", `sum by (le) (rate(forgeproof_requests_total[5m]))`},
		{"no metric", `vector(1)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if p := checkExpr(tt.name, tt.expr, families, labels, values); len(p) == 0 {
				t.Errorf("%s passed", tt.expr)
			}
		})
	}
	ok := `histogram_quantile(0.99, sum by (le, op) (rate(forgeproof_store_operation_duration_seconds_bucket[5m])))`
	if p := checkExpr("good", ok, families, labels, values); len(p) != 0 {
		t.Errorf("%s: %q", ok, p)
	}
}
