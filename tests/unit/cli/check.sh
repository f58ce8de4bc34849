# Sourced by the command-line tests (test_cli.sh, test_plugin_api.sh): a scratch directory $tmp
# removed on exit, the passed/failed counters, check and finish.
passed=0 failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# check NAME WANT_RC WANT_FRAGMENT -- command...: counts a pass when the command exits WANT_RC
# and WANT_FRAGMENT (if not empty) is in its stdout or stderr; prints why otherwise.
check() {
	local name=$1 want_rc=$2 want=$3
	shift 4
	"$@" >"$tmp/out" 2>"$tmp/err"
	local rc=$?
	if [[ $rc != "$want_rc" ]]; then
		echo "FAIL $name: exit $rc, expected $want_rc; stderr: $(head -c 400 "$tmp/err")"
		failed=$((failed + 1))
	elif [[ -n $want ]] && ! grep -qF -- "$want" "$tmp/out" "$tmp/err"; then
		echo "FAIL $name: output lacks '$want'; stdout: $(head -c 600 "$tmp/out") stderr: $(head -c 300 "$tmp/err")"
		failed=$((failed + 1))
	else
		passed=$((passed + 1))
	fi
}

# finish NAME: prints the counts; succeeds only when nothing failed (the script's last command).
finish() {
	echo "$1: $passed passed, $failed failed"
	((failed == 0))
}
