package benchkit

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// scrapeWithin bounds one read of a /metrics endpoint.
const scrapeWithin = 5 * time.Second

// Metrics is one scrape of a /metrics endpoint in Prometheus's text exposition format: its
// sample lines, comments and blank lines left out.
type Metrics struct {
	lines []string
}

// Sample is one sample line of a scrape: the series as written (name and labels) and its value.
type Sample struct {
	Series string
	Value  float64
}

// ScrapeMetrics reads http://addr/metrics.
func ScrapeMetrics(ctx context.Context, addr string) (Metrics, error) {
	ctx, cancel := context.WithTimeout(ctx, scrapeWithin)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return Metrics{}, err
	}
	// The text format, not the protobuf one a Prometheus server would negotiate.
	req.Header.Set("Accept", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Metrics{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return Metrics{}, fmt.Errorf("GET /metrics: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return Metrics{}, fmt.Errorf("GET /metrics: status %d: %s", resp.StatusCode, LastLines(b, 3))
	}
	var m Metrics
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" && !strings.HasPrefix(line, "#") {
			m.lines = append(m.lines, line)
		}
	}
	return m, sc.Err()
}

// Samples returns the samples of the series called name (exactly: oes_x does not match
// oes_x_total) whose labels include every one of labels, each written as in the exposition,
// key="value". Lines whose value does not parse are left out.
func (m Metrics) Samples(name string, labels ...string) []Sample {
	var out []Sample
	for _, line := range m.lines {
		rest, ok := strings.CutPrefix(line, name)
		if !ok || rest == "" || (rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		var set string
		if rest[0] == '{' {
			end := strings.LastIndexByte(rest, '}')
			if end < 0 {
				continue
			}
			set, rest = rest[1:end], rest[end+1:]
		}
		if !hasLabels(set, labels) {
			continue
		}
		// The value, then an optional timestamp.
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue
		}
		out = append(out, Sample{Series: strings.TrimSpace(strings.TrimSuffix(line, rest)), Value: v})
	}
	return out
}

// Sum returns the sum of the values of Samples(name, labels...), and false when there is none.
func (m Metrics) Sum(name string, labels ...string) (float64, bool) {
	s := m.Samples(name, labels...)
	var sum float64
	for _, x := range s {
		sum += x.Value
	}
	return sum, len(s) > 0
}

// hasLabels reports whether the label set (the text between the braces) holds every one of
// labels. A label is matched at the start of the set or after a comma, so that kind="a" does
// not match subkind="a".
func hasLabels(set string, labels []string) bool {
	for _, l := range labels {
		if !strings.Contains(","+set+",", ","+l+",") {
			return false
		}
	}
	return true
}

// WriteSamples writes a line per sample of name with labels to w, indented, or one line that
// says the series is missing: a missing series is a finding of the check, not an error.
func (m Metrics) WriteSamples(w io.Writer, name string, labels ...string) {
	s := m.Samples(name, labels...)
	if len(s) == 0 {
		series := name
		if len(labels) > 0 {
			series += "{" + strings.Join(labels, ",") + "}"
		}
		fmt.Fprintf(w, "  %s  missing\n", series)
		return
	}
	for _, x := range s {
		fmt.Fprintf(w, "  %s  %s\n", x.Series, FormatValue(x.Value))
	}
}

// FormatValue writes a sample's value as the exposition does: integers without a fraction.
func FormatValue(v float64) string {
	return strconv.FormatFloat(v, 'f', -1, 64)
}
