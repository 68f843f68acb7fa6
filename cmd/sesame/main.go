package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sesameauth/sesame/internal/app"
	"github.com/sesameauth/sesame/storage"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes one command line and returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	defer e.close()
	root := newRootCmd(e)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "sesame: "+oneLine(err.Error()))
	return exitCode(e, err)
}

// usageError marks bad command-line input (exit status 1).
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// infraError marks a failure of something outside the user's input: the
// database, the file system (exit status 2).
type infraError struct{ err error }

func (i infraError) Error() string { return i.err.Error() }
func (i infraError) Unwrap() error { return i.err }

func exitCode(e *env, err error) int {
	var (
		usage usageError
		infra infraError
	)
	switch {
	case errors.As(err, &usage), app.IsValidation(err),
		errors.Is(err, storage.ErrNotFound), errors.Is(err, storage.ErrConflict),
		errors.Is(err, app.ErrInvalidCredentials):
		return 1
	case errors.As(err, &infra):
		return 2
	case e.ran:
		// The command started and failed on something that is not the
		// user's input: an unexpected store error.
		return 2
	default:
		// cobra rejected the command line before running anything.
		return 1
	}
}

// oneLine keeps the promise of one error line on stderr.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}
