// Command etcd is the upstream etcd server, built from the pinned
// go.etcd.io/etcd/server/v3 module (see go.mod) for flyteplugd's tests.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
