//go:build tools

// Package sesame pins the modules the packages below are being built on,
// so that go.mod and go.sum stay complete while they are written.
package sesame

import (
	_ "github.com/chromedp/chromedp"
	_ "github.com/coreos/go-oidc/v3/oidc"
	_ "github.com/gin-gonic/gin"
	_ "github.com/go-jose/go-jose/v4"
	_ "github.com/go-jose/go-jose/v4/jwt"
	_ "github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/jackc/pgxlisten"
	_ "github.com/ory/fosite"
	_ "github.com/ory/fosite/compose"
	_ "github.com/ory/fosite/handler/openid"
	_ "github.com/ory/fosite/token/jwt"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/spf13/cobra"
	_ "go.yaml.in/yaml/v3"
	_ "golang.org/x/crypto/argon2"
	_ "golang.org/x/oauth2"
	_ "golang.org/x/oauth2/clientcredentials"
	_ "golang.org/x/time/rate"
	_ "golang.org/x/sync/singleflight"
	_ "modernc.org/sqlite"
)
