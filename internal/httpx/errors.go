package httpx

import (
	"html/template"

	"github.com/gin-gonic/gin"
)

// ErrorBody is the JSON shape of every error Sesame writes itself (the
// OAuth 2.0 error shape of RFC 6749 §5.2, reused by the admin API).
// Protocol errors of the OAuth endpoints still go through fosite's writers.
type ErrorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// WriteError writes {"error": code, "error_description": description} with
// status and aborts the gin chain, so a middleware can call it and return.
// description must be safe to show to anyone: log the cause, never send it.
func WriteError(c *gin.Context, status int, code, description string) {
	c.AbortWithStatusJSON(status, ErrorBody{Error: code, Description: description})
}

// errorPage is the minimal HTML page middleware answers with on browser
// routes. It has no inline style or script, so it satisfies DefaultCSP.
var errorPage = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<link rel="stylesheet" href="/static/sesame.css"></head>
<body><main><h1>{{.Title}}</h1><p>{{.Message}}</p></main></body></html>
`))

// writeHTMLError writes a small HTML error page and aborts the chain.
func writeHTMLError(c *gin.Context, status int, title, message string) {
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Status(status)
	_ = errorPage.Execute(c.Writer, struct{ Title, Message string }{title, message})
	c.Abort()
}
