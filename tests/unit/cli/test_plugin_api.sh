#!/usr/bin/env bash
# The plugin API as an external plugin sees it: the flyteplugd executable loads a shared object
# from plugins.dir that calls fpd_struct_to_json and fpd_json_to_message (plugin_api_module.c),
# so dlopen resolves them from the executable, and `render` runs its build() both ways.
set -uo pipefail
bin=$1 plugins=$2
source "$(dirname "${BASH_SOURCE[0]}")/check.sh"

printf 'plugins: {dir: "%s"}\n' "$plugins" >"$tmp/config.yaml"
cat >"$tmp/ok.json" <<'JSON'
{"type": "api-probe",
 "k8sPod": {"podSpec": {"containers": [{"name": "c", "ports": [{"containerPort": 8080}]}],
                        "priority": 0.5, "nodeName": null}},
 "custom": {"resources": {"requests": [{"name": "CPU", "value": "2"}]}}}
JSON
cat >"$tmp/bad.json" <<'JSON'
{"type": "api-probe", "k8sPod": {"podSpec": {}}, "custom": {"resources": {"requests": "2"}}}
JSON

check "check-config loads the module" 0 "OK" -- "$bin" check-config "$tmp/config.yaml"
# Integral numbers stay integers, nulls stay, keys keep their order.
check "render: Struct to JSON" 0 \
	'"podSpec": "{\"containers\":[{\"name\":\"c\",\"ports\":[{\"containerPort\":8080}]}],\"priority\":0.5,\"nodeName\":null}"' \
	-- "$bin" render --config "$tmp/config.yaml" --template "$tmp/ok.json" -o json
check "render: JSON to message" 0 '"cpu": "2"' \
	-- "$bin" render --config "$tmp/config.yaml" --template "$tmp/ok.json" -o json
check "render: the converter's error" 2 "requests: expected an array, got \"2\"" \
	-- "$bin" render --config "$tmp/config.yaml" --template "$tmp/bad.json" -o json

finish "plugin api"
