//go:build sesame_crashtest

package oauth

import (
	"fmt"
	"os"
)

// With SESAME_CRASHTEST=pause-after-refresh-commit, the first refresh that
// commits announces it on stderr and never answers, so the test can kill
// the process (kill -9) exactly between the commit and the response.
func init() {
	if os.Getenv("SESAME_CRASHTEST") != "pause-after-refresh-commit" {
		return
	}
	afterRefreshCommit = func() {
		fmt.Fprintln(os.Stderr, "sesame-crashtest: refresh committed")
		select {}
	}
}
