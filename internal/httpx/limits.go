package httpx

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"
)

// DefaultBodyLimit caps request bodies of the public endpoints. OAuth
// requests are small forms; registration metadata is a small JSON object.
const DefaultBodyLimit = 64 << 10

// BodyLimit answers 413 with a JSON error when the request body is larger
// than n bytes. A declared Content-Length is checked up front; a chunked
// body of unknown length is read (at most n+1 bytes) and put back, so the
// handler never meets a half-read body and the client always gets a clean
// 413 rather than whatever error a parser makes of a truncated read.
func BodyLimit(n int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		r := c.Request
		if r.Body == nil || r.Body == http.NoBody {
			c.Next()
			return
		}
		if r.ContentLength > n {
			tooLarge(c, n)
			return
		}
		if r.ContentLength < 0 {
			buf, err := io.ReadAll(io.LimitReader(r.Body, n+1))
			_ = r.Body.Close()
			if err != nil {
				WriteError(c, http.StatusBadRequest, "invalid_request", "the request body could not be read")
				return
			}
			if int64(len(buf)) > n {
				tooLarge(c, n)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(buf))
			r.ContentLength = int64(len(buf))
			c.Next()
			return
		}
		// Content-Length is enforced by net/http; this is belt and braces
		// for handlers that read past it.
		r.Body = http.MaxBytesReader(c.Writer, r.Body, n)
		c.Next()
	}
}

func tooLarge(c *gin.Context, n int64) {
	WriteError(c, http.StatusRequestEntityTooLarge, "invalid_request",
		fmt.Sprintf("the request body is larger than %d bytes", n))
}

// ParamLimits caps the number and size of query and form parameters.
type ParamLimits struct {
	// MaxParams is the most values a request may carry, query and form
	// together (a repeated name counts once per value). Default 100.
	MaxParams int
	// MaxValueLen is the longest name or value in bytes. Default 8 KiB:
	// larger than the 4 KiB one might expect because client_assertion and
	// id_token_hint are JWTs, which an RSA-4096 signature and an x5c chain
	// can push past 4 KiB.
	MaxValueLen int
}

// DefaultParamLimits: 100 values, 8 KiB each.
func DefaultParamLimits() ParamLimits { return ParamLimits{MaxParams: 100, MaxValueLen: 8 << 10} }

// LimitParams answers 400 invalid_request when the query string or an
// application/x-www-form-urlencoded body is malformed, has too many
// values, or a name or value longer than the limit — so a hostile request
// is refused in one place and never reaches a handler that might turn a
// parse failure into a 500. It parses the form with Request.ParseForm,
// which later readers (gin's PostForm, fosite) reuse instead of reading
// the body again. Mount it after BodyLimit.
func LimitParams(lim ParamLimits) gin.HandlerFunc {
	if lim.MaxParams <= 0 {
		lim.MaxParams = DefaultParamLimits().MaxParams
	}
	if lim.MaxValueLen <= 0 {
		lim.MaxValueLen = DefaultParamLimits().MaxValueLen
	}
	return func(c *gin.Context) {
		r := c.Request
		query, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			WriteError(c, http.StatusBadRequest, "invalid_request", "the query string is malformed")
			return
		}
		count, err := checkValues(query, lim, 0)
		if err == nil && isForm(r) {
			if perr := r.ParseForm(); perr != nil {
				var tooBig *http.MaxBytesError
				if errors.As(perr, &tooBig) {
					tooLarge(c, tooBig.Limit)
					return
				}
				WriteError(c, http.StatusBadRequest, "invalid_request", "the form body is malformed")
				return
			}
			_, err = checkValues(r.PostForm, lim, count)
		}
		if err != nil {
			WriteError(c, http.StatusBadRequest, "invalid_request", err.Error())
			return
		}
		c.Next()
	}
}

// checkValues counts the values of v on top of count and checks every
// name and value length; the error text is safe to send to the client.
func checkValues(v url.Values, lim ParamLimits, count int) (int, error) {
	for name, vals := range v {
		if len(name) > lim.MaxValueLen {
			return count, fmt.Errorf("a parameter name is longer than %d bytes", lim.MaxValueLen)
		}
		count += max(len(vals), 1)
		if count > lim.MaxParams {
			return count, fmt.Errorf("the request has more than %d parameters", lim.MaxParams)
		}
		for _, val := range vals {
			if len(val) > lim.MaxValueLen {
				return count, fmt.Errorf("a parameter value is longer than %d bytes", lim.MaxValueLen)
			}
		}
	}
	return count, nil
}

// isForm reports whether r carries a url-encoded form body that
// ParseForm would read.
func isForm(r *http.Request) bool {
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		return false
	}
	if r.Body == nil || r.Body == http.NoBody {
		return false
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/x-www-form-urlencoded"
}
