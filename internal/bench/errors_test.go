package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"syscall"
	"testing"
)

func TestKindOf(t *testing.T) {
	resp := func(status int, hdr string) *http.Response {
		r := &http.Response{StatusCode: status, Header: http.Header{}}
		if hdr != "" {
			r.Header.Set("WWW-Authenticate", hdr)
		}
		return r
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"oauth error code is appended to the status", statusError(resp(400, ""), []byte(`{"error":"invalid_grant","error_description":"x"}`)), "400 invalid_grant"},
		{"plain body gives the status alone", statusError(resp(500, ""), []byte("boom")), "500"},
		{"bearer challenge code is used without a body", statusError(resp(401, `Bearer realm="x", error="invalid_token"`), nil), "401 invalid_token"},
		{"an absurdly long code is not a kind", statusError(resp(400, ""), []byte(fmt.Sprintf(`{"error":"%0100d"}`, 0))), "400"},
		{"deadline is a timeout", &url.Error{Op: "Post", URL: "u", Err: context.DeadlineExceeded}, "timeout"},
		{"refused connection", &url.Error{Op: "Get", URL: "u", Err: syscall.ECONNREFUSED}, "transport: connection refused"},
		{"reset connection", fmt.Errorf("read: %w", syscall.ECONNRESET), "transport: connection reset"},
		{"flow errors keep their text", flowError("state mismatch"), "flow: state mismatch"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := kindOf(tc.err); got != tc.want {
				t.Errorf("kindOf = %q, want %q", got, tc.want)
			}
		})
	}
}
