package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sesameauth/sesame/internal/metrics"
	"github.com/sesameauth/sesame/web/ui"
)

func newEngine(logger *slog.Logger) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	// Trust no proxy headers: ClientIP is the peer address unless an
	// operator configures proxies explicitly.
	_ = e.SetTrustedProxies(nil)
	e.HandleMethodNotAllowed = true
	e.Use(recoverJSON(logger), requestLog(logger), negotiateLanguage)
	// A person following a bad link gets a page; API clients JSON.
	e.NoRoute(gin.WrapF(ui.NotFound))
	e.NoMethod(func(c *gin.Context) {
		c.JSON(http.StatusMethodNotAllowed, gin.H{"error": "method_not_allowed", "error_description": "method not allowed on this endpoint"})
	})
	return e
}

// negotiateLanguage picks the page language (ui_locales, Accept-Language)
// for requests from a browser; API clients, which do not ask for HTML,
// skip it, so the token and introspection paths pay nothing.
func negotiateLanguage(c *gin.Context) {
	if strings.Contains(c.Request.Header.Get("Accept"), "text/html") {
		ui.Negotiate(c.Writer, c.Request)
	}
	c.Next()
}

// requestLog logs one line per request. Only the path is logged, never the
// query string: on /oauth2/* it can carry authorization codes, tokens or
// PKCE verifiers, and elsewhere it gains little.
func requestLog(logger *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		status := c.Writer.Status()
		level := slog.LevelInfo
		switch {
		case status >= 500:
			level = slog.LevelError
		case c.Request.URL.Path == "/healthz" || c.Request.URL.Path == "/readyz":
			// Probes hit every few seconds; keep them out of info logs.
			level = slog.LevelDebug
		}
		method, _ := metrics.MethodLabel(c.Request.Method)
		logger.LogAttrs(c.Request.Context(), level, "request",
			slog.String("method", method),
			slog.String("path", logPath(c.Request)),
			slog.Int("status", status),
			slog.Duration("duration", time.Since(start)),
			slog.Int("bytes", c.Writer.Size()),
			slog.String("ip", c.ClientIP()),
		)
	}
}

// maxLoggedPath bounds the path in a log line: a stranger chooses it, and
// a request line may be as long as MaxHeaderBytes.
const maxLoggedPath = 256

// logPath is the request path for the log, cut to maxLoggedPath bytes
// (marked with "…"); the slog handlers quote what they print.
func logPath(r *http.Request) string {
	p := r.URL.Path
	if len(p) <= maxLoggedPath {
		return p
	}
	return strings.ToValidUTF8(p[:maxLoggedPath], "") + "…"
}

// refuseUnknownMethods answers 501 (RFC 9110 §15.6.2: a method the server
// does not recognise) to any method outside metrics.MethodLabel's fixed
// set, before routing, rate limits or any handler: such a request can
// only be a probe, and nothing it carries reaches a label or a log line.
func refuseUnknownMethods() gin.HandlerFunc {
	return func(c *gin.Context) {
		if _, ok := metrics.MethodLabel(c.Request.Method); ok {
			c.Next()
			return
		}
		c.Header("Connection", "close")
		c.AbortWithStatusJSON(http.StatusNotImplemented, gin.H{
			"error": "method_not_implemented", "error_description": "request method not supported",
		})
	}
}

// recoverJSON turns a handler panic into a JSON 500. The stack goes to the
// log, never to the client.
func recoverJSON(logger *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			r := recover()
			if r == nil {
				return
			}
			if r == http.ErrAbortHandler {
				panic(r) // net/http's deliberate abort; let it through
			}
			method, _ := metrics.MethodLabel(c.Request.Method)
			logger.Error("panic serving request",
				"method", method, "path", logPath(c.Request),
				"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			if c.Writer.Written() {
				c.Abort()
				return
			}
			c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{
				"error": "server_error", "error_description": "internal server error",
			})
		}()
		c.Next()
	}
}

// healthz says the process is up; it touches nothing else.
func (s *Server) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// readyTimeout bounds the store ping so a hung database makes the probe
// fail fast instead of piling up probe requests.
const readyTimeout = 2 * time.Second

// readyz says whether the store answers, for load balancers.
func (s *Server) readyz(c *gin.Context) {
	if s.draining.Load() {
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "draining"})
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), readyTimeout)
	defer cancel()
	if err := s.Store.Ping(ctx); err != nil {
		s.Logger.Warn("readiness check failed", "err", err)
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable"})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// closeWhileDraining asks clients to open a new connection (to another
// instance) once shutdown has begun: a response with Connection: close
// ends its connection after it is written, so no request is ever sent on
// a connection the server is about to close as idle.
func (s *Server) closeWhileDraining(c *gin.Context) {
	if s.draining.Load() {
		c.Header("Connection", "close")
	}
	c.Next()
}
