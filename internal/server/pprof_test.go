package server

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestPprofListener: the profiler is off unless SESAME_PPROF_LISTEN names
// a loopback address, and stops with the server's background context.
func TestPprofListener(t *testing.T) {
	free := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}
	tests := []struct {
		name, addr string
		serves     bool
	}{
		{"unset", "", false},
		{"all interfaces refused", "0.0.0.0:0", false},
		{"host name refused", "localhost:0", false},
		{"loopback", free(), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(envPprofListen, tt.addr)
			s := &Server{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
			bg, stop := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			started := s.startPprof(bg, &wg)
			defer func() { stop(); wg.Wait() }()
			if started != tt.serves {
				t.Fatalf("started = %v, want %v", started, tt.serves)
			}
			if !tt.serves {
				return
			}
			var res *http.Response
			var err error
			for range 50 {
				if res, err = http.Get("http://" + tt.addr + "/debug/pprof/cmdline"); err == nil {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if err != nil {
				t.Fatalf("pprof not served: %v", err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d", res.StatusCode)
			}
		})
	}
}
