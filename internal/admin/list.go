package admin

import (
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/sesameauth/sesame/storage"
)

// page is the shape of every list answer, the same as the CLI's --json.
type page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// listOptions parses ?limit=&cursor=&q= into storage options.
func (h *Handler) listOptions(c *gin.Context) (storage.ListOptions, error) {
	var o storage.ListOptions
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > storage.MaxListLimit {
			return o, badRequest("limit: must be an integer between 1 and %d", storage.MaxListLimit)
		}
		o.Limit = n
	}
	cur, err := h.cursor.unwrap(c.Query("cursor"))
	if err != nil {
		return o, err
	}
	o.Cursor = cur
	o.Query = strings.TrimSpace(c.Query("q"))
	if len(o.Query) > 200 {
		return o, badRequest("q: must be at most 200 characters")
	}
	return o, nil
}

func mapSlice[S, T any](in []S, f func(S) T) []T {
	out := make([]T, 0, len(in))
	for _, v := range in {
		out = append(out, f(v))
	}
	return out
}
