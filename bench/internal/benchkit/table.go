package benchkit

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// Table is a result table, printed aligned as text or as a markdown table.
type Table struct {
	// Title, when set, is written above the table in a Report's markdown only.
	Title string
	// Align has a letter per column: l for labels, aligned left; r for figures, aligned right.
	Align  string
	Header []string
	Rows   [][]string
}

// Text writes the table with its columns aligned and two spaces between them.
func (t Table) Text(w io.Writer) {
	widths := make([]int, len(t.Header))
	for _, row := range append([][]string{t.Header}, t.Rows...) {
		for i, c := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	for _, row := range append([][]string{t.Header}, t.Rows...) {
		var b strings.Builder
		for i, c := range row {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			if i > 0 {
				b.WriteString("  ")
			}
			if t.Align[i] == 'l' {
				b.WriteString(c + pad)
			} else {
				b.WriteString(pad + c)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

// Markdown writes the table as a markdown table.
func (t Table) Markdown(w io.Writer) {
	fmt.Fprintln(w, "| "+strings.Join(t.Header, " | ")+" |")
	for _, a := range t.Align {
		if a == 'l' {
			fmt.Fprint(w, "|---")
		} else {
			fmt.Fprint(w, "|--:")
		}
	}
	fmt.Fprintln(w, "|")
	for _, row := range t.Rows {
		fmt.Fprintln(w, "| "+strings.Join(row, " | ")+" |")
	}
}

// Report is the body of a benchmark's printed result: lines describing the run, then its
// tables.
type Report struct {
	Lines  []string
	Tables []Table
}

// Text writes the report as text: a blank line, the lines, then each table after a blank line.
func (r Report) Text(w io.Writer) {
	fmt.Fprintln(w)
	for _, l := range r.Lines {
		fmt.Fprintln(w, l)
	}
	for _, t := range r.Tables {
		fmt.Fprintln(w)
		t.Text(w)
	}
}

// Markdown writes the report as markdown: the lines as one paragraph, then each table after a
// blank line, under its Title when it has one.
func (r Report) Markdown(w io.Writer) {
	fmt.Fprintln(w, strings.Join(r.Lines, "\n"))
	for _, t := range r.Tables {
		fmt.Fprintln(w)
		if t.Title != "" {
			fmt.Fprintf(w, "%s\n\n", t.Title)
		}
		t.Markdown(w)
	}
}

// Millis formats d in milliseconds with two decimals: "4.58 ms".
func Millis(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

// Cores formats a CPU figure in cores (CPU seconds per second) with two decimals, or "n/a"
// for a negative one, which could not be measured.
func Cores(c float64) string {
	if c < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", c)
}
