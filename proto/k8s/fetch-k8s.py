#!/usr/bin/env python3
"""Obtains the protobuf IDL of Kubernetes' core API and the Go type files it comes from.

    fetch-k8s.py CACHE_DIR OUT_DIR STAMP

The pins below are the only place the versions live. Each module's zip is kept in CACHE_DIR
(shared between builds and staged into the image build by deploy/build-image.sh); when it is
missing, `go mod download` fetches it from the Go module proxy, which checks it against the
checksum database (Go from scripts/go.sh). Every use checks the zip against the pinned h1: sum
(Go's dirhash of the zip, as go.sum has it), so a different or modified module fails the build.
OUT_DIR receives the generated.proto files under their import paths and the Go files of the
packages under go/<protobuf package>/; STAMP records the pins it was made from.
"""
import base64
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

VERSION = 'v0.37.2'
PINS = {
    'k8s.io/api': 'h1:PnxqnUFy93jr2GcpWDkKOm8wfy25kT9wa572MuQS8oc=',
    'k8s.io/apimachinery': 'h1:G4t9RGoPDbQML38hz/kQQiltttgd3egg2ODCR8aIc2o=',
}
# (module, directory in it, what to take): the .proto files and the Go packages whose struct tags
# give the JSON names (proto/k8s/json-fields.py).
PROTOS = [
    ('k8s.io/api', 'core/v1'),
    ('k8s.io/apimachinery', 'pkg/apis/meta/v1'),
    ('k8s.io/apimachinery', 'pkg/api/resource'),
    ('k8s.io/apimachinery', 'pkg/runtime'),
    ('k8s.io/apimachinery', 'pkg/runtime/schema'),
    ('k8s.io/apimachinery', 'pkg/util/intstr'),
]
GO_PACKAGES = [
    ('k8s.io/api', 'core/v1', 'k8s.io.api.core.v1'),
    ('k8s.io/apimachinery', 'pkg/apis/meta/v1', 'k8s.io.apimachinery.pkg.apis.meta.v1'),
]
HERE = os.path.dirname(os.path.abspath(__file__))


def fail(msg):
    sys.exit('k8s-api: ' + msg)


def h1(z):
    """Go's dirhash.HashZip with Hash1: the sha256 of the sorted "sha256  name" lines. As Go,
    refuses a name with a newline (it could forge lines) and, unlike a dict, a repeated name."""
    names = z.namelist()
    if len(set(names)) != len(names) or any('\n' in n for n in names):
        return 'h1:(a repeated name or a name with a newline)'
    lines = ''.join('%s  %s\n' % (hashlib.sha256(z.read(n)).hexdigest(), n)
                    for n in sorted(names))
    return 'h1:' + base64.b64encode(hashlib.sha256(lines.encode()).digest()).decode()


def download(module, dest):
    gobin = subprocess.run(['bash', os.path.join(HERE, '..', '..', 'scripts', 'go.sh')],
                           check=True, capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, GOMODCACHE=os.path.join(tmp, 'mod'), GOFLAGS='-modcacherw',
                   GOTOOLCHAIN='local', GO111MODULE='on')
        print('k8s-api: fetching %s@%s from the Go module proxy' % (module, VERSION),
              file=sys.stderr)
        r = subprocess.run([os.path.join(gobin, 'go'), 'mod', 'download', '-json',
                            module + '@' + VERSION], cwd=tmp, env=env, capture_output=True,
                           text=True)
        info = json.loads(r.stdout) if r.stdout.strip() else {}
        if r.returncode or info.get('Error') or not info.get('Zip'):
            fail('go mod download %s@%s failed: %s %s' % (module, VERSION, r.stderr,
                                                          info.get('Error', '')))
        shutil.copyfile(info['Zip'], dest + '.tmp')
    os.replace(dest + '.tmp', dest)


def main():
    cache, out, stamp = sys.argv[1:4]
    os.makedirs(cache, exist_ok=True)
    zips = {}
    for module, want in PINS.items():
        path = os.path.join(cache, '%s@%s.zip' % (module.replace('/', '_'), VERSION))
        if not os.path.exists(path):
            download(module, path)
        # Read once: the bytes checked are the bytes unpacked, whatever happens to the file.
        with open(path, 'rb') as f:
            z = zipfile.ZipFile(io.BytesIO(f.read()))
        got = h1(z)
        if got != want:
            fail('%s does not match the pinned checksum\n  expected %s\n  got      %s\n'
                 '  Delete it to download it again.' % (path, want, got))
        zips[module] = z
    pins = ' '.join('%s@%s=%s' % (m, VERSION, s) for m, s in sorted(PINS.items()))
    # Unpack only when needed: a stamp newer than this script that names these very pins means
    # OUT_DIR holds their files, and rewriting them would recompile the whole IDL for nothing.
    if os.path.isdir(out) and os.path.exists(stamp) and open(stamp).read().strip() == pins \
            and os.path.getmtime(stamp) > os.path.getmtime(__file__):
        return
    # The stamp goes first: an unpacking cut short must not leave a stamp that vouches for it.
    if os.path.exists(stamp):
        os.remove(stamp)
    shutil.rmtree(out, ignore_errors=True)
    wanted = {}
    for module, d in PROTOS:
        wanted[(module, d + '/generated.proto')] = os.path.join(out, module, d, 'generated.proto')
    with_go = {(m, d): pkg for m, d, pkg in GO_PACKAGES}
    for module, z in zips.items():
        prefix = '%s@%s/' % (module, VERSION)
        for name in z.namelist():
            rel = name[len(prefix):]
            d, base = os.path.split(rel)
            dest = wanted.get((module, rel))
            if not dest and (module, d) in with_go and base.endswith('.go') \
                    and not base.endswith('_test.go'):
                dest = os.path.join(out, 'go', with_go[(module, d)], base)
            if dest:
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                with open(dest, 'wb') as f:
                    f.write(z.read(name))
    for dest in wanted.values():
        if not os.path.exists(dest):
            fail('%s is not in the modules' % dest)
    with open(stamp + '.tmp', 'w') as f:
        f.write(pins + '\n')
    os.replace(stamp + '.tmp', stamp)


if __name__ == '__main__':
    main()
