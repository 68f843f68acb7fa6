// Package metrics is Sesame's Prometheus instrumentation, served at
// /metrics: HTTP requests by route and status with latency histograms,
// tokens issued by grant type and format, failed logins and locks of the
// brute-force guard, janitor deletions and connection-pool statistics of
// the store.
//
// Everything lives on the Registry of one Metrics value built by the
// composition root (never the global default registry), so two servers in
// one test process do not collide.
//
// Cardinality is bounded by construction: the route label is gin's route
// template (c.FullPath(), e.g. /oauth2/register/:client_id), "unmatched"
// for requests that matched no route, never a raw path; the method label
// is one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS or "other"
// (MethodLabel), never the raw method; grant types that are not one of the
// four served are counted as "other".
//
// Tokens issued are counted at the HTTP layer, from successful
// /oauth2/token responses (grant_type of the form × the format of the
// access token returned: opaque tokens carry the sesame_at_ prefix), so
// the oauth package needs no hook.
//
// The package imports gin, pgxpool, database/sql and storage only.
package metrics
