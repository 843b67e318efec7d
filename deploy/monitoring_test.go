package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/oeshq/oes/pkg/infra/queue/queuetest"
	"github.com/oeshq/oes/pkg/testkit/logtest"
	"github.com/oeshq/oes/pkg/testkit/nettest"
	"github.com/oeshq/oes/pkg/testkit/pgtest"
	"github.com/oeshq/oes/pkg/testkit/program"
	"github.com/oeshq/oes/pkg/testkit/redistest"
	"github.com/oeshq/oes/pkg/testkit/smtptest"
)

// The monitoring shipped in deploy/monitoring: the Grafana dashboard and the Prometheus alert
// rules. Their files, and the ConfigMaps its kustomization makes of them.
const (
	monitoringDir   = "monitoring"
	dashboardFile   = "monitoring/dashboard.json"
	alertRulesFile  = "monitoring/alerts.yaml"
	rateIntervalVar = "$__rate_interval"
)

// alertRules parses the rule file with Prometheus's own rule parser, which also parses each
// expression and the annotations' templates, and returns its groups.
func alertRules(t *testing.T) *rulefmt.RuleGroups {
	t.Helper()
	groups, errs := rulefmt.ParseFile(alertRulesFile, false, model.UTF8Validation)
	require.Empty(t, errs, "%s does not load in Prometheus", alertRulesFile)
	require.NotEmpty(t, groups.Groups)
	return groups
}

// grafanaPanel is what the test reads of a Grafana panel.
type grafanaPanel struct {
	ID         int             `json:"id"`
	Type       string          `json:"type"`
	Title      string          `json:"title"`
	Datasource *grafanaSource  `json:"datasource"`
	Targets    []grafanaTarget `json:"targets"`
	Panels     []grafanaPanel  `json:"panels"` // a collapsed row's
	GridPos    struct {
		H, W, X, Y int
	} `json:"gridPos"`
}

type grafanaSource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type grafanaTarget struct {
	RefID      string         `json:"refId"`
	Expr       string         `json:"expr"`
	Datasource *grafanaSource `json:"datasource"`
}

