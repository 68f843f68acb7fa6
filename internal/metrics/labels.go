package metrics

import "net/http"

// OtherMethod is the method label of every request whose method is not
// one of the standard methods below.
const OtherMethod = "other"

// methods is the fixed set of method label values (besides OtherMethod):
// the RFC 9110 §9 methods a browser or an OAuth client sends. The raw
// method is never a label: a method is any token of any length, and each
// distinct value was a new series that never went away.
var methods = map[string]string{
	http.MethodGet: http.MethodGet, http.MethodHead: http.MethodHead, http.MethodPost: http.MethodPost,
	http.MethodPut: http.MethodPut, http.MethodPatch: http.MethodPatch, http.MethodDelete: http.MethodDelete,
	http.MethodOptions: http.MethodOptions,
}

// MethodLabel maps a request method to its bounded label value: the
// method itself when it is standard, else OtherMethod. ok reports whether
// it was standard. The server uses it for logs too.
func MethodLabel(m string) (label string, ok bool) {
	if l, ok := methods[m]; ok {
		return l, true
	}
	return OtherMethod, false
}

// UnmatchedRoute is the route label of a request that matched no route.
const UnmatchedRoute = "unmatched"
