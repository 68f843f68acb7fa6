package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// Why a run stopped, as Report.Stopped says it.
const (
	StoppedDuration    = "duration"
	StoppedRequests    = "requests"
	StoppedMaxDuration = "max_duration"
	StoppedInterrupted = "interrupted"
)

// Report is the result of a run. Its JSON field names are stable: scripts
// and the docs' performance tables read them.
type Report struct {
	Flow        string  `json:"flow"`
	Issuer      string  `json:"issuer,omitempty"`
	Concurrency int     `json:"concurrency"`
	DurationS   float64 `json:"duration_s"`
	// Requests counts measured iterations, failed ones included. An
	// authorization_code iteration is several HTTP requests.
	Requests int64   `json:"requests"`
	Errors   int64   `json:"errors"`
	RPS      float64 `json:"rps"`
	// Latency covers the successful iterations only, so that fast failures
	// do not flatter the percentiles.
	Latency      Latency          `json:"latency_ms"`
	ErrorsByKind map[string]int64 `json:"errors_by_kind"`
	Stopped      string           `json:"stopped"`
	// HealthBaseline is the health flow run with the same bounds just
	// before, when Config.CompareHealth is set.
	HealthBaseline *Report `json:"health_baseline,omitempty"`
	// RatioToHealth is RPS / HealthBaseline.RPS.
	RatioToHealth float64 `json:"rps_ratio_to_health,omitempty"`
}

// Run performs the benchmark cfg describes. It never runs longer than
// cfg.MaxDuration; when ctx is cancelled (Ctrl-C) after set-up, it returns
// the partial report with Stopped = "interrupted" and a nil error. Errors
// are for runs that could not start: bad configuration, failed discovery or
// set-up.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg.applyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	hard, cancel := context.WithTimeout(ctx, cfg.MaxDuration)
	defer cancel()
	rt := newTransport(&cfg)
	defer rt.CloseIdleConnections()

	if !cfg.CompareHealth || cfg.Flow == FlowHealth {
		return runOnce(ctx, hard, &cfg, rt)
	}
	hc := cfg
	hc.Flow = FlowHealth
	base, err := runOnce(ctx, hard, &hc, rt)
	if err != nil {
		return nil, fmt.Errorf("health baseline: %w", err)
	}
	if base.Stopped == StoppedInterrupted || base.Stopped == StoppedMaxDuration {
		return base, nil
	}
	rep, err := runOnce(ctx, hard, &cfg, rt)
	if err != nil {
		return nil, err
	}
	rep.HealthBaseline = base
	if base.RPS > 0 {
		rep.RatioToHealth = math.Round(rep.RPS/base.RPS*1000) / 1000
	}
	return rep, nil
}

// runOnce sets one flow up, runs its workers and summarises. parent is the
// caller's context (its cancellation means Ctrl-C); hard carries the
// --max-duration cap.
func runOnce(parent, hard context.Context, cfg *Config, rt *http.Transport) (*Report, error) {
	e := &env{cfg: cfg, rt: rt, client: newClient(cfg, rt, nil), meta: &Metadata{}}
	if cfg.Flow != FlowHealth {
		m, err := Discover(hard, e.client, cfg.Issuer)
		if err != nil {
			return nil, err
		}
		e.meta = m
	}
	fl, err := newFlow(hard, e)
	if err != nil {
		return nil, fmt.Errorf("flow %s: %w", cfg.Flow, err)
	}
	workers := make([]worker, cfg.Concurrency)
	g, gctx := errgroup.WithContext(hard)
	for i := range workers {
		g.Go(func() error {
			w, err := fl.newWorker(gctx, i)
			workers[i] = w
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("flow %s: %w", cfg.Flow, err)
	}
	if parent.Err() != nil {
		return nil, errors.New("interrupted during set-up")
	}

	start := time.Now()
	measureFrom := start.Add(cfg.Warmup)
	runCtx := hard
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithDeadline(hard, measureFrom.Add(cfg.Duration))
		defer cancel()
	}
	l := &loop{cfg: cfg, ctx: runCtx, measureFrom: measureFrom}
	stopProgress := l.startProgress()
	recs := make([]*recorder, len(workers))
	var wg sync.WaitGroup
	for i, w := range workers {
		recs[i] = newRecorder()
		wg.Go(func() { l.work(w, recs[i]) })
	}
	wg.Wait()
	end := time.Now()
	stopProgress()

	lat, byKind, nerr := merge(recs)
	elapsed := max(end.Sub(measureFrom), 0)
	rep := &Report{
		Flow:         cfg.Flow,
		Issuer:       cfg.Issuer,
		Concurrency:  cfg.Concurrency,
		DurationS:    math.Round(elapsed.Seconds()*1000) / 1000,
		Requests:     int64(len(lat)) + nerr,
		Errors:       nerr,
		Latency:      summarize(lat),
		ErrorsByKind: byKind,
	}
	if elapsed > 0 {
		rep.RPS = math.Round(float64(rep.Requests)/elapsed.Seconds()*10) / 10
	}
	switch {
	case parent.Err() != nil:
		rep.Stopped = StoppedInterrupted
	case hard.Err() != nil:
		rep.Stopped = StoppedMaxDuration
	case runCtx.Err() != nil:
		rep.Stopped = StoppedDuration
	default:
		rep.Stopped = StoppedRequests
	}
	return rep, nil
}

// loop is the state the workers of one run share: the end of the run, the
// request tickets and the live counters for the progress line.
type loop struct {
	cfg         *Config
	ctx         context.Context
	measureFrom time.Time
	tickets     atomic.Int64
	done        atomic.Int64
	failed      atomic.Int64
}

// work runs iterations until the run's context ends or the request tickets
// run out. An iteration cut off by the end of the run is dropped, not
// counted as a timeout: the bound is the tool's, not the server's fault.
func (l *loop) work(w worker, rec *recorder) {
	for l.ctx.Err() == nil {
		warm := time.Now().Before(l.measureFrom)
		if !warm && l.cfg.Requests > 0 && l.tickets.Add(1) > l.cfg.Requests {
			return
		}
		if p, ok := w.(preparer); ok {
			if err := p.prepare(l.ctx); err != nil {
				if l.ctx.Err() != nil {
					return
				}
				if !warm {
					l.record(rec, 0, &opError{kind: "prepare: " + kindOf(err)})
				}
				continue
			}
		}
		t0 := time.Now()
		err := w.do(l.ctx)
		d := time.Since(t0)
		if l.ctx.Err() != nil {
			return
		}
		if !t0.Before(l.measureFrom) {
			l.record(rec, d, err)
		}
	}
}

func (l *loop) record(rec *recorder, d time.Duration, err error) {
	l.done.Add(1)
	if err != nil {
		l.failed.Add(1)
		rec.failure(kindOf(err))
		return
	}
	rec.success(d)
}
