package bench

import (
	"fmt"
	"sync"
	"time"
)

// startProgress prints the live progress line every interval until the
// returned function is called. On a terminal the line is rewritten in place;
// otherwise (--progress into a file or CI log) each tick is its own line.
func (l *loop) startProgress() (stop func()) {
	out := l.cfg.Progress
	if out == nil {
		return func() {}
	}
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(l.cfg.ProgressInterval)
		defer t.Stop()
		var last int64
		lastAt := time.Now()
		for {
			select {
			case <-quit:
				if l.cfg.ProgressTTY {
					fmt.Fprint(out, "\r\x1b[K")
				}
				return
			case now := <-t.C:
				done, failed := l.done.Load(), l.failed.Load()
				since := now.Sub(l.measureFrom)
				var line string
				if since < 0 {
					line = fmt.Sprintf("%s  warm-up, %.0fs left", l.cfg.Flow, -since.Seconds())
				} else {
					cur := float64(done-last) / now.Sub(lastAt).Seconds()
					line = fmt.Sprintf("%s  %5.1fs  %d req  %.1f req/s (now %.1f)  %d err",
						l.cfg.Flow, since.Seconds(), done, float64(done)/since.Seconds(), cur, failed)
				}
				last, lastAt = done, now
				if l.cfg.ProgressTTY {
					fmt.Fprint(out, "\r\x1b[K"+line)
				} else {
					fmt.Fprintln(out, line)
				}
			}
		}
	})
	return func() { close(quit); wg.Wait() }
}