type grafanaDashboard struct {
	UID        string         `json:"uid"`
	Title      string         `json:"title"`
	Panels     []grafanaPanel `json:"panels"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query string `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

// readDashboard decodes the dashboard and returns it with every panel that draws (rows'
// panels included).
func readDashboard(t *testing.T) (grafanaDashboard, []grafanaPanel) {
	t.Helper()
	data, err := os.ReadFile(dashboardFile)
	require.NoError(t, err)
	var d grafanaDashboard
	require.NoError(t, json.Unmarshal(data, &d), dashboardFile)
	var panels []grafanaPanel
	var walk func([]grafanaPanel)
	walk = func(ps []grafanaPanel) {
		for _, p := range ps {
			if p.Type == "row" {
				walk(p.Panels)
				continue
			}
			panels = append(panels, p)
		}
	}
	walk(d.Panels)
	return d, panels
}

// grafanaExpr turns a panel's query into PromQL: Grafana's $__rate_interval becomes a range.
// Any other variable is refused, since the test could not tell what it stands for.
func grafanaExpr(t *testing.T, expr string) string {
	t.Helper()
	e := strings.ReplaceAll(expr, rateIntervalVar, "5m")
	require.NotContains(t, e, "$", "only %s may stand in a query: %s", rateIntervalVar, expr)
	return e
}

// metricNames returns the metric names the selectors of a PromQL expression name.
func metricNames(t *testing.T, expr string) []string {
	t.Helper()
	e, err := parser.ParseExpr(expr)
	require.NoError(t, err, "PromQL: %s", expr)
	var names []string
	parser.Inspect(e, func(node parser.Node, _ []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		for _, m := range vs.LabelMatchers {
			if m.Name == model.MetricNameLabel {
				require.Equal(t, "=", m.Type.String(), "a selector names its metric exactly: %s", expr)
				name = m.Value
			}
		}
		require.NotEmpty(t, name, "a selector without a metric name: %s", expr)
		names = append(names, name)
		return nil
	})
	require.NotEmpty(t, names, "no metric in %s", expr)
	return names
}

// usedMetrics maps each metric name the dashboard's panels and the alert rules read to where.
func usedMetrics(t *testing.T) map[string][]string {
	t.Helper()
	used := map[string][]string{}
	_, panels := readDashboard(t)
	for _, p := range panels {
		for _, tg := range p.Targets {
			for _, n := range metricNames(t, grafanaExpr(t, tg.Expr)) {
				used[n] = append(used[n], fmt.Sprintf("panel %q", p.Title))
			}
		}
	}
	for _, g := range alertRules(t).Groups {
		for _, r := range g.Rules {
			for _, n := range metricNames(t, r.Expr) {
				used[n] = append(used[n], "alert "+r.Alert)
			}
		}
	}
	return used
}

func TestAlertRules(t *testing.T) {
	t.Parallel()
	seen := 0
	for _, g := range alertRules(t).Groups {
		require.True(t, strings.HasPrefix(g.Name, "oes-"), "group %s", g.Name)
		for _, r := range g.Rules {
			seen++
			what := "alert " + r.Alert
			require.NotEmpty(t, r.Alert, "only alerting rules: %s", r.Expr)
			require.True(t, strings.HasPrefix(r.Alert, "OES"), what)
			_, err := parser.ParseExpr(r.Expr)
			require.NoError(t, err, what)
			require.Positive(t, time.Duration(r.For), "%s: a for: keeps a blip from paging", what)
			require.Contains(t, []string{"critical", "warning"}, r.Labels["severity"], what)
			require.NotEmpty(t, r.Annotations["summary"], what)
			require.NotEmpty(t, r.Annotations["description"], what)
		}
	}
	// The list: backlog growing, oldest job too old, failure rate, SMTP unreachable,
	// 5xx rate, cache hit rate drop.
	var names []string
	for _, g := range alertRules(t).Groups {
		for _, r := range g.Rules {
			names = append(names, r.Alert)
		}
	}
	for _, want := range []string{"OESEmailBacklogGrowing", "OESEmailOldestJobTooOld", "OESEmailFailureRate",
		"OESSMTPUnreachable", "OESAPIHighServerErrorRate", "OESCacheHitRateDrop"} {
		require.Contains(t, names, want)
	}
	require.GreaterOrEqual(t, seen, 6)
}

func TestDashboard(t *testing.T) {
	t.Parallel()
	d, panels := readDashboard(t)
	require.NotEmpty(t, d.UID)
	require.NotEmpty(t, d.Title)
	require.Len(t, d.Templating.List, 1)
	require.Equal(t, "datasource", d.Templating.List[0].Name)
	require.Equal(t, "datasource", d.Templating.List[0].Type)
	require.Equal(t, "prometheus", d.Templating.List[0].Query)

	ids := map[int]bool{}
	var all []grafanaPanel
	for _, p := range d.Panels {
		all = append(all, p)
		all = append(all, p.Panels...)
	}
	for _, p := range all {
		require.False(t, ids[p.ID], "panel id %d twice", p.ID)
		ids[p.ID] = true
		require.LessOrEqual(t, p.GridPos.X+p.GridPos.W, 24, "panel %q is wider than the grid", p.Title)
	}
	for _, p := range panels {
		require.NotEmpty(t, p.Targets, "panel %q has no query", p.Title)
		require.Equal(t, &grafanaSource{Type: "prometheus", UID: "${datasource}"}, p.Datasource, "panel %q", p.Title)
		for _, tg := range p.Targets {
			require.NotEmpty(t, tg.RefID, "panel %q", p.Title)
			require.Equal(t, p.Datasource, tg.Datasource, "panel %q", p.Title)
			_, err := parser.ParseExpr(grafanaExpr(t, tg.Expr))
			require.NoError(t, err, "panel %q: %s", p.Title, tg.Expr)
		}
	}

	// What the issue asks to see.
	used := usedMetrics(t)
	for _, name := range []string{
		"oes_http_requests_total", "oes_http_request_duration_seconds_bucket", // rate, errors, latency by route
		"oes_cache_hits_total", "oes_cache_misses_total", // hit rate by kind
		"oes_email_queue_jobs", "oes_email_queue_wait_seconds_bucket", "oes_email_queue_oldest_waiting_seconds", // lanes
		"oes_emails_delivered_total", "oes_emails_retried_total", "oes_emails_failed_total",
		"oes_smtp_send_duration_seconds_bucket", "oes_email_deliveries_paused",
	} {
		require.Contains(t, used, name)
	}
}

// TestMonitoringKustomization checks that the ConfigMaps are made of the files the other
// tests check, and builds them when kubectl is installed.
func TestMonitoringKustomization(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join(monitoringDir, "kustomization.yaml"))
	require.NoError(t, err)
	var k struct {
		ConfigMapGenerator []struct {
			Name  string   `json:"name"`
			Files []string `json:"files"`
		} `json:"configMapGenerator"`
	}
	require.NoError(t, yaml.Unmarshal(data, &k))
	var files []string
	for _, g := range k.ConfigMapGenerator {
		for _, f := range g.Files {
			_, src, ok := strings.Cut(f, "=")
			if !ok {
				src = f
			}
			files = append(files, filepath.Join(monitoringDir, src))
		}
	}
	require.ElementsMatch(t, []string{dashboardFile, alertRulesFile}, files)

	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Log("kubectl not found: the kustomization's files checked, not its build")
		return
	}
	out, err := exec.CommandContext(t.Context(), kubectl, "kustomize", monitoringDir).CombinedOutput()
	require.NoError(t, err, "kubectl kustomize %s:\n%s", monitoringDir, out)
	for _, name := range []string{"oes-grafana-dashboard", "oes-prometheus-rules"} {
		require.Contains(t, string(out), "name: "+name+"\n")
	}
	require.Contains(t, string(out), `grafana_dashboard: "1"`)
}

