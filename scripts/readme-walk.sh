#!/usr/bin/env bash
# readme-walk.sh walks README.md as written: on a fresh clone of the
# repository's committed HEAD it runs every ```sh block in order, in one
# shell, and checks each command's output against the "# " lines that
# follow the command directly ("..." matches any text; the expected lines
# must appear in order, other output lines may come between). A block
# after "<!-- readme-walk: background -->" runs in the background (the
# server); "<!-- readme-walk: skip -->" skips the next block (Postgres,
# which needs a database server). It then drives the web-app sign-in of
# the "Protect your own web app" step with curl (login, consent, callback,
# refresh).
#
# It runs in a private network namespace (unshare -rn) when it can, so the
# README's fixed ports (8080, 8081, 9000) cannot collide with anything
# else on the machine; Go modules must then already be in the module
# cache (CI has run `go build ./...` first). Bounded: about 60 s warm.
#
# usage: scripts/readme-walk.sh [REPO_DIR]     (exit 0: the README is true)
set -euo pipefail

repo=$(cd "${1:-$(dirname "$0")/..}" && pwd)

if [[ "${READMEWALK_INNER:-}" != 1 ]]; then
	if unshare -rn true 2>/dev/null; then
		exec unshare -rn env READMEWALK_INNER=1 GOPROXY=off bash "$0" "$repo"
	fi
	echo "readme-walk: no network namespace available; using the host's ports" >&2
fi
ip link set lo up 2>/dev/null || true

work=$(mktemp -d)
bg_pids=()
cleanup() {
	for pid in "${bg_pids[@]}"; do
		kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
set -m # background jobs get their own process group, so go run's child dies too

git clone -q "$repo" "$work/clone"
cd "$work/clone"

# --- 1. turn the README's sh blocks into a list of commands -------------
# Output records, separated by NUL: kind ("cmd"|"bg"), command, expected.
awk '
	/^<!-- readme-walk: background -->/ { mode = "bg"; next }
	/^<!-- readme-walk: skip -->/       { mode = "skip"; next }
	/^```sh$/   { inblock = 1; cmd = ""; ex = ""; havecmd = 0; next }
	/^```/ && inblock { flush(); inblock = 0; mode = ""; next }
	!inblock { next }
	{
		line = $0
		if (cont) { cmd = cmd "\n" line; cont = (line ~ /\\$/); next }
		if (line ~ /^# / && havecmd && !blank) { ex = ex substr(line, 3) "\n"; next }
		if (line ~ /^#/ || line ~ /^[ \t]*$/) { if (line ~ /^[ \t]*$/) { flush(); blank = 1 } ; next }
		flush(); cmd = line; havecmd = 1; blank = 0; cont = (line ~ /\\$/)
	}
	function flush() {
		if (havecmd && mode != "skip") printf "%s%c%s%c%s%c", (mode == "bg" ? "bg" : "cmd"), 0, cmd, 0, ex, 0
		havecmd = 0; cmd = ""; ex = ""
	}
' README.md >"$work/steps"

# --- 2. run them ----------------------------------------------------------
# glob turns an expected line into a bash pattern: literal text, "..." = *.
glob() {
	local p=$1
	p=${p//\\/\\\\}
	p=${p//\*/\\*}
	p=${p//\?/\\?}
	p=${p//\[/\\[}
	p=${p//.../*}
	printf '%s' "$p"
}

check() { # check N OUTFILE EXPECTED
	local n=$1 out=$2 expected=$3 want line pat found
	local -a lines
	mapfile -t lines <"$out"
	local i=0
	while IFS= read -r want; do
		[[ -z "$want" ]] && continue
		pat=$(glob "$want")
		found=0
		while ((i < ${#lines[@]})); do
			line=${lines[i]%$'\r'}
			i=$((i + 1))
			# shellcheck disable=SC2053 # $pat is a pattern on purpose
			if [[ "$line" == $pat ]]; then
				found=1
				break
			fi
		done
		if ((found == 0)); then
			echo "readme-walk: step $n: expected output line not found: $want" >&2
			echo "--- output was:" >&2
			cat "$out" >&2
			return 1
		fi
	done <<<"$expected"
}

n=0
while IFS= read -r -d '' kind && IFS= read -r -d '' cmd && IFS= read -r -d '' expected; do
	n=$((n + 1))
	out="$work/out.$n"
	echo "readme-walk: [$n] ${cmd%%$'\n'*}" >&2
	if [[ "$kind" == bg || "$cmd" == *'&' ]]; then
		cmd=${cmd%&}
		eval "$cmd" >"$out" 2>&1 &
		bg_pids+=("$!")
		continue
	fi
	# A command's own exit status must be 0 unless the README shows it.
	if ! eval "$cmd" >"$out" 2>&1; then
		if [[ "$expected" != *"exit "* ]]; then
			echo "readme-walk: step $n failed:" >&2
			cat "$out" >&2
			exit 1
		fi
	fi
	check "$n" "$out" "$expected"
done <"$work/steps"

# --- 3. the browser part of "Protect your own web app", with curl --------
jar="$work/cookies"
# get/post fetch with the cookie jar, following redirects; the page goes to
# $work/page, the final URL to stdout.
get() { curl -s -L -b "$jar" -c "$jar" -o "$work/page" -w '%{url_effective}' "$@"; }
attr() { sed -n "s/.*name=\"$1\" value=\"\([^\"]*\)\".*/\1/p" "$work/page" | head -1; }
action() { # the form's action, absolute
	local a
	a=$(sed -n 's/.*<form method="post" action="\([^"]*\)".*/\1/p' "$work/page" | head -1)
	a=${a//&amp;/&}
	[[ "$a" == /* ]] && a="http://localhost:8080$a"
	printf '%s' "$a"
}
fail_page() { echo "readme-walk: $1; page was:" >&2; cat "$work/page" >&2; exit 1; }

get http://127.0.0.1:9000/login >/dev/null
grep -q 'name="password"' "$work/page" || fail_page "no login form after /login"
get --data-urlencode "csrf_token=$(attr csrf_token)" -d username=alice \
	--data-urlencode 'password=correct horse battery staple' "$(action)" >/dev/null
grep -q 'value="allow"' "$work/page" || fail_page "no consent page after signing in"
get -d "csrf_token=$(attr csrf_token)" -d decision=allow "$(action)" >/dev/null
grep -q 'Signed in as alice' "$work/page" || fail_page "web app sign-in failed"
grep -q '&#34;nonce&#34;\|"nonce"' "$work/page" || fail_page "ID token claims not shown"
get -d '' http://127.0.0.1:9000/refresh >/dev/null
grep -q 'Signed in as alice' "$work/page" || fail_page "refresh failed"

echo "readme-walk: OK ($n commands)" >&2
