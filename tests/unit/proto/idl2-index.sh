#!/usr/bin/env bash
# Writes the C file that lists every message and enum descriptor fpd_proto2 defines, for
# idl2_dump.c: protobuf-c keeps no registry, but each generated header declares its descriptors.
#
#   idl2-index.sh OUT.c GEN_DIR FILE.proto...
set -euo pipefail
out=$1 gen=$2
shift 2
headers=()
for p; do headers+=("$gen/${p%.proto}.pb-c.h"); done
list() { # list KIND: the `&name,` lines of every extern const ProtobufC<KIND>Descriptor
  grep -hoE "^extern const ProtobufC$1Descriptor +[a-z0-9_]+" "${headers[@]}" |
    awk '{ printf "\t&%s,\n", $4 }'
}
{
  echo "/* Every message and enum descriptor of fpd_proto2, from the generated headers. */"
  for p; do echo "#include \"${p%.proto}.pb-c.h\""; done
  echo "#include \"idl2_index.h\""
  echo "const ProtobufCMessageDescriptor *const fpd_idl2_messages[] = {"
  list Message
  echo -e "\tNULL,\n};"
  echo "const ProtobufCEnumDescriptor *const fpd_idl2_enums[] = {"
  list Enum
  echo -e "\tNULL,\n};"
} >"$out.tmp"
mv "$out.tmp" "$out"
