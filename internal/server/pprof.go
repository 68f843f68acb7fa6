package server

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"sync"
	"time"
)

// envPprofListen opts in to Go's profiler endpoints (/debug/pprof/) on a
// separate loopback listener, for performance work (docs/benchmarks.md).
// It is read from the environment rather than the config because it is a
// diagnostic switch, never a deployment setting.
const envPprofListen = "SESAME_PPROF_LISTEN"

// startPprof serves net/http/pprof on $SESAME_PPROF_LISTEN until bg ends.
// Only loopback addresses are accepted: profiles expose memory contents.
// It reports whether the listener was started.
func (s *Server) startPprof(bg context.Context, wg *sync.WaitGroup) bool {
	addr := os.Getenv(envPprofListen)
	if addr == "" {
		return false
	}
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		s.Logger.Warn("pprof listener refused: not a loopback ip:port", "env", envPprofListen, "addr", addr)
		return false
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	wg.Go(func() {
		<-bg.Done()
		_ = srv.Close()
	})
	wg.Go(func() {
		s.Logger.Warn("pprof listening", "addr", addr)
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.Logger.Warn("pprof listener", "err", err)
		}
	})
	return true
}
