package main

import (
	"context"

	"github.com/sesameauth/sesame/internal/server"
)

// core opens the store and builds the signing keys and OAuth handler, so
// that CLI-issued tokens and key rotations take the server's own code paths.
// The CLI must see the same SESAME_ISSUER and SESAME_SECRET as the server.
func (e *env) core(ctx context.Context) (*server.Core, error) {
	if _, err := e.open(ctx); err != nil {
		return nil, err
	}
	c, err := server.NewCore(ctx, e.cfg, e.store, e.ring, e.logger, nil)
	if err != nil {
		return nil, infraError{err}
	}
	return c, nil
}