// TestMonitoringReadsServedMetrics runs the api and the email worker as `make build` builds
// them, has them answer requests and deliver an email, and checks that every metric the
// dashboard and the alert rules read is in their scrapes. A histogram's _bucket, _sum and
// _count stand for it.
func TestMonitoringReadsServedMetrics(t *testing.T) {
	t.Parallel()
	used := usedMetrics(t)
	bin := buildServedBinaries(t)

	dbURL := pgtest.URL(t)
	redisURL := redistest.URL(t)
	queuePrefix := queuetest.Config(t).QueuePrefix
	smtp := smtptest.Start(t)
	apiAddr, metricsAddr, healthAddr := nettest.FreeAddr(t), nettest.FreeAddr(t), nettest.FreeAddr(t)

	startBuiltBinary(t, filepath.Join(bin, "api"), []string{"serve"},
		"DATABASE_URL="+dbURL,
		"REDIS_URL="+redisURL,
		"CACHE_NAMESPACE="+redistest.Namespace(t),
		"RATE_LIMIT_PREFIX="+redistest.Namespace(t),
		"QUEUE_PREFIX="+queuePrefix,
		"HTTP_ADDR="+apiAddr,
		"METRICS_ADDR="+metricsAddr,
		"JWT_SECRET=a-secret-of-at-least-32-bytes-for-the-monitoring-test",
		"CACHE_ENCRYPTION_KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
		"LOG_FORMAT=text",
	)
	startBuiltBinary(t, filepath.Join(bin, "emailworker"), nil,
		"DATABASE_URL="+dbURL,
		"REDIS_URL="+redisURL,
		"QUEUE_PREFIX="+queuePrefix,
		"SMTP_HOST="+smtp.Host(),
		"SMTP_PORT="+strconv.Itoa(smtp.Port()),
		"SMTP_TLS=none",
		"SMTP_FROM=OES <no-reply@oes.test>",
		"HEALTH_ADDR="+healthAddr,
		"LOG_FORMAT=text",
	)
	waitForStatus(t, "http://"+apiAddr+"/readyz", http.StatusOK)
	waitForStatus(t, "http://"+healthAddr+"/readyz", http.StatusOK)

	// A little of everything: reads through the cache, a miss, an unmatched path, and a
	// registration, whose verification email the worker relays, takes and delivers.
	api := "http://" + apiAddr
	for _, c := range []struct {
		method, path, body string
		status             int
	}{
		{"GET", "/healthz", "", 200},
		{"GET", "/api/v1/exams", "", 200},
		{"GET", "/api/v1/exams", "", 200},
		{"GET", "/api/v1/exams/987654", "", 404},
		{"GET", "/no/such/path", "", 404},
		{"POST", "/api/v1/auth/register", `{"email":"watcher@example.com","name":"Watcher","password":"a-long-password"}`, 201},
	} {
		req, err := http.NewRequestWithContext(t.Context(), c.method, api+c.path, strings.NewReader(c.body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, c.status, resp.StatusCode, "%s %s: %s", c.method, c.path, body)
	}
	smtp.WaitForMessages(t, 1, 30*time.Second)

	var workerScrape map[string]*dto.MetricFamily
	var scrapeErr error
	require.Eventually(t, func() bool {
		workerScrape, scrapeErr = scrapeFamilies(healthAddr)
		f := workerScrape["oes_emails_delivered_total"]
		return scrapeErr == nil && f != nil && len(f.Metric) == 1 && f.Metric[0].GetCounter().GetValue() == 1
	}, 20*time.Second, 50*time.Millisecond, "the worker never counted the delivery")
	apiScrape, err := scrapeFamilies(metricsAddr)
	require.NoError(t, err)

	served := map[string]bool{}
	for _, families := range []map[string]*dto.MetricFamily{apiScrape, workerScrape} {
		for name, f := range families {
			served[name] = true
			switch f.GetType() {
			case dto.MetricType_HISTOGRAM:
				served[name+"_bucket"], served[name+"_sum"], served[name+"_count"] = true, true, true
			case dto.MetricType_SUMMARY:
				served[name+"_sum"], served[name+"_count"] = true, true
			}
		}
	}
	var missing []string
	for name, where := range used {
		if !served[name] {
			slices.Sort(where)
			missing = append(missing, fmt.Sprintf("%s (%s)", name, strings.Join(slices.Compact(where), ", ")))
		}
	}
	slices.Sort(missing)
	require.Empty(t, missing, "read by the monitoring, served by neither binary")

	// The email's wait was observed in its lane, and the SMTP send it took.
	require.Equal(t, uint64(1), histogramCount(workerScrape["oes_email_queue_wait_seconds"], "lane", "critical"))
	require.Equal(t, uint64(1), histogramCount(workerScrape["oes_smtp_send_duration_seconds"], "outcome", "delivered"))
}

func histogramCount(f *dto.MetricFamily, label, value string) uint64 {
	if f == nil {
		return 0
	}
	for _, m := range f.Metric {
		for _, l := range m.Label {
			if l.GetName() == label && l.GetValue() == value {
				return m.GetHistogram().GetSampleCount()
			}
		}
	}
	return 0
}

// buildServedBinaries builds the api and the email worker into a directory of the test, as `make
// build` does, and returns it.
func buildServedBinaries(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	require.NoError(t, err, "the go command builds the binaries")
	dir := t.TempDir()
	for _, b := range []struct{ name, pkg, tags string }{
		{"api", "./cmd/api", "nomsgpack"},
		{"emailworker", "./cmd/emailworker", ""},
	} {
		args := []string{"build", "-o", filepath.Join(dir, b.name)}
		if b.tags != "" {
			args = append(args, "-tags", b.tags)
		}
		cmd := exec.CommandContext(t.Context(), goTool, append(args, b.pkg)...)
		cmd.Dir = ".."
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "go build %s:\n%s", b.pkg, out)
	}
	return dir
}

// startBuiltBinary runs path with args and env (added to the test's environment) until the test
// ends: then SIGTERM, and a kill if it has not exited within 20s. Its output is logged when
// the test fails.
func startBuiltBinary(t *testing.T, path string, args []string, env ...string) {
	t.Helper()
	out := &logtest.Buffer{}
	cmd := program.Command(t, 20*time.Second, path, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(path), out.String())
		}
	})
}

func waitForStatus(t *testing.T, url string, want int) {
	t.Helper()
	got := 0
	require.Eventually(t, func() bool {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
		if err != nil {
			return false
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		got = resp.StatusCode
		return got == want
	}, 30*time.Second, 50*time.Millisecond, "%s never answered %d (last %d)", url, want, got)
}

// scrapeFamilies reads http://addr/metrics in the text format and returns its metric families.
func scrapeFamilies(addr string) (map[string]*dto.MetricFamily, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: status %d", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(resp.Body)
}
