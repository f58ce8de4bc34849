#!/usr/bin/env python3
"""Extracts the serialized FileDescriptorProtos from the flyteidl2 wheel into a FileDescriptorSet.

    idl2-extract.py WHEEL OUT

PyPI's flyteidl2 wheel ships no .proto files; each generated `*_pb2.py` module carries its file's
descriptor as the bytes literal of one `AddSerializedFile(b'...')` call. The module is parsed
with the ast module and the literal read from the syntax tree: nothing from the package is
imported or executed, so the build needs neither the protobuf runtime nor trust in the wheel's
code. Each descriptor must name the file its module was generated from; anything else in the
wheel's layout (no literal, two literals, a mismatched name) stops the build with the module named.
"""
import ast
import sys
import zipfile


def fail(msg):
    sys.exit(f"idl2-extract: {msg}")


def varint(v):
    out = bytearray()
    while True:
        low, v = v & 0x7F, v >> 7
        out.append(low | (0x80 if v else 0))
        if not v:
            return bytes(out)


def serialized_file(module, source):
    calls = [
        node for node in ast.walk(ast.parse(source, module))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        and node.func.attr == "AddSerializedFile"
    ]
    if len(calls) != 1 or len(calls[0].args) != 1 or not isinstance(calls[0].args[0], ast.Constant) \
            or not isinstance(calls[0].args[0].value, bytes):
        fail(f"{module}: expected one AddSerializedFile(b'...') call with a bytes literal")
    return calls[0].args[0].value


def check_name(module, fdp):
    # FileDescriptorProto.name is field 1 (tag 0x0a) and protoc writes it first.
    want = module[: -len("_pb2.py")] + ".proto"
    name = want.encode()
    if not fdp.startswith(b"\x0a" + varint(len(name)) + name):
        fail(f"{module}: its descriptor does not start with the name {want}")


def main():
    if len(sys.argv) != 3:
        fail("usage: idl2-extract.py WHEEL OUT")
    wheel, out = sys.argv[1:]
    fds = bytearray()
    count = 0
    with zipfile.ZipFile(wheel) as z:
        for module in sorted(n for n in z.namelist() if n.endswith("_pb2.py")):
            fdp = serialized_file(module, z.read(module))
            check_name(module, fdp)
            fds += b"\x0a" + varint(len(fdp)) + fdp  # FileDescriptorSet.file = 1
            count += 1
    if count == 0:
        fail(f"{wheel}: no *_pb2.py modules")
    with open(out, "wb") as f:
        f.write(fds)
    print(f"idl2-extract: {count} file descriptors from {wheel}", file=sys.stderr)


if __name__ == "__main__":
    main()
