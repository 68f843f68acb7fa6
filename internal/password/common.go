package password

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed" // the common-password list
	"fmt"
	"slices"
	"strings"
	"sync"
)

// commonGz is the bundled list of the most common passwords: 19,726
// lower-cased entries, one a line, sorted by byte value. It is derived
// from Django's list (BSD 3-Clause, see NOTICE in this directory).
//
//go:embed common-passwords.txt.gz
var commonGz []byte

// common is the list, read once on first use: one sorted slice (a binary
// search per check, ~0.5 MB of memory, no per-entry map overhead).
var common = sync.OnceValues(func() ([]string, error) { return readCommon(commonGz) })

func readCommon(gz []byte) ([]string, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("password: common-password list: %w", err)
	}
	list := make([]string, 0, 20000)
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		if w := sc.Text(); w != "" {
			list = append(list, w)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("password: common-password list: %w", err)
	}
	if !slices.IsSorted(list) {
		// The file is sorted at build time; a binary search over an
		// unsorted list would silently miss entries.
		return nil, fmt.Errorf("password: common-password list is not sorted")
	}
	return list, nil
}

// IsCommon reports whether pw is on the bundled list of common passwords,
// compared case-insensitively and without surrounding spaces (as
// Django's CommonPasswordValidator does: "PassWord1 " is "password1").
// A list that cannot be read (a broken build) counts every password as
// common, so the policy fails closed rather than letting weak ones in.
func IsCommon(pw string) bool {
	list, err := common()
	if err != nil {
		return true
	}
	_, found := slices.BinarySearch(list, strings.ToLower(strings.TrimSpace(pw)))
	return found
}

// CommonCount is the number of entries in the bundled list (0 if it
// cannot be read), for tests and documentation.
func CommonCount() int {
	list, err := common()
	if err != nil {
		return 0
	}
	return len(list)
}
