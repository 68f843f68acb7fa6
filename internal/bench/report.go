package bench

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
)

// WriteJSON writes the report as one indented JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// WriteTable writes the report for people.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	r.rows(tw, "")
	if b := r.HealthBaseline; b != nil {
		fmt.Fprintf(tw, "\nhealth baseline (same bounds, just before)\n")
		b.rows(tw, "  ")
		fmt.Fprintf(tw, "ratio to health\t%.3f\n", r.RatioToHealth)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

func (r *Report) rows(tw io.Writer, indent string) {
	fmt.Fprintf(tw, "%sflow\t%s\n", indent, r.Flow)
	if r.Issuer != "" {
		fmt.Fprintf(tw, "%sissuer\t%s\n", indent, r.Issuer)
	}
	fmt.Fprintf(tw, "%sconcurrency\t%d\n", indent, r.Concurrency)
	fmt.Fprintf(tw, "%sduration\t%.3f s (stopped: %s)\n", indent, r.DurationS, r.Stopped)
	fmt.Fprintf(tw, "%srequests\t%d (%d errors)\n", indent, r.Requests, r.Errors)
	fmt.Fprintf(tw, "%sthroughput\t%.1f req/s\n", indent, r.RPS)
	l := r.Latency
	fmt.Fprintf(tw, "%slatency ms\tp50 %.3f  p90 %.3f  p99 %.3f  max %.3f  mean %.3f\n", indent, l.P50, l.P90, l.P99, l.Max, l.Mean)
	if len(r.ErrorsByKind) == 0 {
		return
	}
	fmt.Fprintf(tw, "%serrors by kind\n", indent)
	kinds := make([]string, 0, len(r.ErrorsByKind))
	for k := range r.ErrorsByKind {
		kinds = append(kinds, k)
	}
	// Most frequent first; ties by name so that output is stable.
	slices.SortFunc(kinds, func(a, b string) int {
		if c := cmp.Compare(r.ErrorsByKind[b], r.ErrorsByKind[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	for _, k := range kinds {
		fmt.Fprintf(tw, "%s  %s\t%d\n", indent, k, r.ErrorsByKind[k])
	}
}
