// client-go-informer: the reference point for bench/kube — a stock client-go shared informer
// on pods (one namespace, one label selector), reporting the same figures as kube_bench:
// RSS before and after the first list, RSS per cached object, peak RSS, list times.
//
//	client-go-informer -namespace NS [-selector S] [-repeat K] [-hold SECONDS] [-transform none|strip-managed-fields]
//
// Credentials: $KUBECONFIG. Memory is measured after runtime.GC + debug.FreeOSMemory, the Go
// counterpart of the C side's malloc_trim.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

func statusKB(field string) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, field+":") {
			f := strings.Fields(line[len(field)+1:])
			if len(f) > 0 {
				v, _ := strconv.ParseInt(f[0], 10, 64)
				return v
			}
		}
	}
	return -1
}

func cpuMs() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return (ru.Utime.Sec+ru.Stime.Sec)*1000 + int64(ru.Utime.Usec+ru.Stime.Usec)/1000
}

func settle() int64 {
	runtime.GC()
	debug.FreeOSMemory()
	return statusKB("VmRSS")
}

type informer struct {
	factory informers.SharedInformerFactory
	inf     cache.SharedIndexInformer
	stop    chan struct{}
	events  int64
}

func start(cs kubernetes.Interface, ns, selector, transform string) *informer {
	i := &informer{stop: make(chan struct{})}
	i.factory = informers.NewSharedInformerFactoryWithOptions(cs, 0,
		informers.WithNamespace(ns),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = selector }))
	i.inf = i.factory.Core().V1().Pods().Informer()
	if transform == "strip-managed-fields" {
		// The usual first optimisation of a client-go informer.
		_ = i.inf.SetTransform(func(obj interface{}) (interface{}, error) {
			if p, ok := obj.(*corev1.Pod); ok {
				p.ManagedFields = nil
			}
			return obj, nil
		})
	}
	_, _ = i.inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(_, _ interface{}) { i.events++ },
		DeleteFunc: func(_ interface{}) { i.events++ },
	})
	i.factory.Start(i.stop)
	return i
}

// syncMs waits for the first list; polls every millisecond (WaitForCacheSync polls every 100).
func (i *informer) syncMs(t0 time.Time) int64 {
	for !i.inf.HasSynced() {
		time.Sleep(time.Millisecond)
	}
	return time.Since(t0).Milliseconds()
}

func (i *informer) close() {
	close(i.stop)
	i.factory.Shutdown()
}

func main() {
	ns := flag.String("namespace", "bench", "namespace")
	selector := flag.String("selector", "bench=kube", "label selector")
	repeat := flag.Int("repeat", 5, "further full lists to time")
	hold := flag.Float64("hold", 0, "seconds to keep watching after the first list")
	transform := flag.String("transform", "none", "none or strip-managed-fields")
	flag.Parse()

	cfg, err := clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubeconfig:", err)
		os.Exit(1)
	}
	cfg.QPS, cfg.Burst = 1000, 1000
	cs := kubernetes.NewForConfigOrDie(cfg)
	if _, err := cs.Discovery().ServerVersion(); err != nil { // connect first: TLS is not cache
		fmt.Fprintln(os.Stderr, "server version:", err)
		os.Exit(1)
	}
	rss0 := settle()

	t0 := time.Now()
	inf := start(cs, *ns, *selector, *transform)
	first := inf.syncMs(t0)
	n := len(inf.inf.GetStore().ListKeys())
	rawRSS := statusKB("VmRSS")
	rss := settle()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	hwm := statusKB("VmHWM")
	if *hold > 0 {
		time.Sleep(time.Duration(*hold * float64(time.Second)))
	}
	held := settle()

	var times []int64
	cpu0 := cpuMs()
	for k := 0; k < *repeat; k++ {
		t := time.Now()
		again := start(cs, *ns, *selector, *transform)
		times = append(times, again.syncMs(t))
		again.close()
	}
	cpuPerList := int64(-1)
	if *repeat > 0 {
		cpuPerList = (cpuMs() - cpu0) / int64(*repeat)
	}
	sort.Slice(times, func(a, b int) bool { return times[a] < times[b] })
	minMs, medMs := int64(-1), int64(-1)
	if len(times) > 0 {
		minMs, medMs = times[0], times[len(times)/2]
	}
	perObj := 0.0
	if n > 0 {
		perObj = float64(rss-rss0) * 1024 / float64(n)
	}
	out, _ := json.Marshal(map[string]interface{}{
		"client":                 "client-go",
		"transform":              *transform,
		"objects":                n,
		"rss_before_kb":          rss0,
		"rss_after_kb":           rss,
		"rss_after_untrimmed_kb": rawRSS,
		"rss_after_hold_kb":      held,
		"peak_rss_kb":            hwm,
		"rss_per_object_bytes":   int64(perObj),
		"heap_inuse_bytes":       ms.HeapInuse,
		"first_list_ms":          first,
		"list_ms_min":            minMs,
		"list_ms_median":         medMs,
		"list_cpu_ms":            cpuPerList,
		"events_after_sync":      inf.events,
	})
	fmt.Println(string(out))
	inf.close()
}
