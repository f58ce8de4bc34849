// Command goclient is the CreateTask-latency half of bench/engine/run.py, written with the
// transports FlytePropeller and client-go use: google.golang.org/grpc for CreateTask and
// net/http for the bare POST of the same object to the API server, over HTTP/2 (client-go's
// default) and over HTTP/1.1, each on its own kept-alive connection.
//
//	goclient -grpc 127.0.0.1:PORT -server https://127.0.0.1:PORT -ca CA -cert CERT -key KEY \
//	         -samples DIR -n N
//
// DIR holds, for i in 0..N-1: create-i.pb (a serialized CreateTaskRequest), h1-i.json and
// h2-i.json (the object CreateTask i creates, renamed so that each POST creates a new object),
// and path (the collection URL path). Sample i runs CreateTask i and the two POSTs one at a
// time, so that every measure sees the same API server, starting with a different one in each
// sample. Each measured request starts after a
// pause (-settle) in which the work the previous one left behind (watch events the daemon
// processes, the API server's own) finishes, so that every request meets an idle system.
// Prints one JSON object with every latency in microseconds.
//
// With -inflight K it measures throughput instead: the N bare POSTs h1-i.json over HTTP/1.1
// (K kept-alive connections), then the N CreateTask calls create-i.pb, K in flight each, and
// prints {"post_per_s": ..., "create_per_s": ...}; -only post or -only create runs one of them;
// -post-body protobuf sends the bare POSTs in protobuf, as client-go can.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	kjson "k8s.io/apimachinery/pkg/util/json"
)

// rawCodec sends and receives already-serialized protobuf messages as []byte, so this
// client needs no generated flyteidl code (the requests are made by the flyteidl package).
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) {
	b, ok := v.(*[]byte)
	if !ok {
		return nil, fmt.Errorf("rawCodec: want *[]byte, got %T", v)
	}
	return *b, nil
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	b, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("rawCodec: want *[]byte, got %T", v)
	}
	*b = append((*b)[:0], data...)
	return nil
}

func (rawCodec) Name() string { return "proto" }

func must(err error, what string) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "goclient: %s: %v\n", what, err)
		os.Exit(1)
	}
}

func tlsConfig(ca, cert, key string) *tls.Config {
	pem, err := os.ReadFile(ca)
	must(err, "reading the CA")
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		must(fmt.Errorf("no certificate in %s", ca), "reading the CA")
	}
	pair, err := tls.LoadX509KeyPair(cert, key)
	must(err, "reading the client certificate")
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}}
}

// postAccept is the Accept header of the bare POSTs ("": none, as client-go's default).
var postAccept string

// postType is the Content-Type of the bare POSTs' bodies.
var postType = "application/json"

// protobufBodies reads the n objects h1-i.json of dir as k8s.io/api's Pods and encodes them
// with apimachinery's protobuf serializer, as client-go sends a Pod in protobuf.
func protobufBodies(dir string, n int) [][]byte {
	scheme := runtime.NewScheme()
	must(corev1.AddToScheme(scheme), "registering core/v1")
	ser := protobuf.NewSerializer(scheme, scheme)
	out := make([][]byte, n)
	for i := range out {
		b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("h1-%d.json", i)))
		must(err, "reading an object")
		var p corev1.Pod
		must(kjson.Unmarshal(b, &p), "reading a pod")
		var buf bytes.Buffer
		must(ser.Encode(&p, &buf), "encoding a pod")
		out[i] = buf.Bytes()
	}
	return out
}

func post(c *http.Client, url string, body []byte, wantProto int) int64 {
	t0 := time.Now()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	must(err, "POST")
	req.Header.Set("Content-Type", postType)
	if postAccept != "" {
		req.Header.Set("Accept", postAccept)
	}
	resp, err := c.Do(req)
	must(err, "POST")
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	elapsed := time.Since(t0).Microseconds()
	must(err, "reading the POST response")
	if resp.StatusCode != http.StatusCreated || resp.ProtoMajor != wantProto {
		must(fmt.Errorf("HTTP %d over %s", resp.StatusCode, resp.Proto), "POST")
	}
	return elapsed
}

