#!/usr/bin/env bash
# The flyteplugd command line: subcommands, help, exit codes, and that every broken configuration
# fixture is refused by `check-config` and `serve` with exit code 2 and its file:line:col.
set -uo pipefail
bin=$1 root=$2
fixtures=$root/tests/fixtures/config
source "$(dirname "${BASH_SOURCE[0]}")/check.sh"

check "no arguments" 2 "usage: flyteplugd" -- "$bin"
check "help" 0 "commands:" -- "$bin" --help
check "unknown command" 2 "unknown command 'launch'" -- "$bin" launch
check "version" 0 "flyteplugd " -- "$bin" version
check "version extra arg" 2 "usage: flyteplugd version" -- "$bin" version now
check "version help" 0 "usage: flyteplugd version" -- "$bin" version --help
check "serve help" 0 "usage: flyteplugd serve" -- "$bin" serve --help
check "serve unknown flag" 2 "unknown or incomplete option" -- "$bin" serve --frobnicate
check "serve bad level" 2 "--log-level must be" -- "$bin" serve --log-level loud
check "serve stray argument" 2 "unexpected argument" -- "$bin" serve extra
check "check-config help" 0 "usage: flyteplugd check-config" -- "$bin" check-config --help
check "check-config no file" 2 "usage: flyteplugd check-config" -- "$bin" check-config
check "check-config example" 0 "OK" -- "$bin" check-config "$root/deploy/config.example.yaml"
check "check-config missing file" 2 "/no/such.yaml: cannot open" -- "$bin" check-config /no/such.yaml
check "serve missing file" 2 "/no/such.yaml: cannot open" -- "$bin" serve --config /no/such.yaml

for f in "$fixtures"/good/*.yaml; do
	check "good $(basename "$f")" 0 "OK" -- "$bin" check-config "$f"
done
# bad/: refused by the configuration itself; bad-plugins/: by the plugins' own schemas.
for f in "$fixtures"/bad/*.yaml "$fixtures"/bad-plugins/*.yaml; do
	loc=$(sed -n '1s/^# expect: \([0-9]*:[0-9]*\) .*/\1/p' "$f")
	check "check-config $(basename "$f")" 2 "$f:$loc: " -- "$bin" check-config "$f"
	check "serve $(basename "$f")" 2 "$f:$loc: " -- "$bin" serve --config "$f"
done

# serve runs the loop and exits 0 on SIGTERM and on SIGINT.
cat >"$tmp/ok.yaml" <<'YAML'
grpc: {listen: "127.0.0.1:0"}
admin: {enabled: false, listen: "127.0.0.1:0"}
YAML
for sig in TERM INT; do
	"$bin" serve --config "$tmp/ok.yaml" 2>"$tmp/serve.err" &
	pid=$!
	sleep 0.5
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "FAIL serve exited early: $(cat "$tmp/serve.err")"
		failed=$((failed + 1))
		continue
	fi
	kill -s "$sig" "$pid"
	wait "$pid"
	rc=$?
	if [[ $rc == 0 ]] && grep -q "shutting down" "$tmp/serve.err"; then
		passed=$((passed + 1))
	else
		echo "FAIL serve SIG$sig: exit $rc; $(tail -3 "$tmp/serve.err")"
		failed=$((failed + 1))
	fi
done

finish "cli"
