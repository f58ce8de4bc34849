// Command pod_bodies_go checks flyteplugd's protobuf bodies against the API machinery's own
// decoders, the ones kube-apiserver reads request bodies with: for each pair NAME.json (a pod)
// and NAME.pb (the body flyteplugd creates it with) in the directory given, both decode to the
// same core/v1 Pod. Equal means apimachinery's semantic equality, under which a nil and an
// empty slice or map are alike (protobuf cannot tell them apart) and quantities compare by
// value; a second, strict comparison (reflect.DeepEqual) is reported apart, as information.
// Prints one line per pair that differs, with the difference, and exits 1 if any does.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/diff"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: pod_bodies_go DIR")
		os.Exit(2)
	}
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		panic(err)
	}
	codecs := serializer.NewCodecFactory(scheme)
	decoder := func(media string) runtime.Decoder {
		info, ok := runtime.SerializerInfoForMediaType(codecs.SupportedMediaTypes(), media)
		if !ok {
			panic("no serializer for " + media)
		}
		return info.Serializer
	}
	fromJSON, fromPB := decoder(runtime.ContentTypeJSON), decoder(runtime.ContentTypeProtobuf)
	bodies, err := filepath.Glob(filepath.Join(os.Args[1], "*.pb"))
	if err != nil || len(bodies) == 0 {
		fmt.Fprintln(os.Stderr, "pod_bodies_go: no .pb files in", os.Args[1])
		os.Exit(2)
	}
	bad, strict := 0, 0
	for _, pb := range bodies {
		name := strings.TrimSuffix(pb, ".pb")
		j, err := os.ReadFile(name + ".json")
		if err != nil {
			panic(err)
		}
		p, err := os.ReadFile(pb)
		if err != nil {
			panic(err)
		}
		var a, b corev1.Pod
		if _, _, err := fromJSON.Decode(j, nil, &a); err != nil {
			fmt.Printf("%s: the JSON does not decode: %v\n", filepath.Base(name), err)
			bad++
			continue
		}
		if _, _, err := fromPB.Decode(p, nil, &b); err != nil {
			fmt.Printf("%s: the protobuf does not decode: %v\n", filepath.Base(name), err)
			bad++
			continue
		}
		if !equality.Semantic.DeepEqual(a, b) {
			fmt.Printf("%s: decoded differently:\n%s\n", filepath.Base(name), diff.Diff(a, b))
			bad++
		} else if !reflect.DeepEqual(a, b) {
			strict++
		}
	}
	fmt.Printf("%d pairs, %d differ; %d alike only with nil and empty alike\n", len(bodies), bad,
		strict)
	if bad > 0 {
		os.Exit(1)
	}
}
