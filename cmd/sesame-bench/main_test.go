package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sesameauth/sesame/internal/bench/benchtest"
)

func baseArgs(srv *benchtest.Server, flow string) []string {
	return []string{"--issuer", srv.Issuer, "--flow", flow, "-c", "3",
		"--client-id", benchtest.ClientID, "--client-secret", benchtest.ClientSecret}
}

// The JSON report has the documented, stable fields with sane values.
func TestJSONReportHasDocumentedFields(t *testing.T) {
	srv := benchtest.New(t)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append(baseArgs(srv, "client_credentials"), "-n", "25", "--json"), &stdout, &stderr, false)
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, stderr.String())
	}
	var doc map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout.String())
	}
	for _, k := range []string{"flow", "concurrency", "duration_s", "requests", "errors", "rps", "latency_ms", "errors_by_kind", "stopped"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("field %q missing from %s", k, stdout.String())
		}
	}
	lat, _ := doc["latency_ms"].(map[string]any)
	for _, k := range []string{"p50", "p90", "p99", "max", "mean"} {
		if v, ok := lat[k].(float64); !ok || v <= 0 {
			t.Errorf("latency_ms.%s = %v", k, lat[k])
		}
	}
	if doc["flow"] != "client_credentials" || doc["requests"] != 25.0 || doc["errors"] != 0.0 || doc["concurrency"] != 3.0 {
		t.Errorf("report = %s", stdout.String())
	}
	if stderr.Len() != 0 {
		t.Errorf("no progress expected without a terminal or --progress, got %q", stderr.String())
	}
}

func TestTableReportAndProgress(t *testing.T) {
	srv := benchtest.New(t)
	srv.SlowHealth(10_000_000) // 10 ms, so the run spans a progress tick
	var stdout, stderr bytes.Buffer
	args := append(baseArgs(srv, "health"), "-d", "1200ms", "--progress", "--compare-health=false")
	if code := run(context.Background(), args, &stdout, &stderr, false); code != 0 {
		t.Fatalf("exit %d, stderr %s", code, stderr.String())
	}
	for _, want := range []string{"flow", "health", "throughput", "req/s", "p99", "stopped: duration"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, stdout.String())
		}
	}
	if !strings.Contains(stderr.String(), "req/s") || strings.Contains(stderr.String(), "\r") {
		t.Errorf("want plain progress lines on a non-terminal, got %q", stderr.String())
	}
}

func TestExitCodes(t *testing.T) {
	srv := benchtest.New(t)
	tests := []struct {
		name string
		args []string
		code int
		msg  string
		out  string
	}{
		{"unknown flag is usage", []string{"--nope"}, 2, "unknown flag", ""},
		{"bad flow is usage", baseArgs(srv, "implicit"), 2, "--flow", ""},
		{"wrong secret fails set-up", []string{"--issuer", srv.Issuer, "--flow", "introspect",
			"--client-id", benchtest.ClientID, "--client-secret", "wrong", "-n", "1"}, 1, "401 invalid_client", ""},
		{"errors during the run still report", append(baseArgs(srv, "client_credentials"), "--client-secret", "wrong", "-n", "2"), 0, "", "401 invalid_client  2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), tc.args, &stdout, &stderr, false); code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %s", code, tc.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.msg) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tc.msg)
			}
			if !strings.Contains(stdout.String(), tc.out) {
				t.Errorf("stdout %q lacks %q", stdout.String(), tc.out)
			}
		})
	}
}
