package app

// UpstreamStatus is one configured upstream and whether what it needs is
// reachable: what `sesame upstreams list` prints and GET /admin/upstreams
// answers (same field names). internal/server fills it from
// internal/upstream; app only owns the shape both share.
type UpstreamStatus struct {
	ID     string          `json:"id"`
	Name   string          `json:"name"`
	Type   string          `json:"type"`
	OK     bool            `json:"ok"`
	Probes []UpstreamProbe `json:"probes"`
}

// UpstreamProbe is one reachability check (discovery, jwks, authorize,
// directory).
type UpstreamProbe struct {
	What  string `json:"what"`
	URL   string `json:"url,omitempty"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}
