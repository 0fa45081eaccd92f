// Command gateway is the helper program of the gateway benchmark
// (run.sh): a tiny backend, and a bare httputil.ReverseProxy to compare
// the gateway with.
//
// Usage:
//
//	gateway backend                          # serves GET and POST /api/item
//	gateway proxy -upstream URL [-config C]  # a bare reverse proxy to URL
//	gateway freeport                         # prints a free loopback port
//
// The proxy's configuration C is one of:
//
//	default  http.DefaultTransport, no BufferPool: ReverseProxy as it comes
//	pooled   the gateway's transport settings (idle connections kept per
//	         host for every client connection), no BufferPool
//	tuned    the gateway's transport settings and a BufferPool, as the
//	         gateway has them
//
// backend and proxy listen on a free loopback port (or -addr) and print
// their base URL on the first line of standard output.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"sync"
	"time"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("bench/gateway: ")
	if len(os.Args) < 2 {
		log.Fatal("usage: gateway backend|proxy|freeport [flags]")
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen on `ADDR`")
	upstream := fs.String("upstream", "", "proxy to the backend at `URL`")
	config := fs.String("config", "pooled", "proxy `configuration`: default, pooled or tuned")
	fs.Parse(os.Args[2:])

	var h http.Handler
	switch os.Args[1] {
	case "backend":
		h = backend()
	case "proxy":
		u, err := url.Parse(*upstream)
		if err != nil || u.Host == "" {
			log.Fatalf("proxy needs -upstream http://HOST:PORT, got %q", *upstream)
		}
		if h = bareProxy(u, *config); h == nil {
			log.Fatalf("unknown proxy configuration %q: want default, pooled or tuned", *config)
		}
	case "freeport":
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(ln.Addr().(*net.TCPAddr).Port)
		ln.Close()
		return
	default:
		log.Fatalf("unknown mode %q: want backend, proxy or freeport", os.Args[1])
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("http://%s\n", ln.Addr())
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.Serve(ln))
}

// backend answers GET /api/item with a small JSON document and POST
// /api/item by reading the whole body and answering its length. Every
// response sets a cookie, so that the gateway's cookie hardening has work
// to do on every request.
func backend() http.Handler {
	item := []byte(`{"id":42,"name":"benchmark item","price":"12.50","tags":["a","b","c"]}` + "\n")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/item", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Add("Set-Cookie", "pref=compact; Path=/")
		w.Write(item)
	})
	mux.HandleFunc("POST /api/item", func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Add("Set-Cookie", "pref=compact; Path=/")
		fmt.Fprintf(w, `{"received":%d}`+"\n", n)
	})
	return mux
}

// bareProxy is httputil.ReverseProxy with Rewrite calling SetURL and
// SetXForwarded, and nothing else, in the named configuration (see the
// package comment), or nil.
func bareProxy(target *url.URL, config string) http.Handler {
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
		},
	}
	switch config {
	case "default":
		return rp
	case "tuned":
		rp.BufferPool = &bufferPool{}
	case "pooled":
	default:
		return nil
	}
	// The settings of the gateway's own transport
	// (cmd/forgeproof/internal/gateway/proxy.go).
	rp.Transport = &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ResponseHeaderTimeout: 60 * time.Second,
		ExpectContinueTimeout: time.Second,
		MaxIdleConns:          512,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true,
	}
	return rp
}

// bufferPool is an httputil.BufferPool of 32 KiB buffers, like the
// gateway's.
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if buf, ok := b.p.Get().(*[32 << 10]byte); ok {
		return buf[:]
	}
	return new([32 << 10]byte)[:]
}

func (b *bufferPool) Put(buf []byte) {
	if cap(buf) >= 32<<10 {
		b.p.Put((*[32 << 10]byte)(buf[:32<<10]))
	}
}
