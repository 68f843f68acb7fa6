// Command sesame is the Sesame server and its admin CLI: the command tree,
// flag parsing and table/--json printing. The work itself is done by
// internal/server (serve) and internal/app (everything else), so the CLI
// and the admin API validate identically.
//
// Exit status: 0 success; 1 bad usage, invalid input, not found or
// conflict; 2 infrastructure failure (database unreachable, I/O errors).
// Errors are printed as one line on stderr: "sesame: <message>".
package main