func main() {
	target := flag.String("grpc", "", "flyteplugd's gRPC address (h2c)")
	server := flag.String("server", "", "API server URL")
	ca := flag.String("ca", "", "API server CA file")
	cert := flag.String("cert", "", "client certificate file")
	key := flag.String("key", "", "client key file")
	dir := flag.String("samples", "", "directory of samples")
	n := flag.Int("n", 0, "number of samples")
	settle := flag.Duration("settle", 10*time.Millisecond, "pause before each measured request")
	inflight := flag.Int("inflight", 0, "throughput with this many requests in flight")
	only := flag.String("only", "", "with -inflight: \"post\" or \"create\" alone")
	flag.StringVar(&postAccept, "accept", "", "Accept header of the bare POSTs")
	postBody := flag.String("post-body", "json", "with -inflight: the bare POSTs' bodies, "+
		"\"json\" (the samples) or \"protobuf\" (converted by k8s.io/api before the clock starts)")
	flag.Parse()

	encoding.RegisterCodec(rawCodec{})
	conn, err := grpc.NewClient(*target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	must(err, "dialing flyteplugd")
	defer conn.Close()

	cfg := tlsConfig(*ca, *cert, *key)
	h2 := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg.Clone(), ForceAttemptHTTP2: true}}
	h1cfg := cfg.Clone()
	h1cfg.NextProtos = []string{"http/1.1"}
	h1 := &http.Client{Transport: &http.Transport{TLSClientConfig: h1cfg,
		TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}}}

	pathBytes, err := os.ReadFile(filepath.Join(*dir, "path"))
	must(err, "reading the collection path")
	url := *server + strings.TrimSpace(string(pathBytes))

	if *inflight > 0 {
		h1.Transport.(*http.Transport).MaxIdleConnsPerHost = *inflight
		rates := map[string]float64{}
		if *only != "create" && *postBody == "protobuf" {
			bodies := protobufBodies(*dir, *n)
			postType = "application/vnd.kubernetes.protobuf"
			rates["post_per_s"] = throughput(*n, *inflight, func(i int) { post(h1, url, bodies[i], 1) })
		} else if *only != "create" {
			rates["post_per_s"] = throughput(*n, *inflight, func(i int) {
				b, err := os.ReadFile(filepath.Join(*dir, fmt.Sprintf("h1-%d.json", i)))
				must(err, "reading an object")
				post(h1, url, b, 1)
			})
		}
		if *only != "post" {
			rates["create_per_s"] = throughput(*n, *inflight, func(i int) {
				req, err := os.ReadFile(filepath.Join(*dir, fmt.Sprintf("create-%d.pb", i)))
				must(err, "reading a request")
				var out []byte
				cctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				defer cancel()
				must(conn.Invoke(cctx, "/flyteidl.service.AsyncAgentService/CreateTask", &req,
					&out), "CreateTask")
			})
		}
		must(json.NewEncoder(os.Stdout).Encode(rates), "writing results")
		return
	}

	res := map[string][]int64{"create": {}, "post_h1": {}, "post_h2": {}, "list_agents": {}}
	ctx := context.Background()
	for i := 0; i < *n; i++ {
		req, err := os.ReadFile(filepath.Join(*dir, fmt.Sprintf("create-%d.pb", i)))
		must(err, "reading a request")
		b1, err := os.ReadFile(filepath.Join(*dir, fmt.Sprintf("h1-%d.json", i)))
		must(err, "reading an object")
		b2, err := os.ReadFile(filepath.Join(*dir, fmt.Sprintf("h2-%d.json", i)))
		must(err, "reading an object")
		measures := []func(){
			func() {
				var out []byte
				cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				defer cancel()
				t0 := time.Now()
				err := conn.Invoke(cctx, "/flyteidl.service.AsyncAgentService/CreateTask", &req, &out)
				res["create"] = append(res["create"], time.Since(t0).Microseconds())
				must(err, "CreateTask")
			},
			func() { res["post_h1"] = append(res["post_h1"], post(h1, url, b1, 1)) },
			func() { res["post_h2"] = append(res["post_h2"], post(h2, url, b2, 2)) },
		}
		// Each sample starts with another of the three, so that none is always first (or
		// always right after a given other) and the position costs each the same.
		for k := 0; k < len(measures); k++ {
			time.Sleep(*settle)
			measures[(i+k)%len(measures)]()
		}
	}
	// The client's own floor: the cheapest call on the same channel.
	for i := 0; i < *n; i++ {
		in, out := []byte{}, []byte{}
		t0 := time.Now()
		err := conn.Invoke(ctx, "/flyteidl.service.AgentMetadataService/ListAgents", &in, &out)
		res["list_agents"] = append(res["list_agents"], time.Since(t0).Microseconds())
		must(err, "ListAgents")
	}
	must(json.NewEncoder(os.Stdout).Encode(res), "writing results")
}

// throughput runs fn(0..n-1) with k calls in flight and returns calls per second.
func throughput(n, k int, fn func(i int)) float64 {
	next := make(chan int, n)
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	t0 := time.Now()
	for w := 0; w < k; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	wg.Wait()
	return float64(n) / time.Since(t0).Seconds()
}
