package app

import (
	"context"
	"fmt"

	"github.com/sesameauth/sesame/storage"
)

// ListAudit returns one page of audit events, newest first, and the cursor
// of the next page ("" on the last).
func (s *Service) ListAudit(ctx context.Context, f storage.AuditFilter) ([]storage.AuditEvent, string, error) {
	events, next, err := s.store.ListAudit(ctx, f)
	if err != nil {
		return nil, "", fmt.Errorf("list audit: %w", err)
	}
	return events, next, nil
}
