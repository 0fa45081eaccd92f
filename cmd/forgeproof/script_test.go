package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain makes the test binary act as the forgeproof command when the
// scripts run "forgeproof".
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"forgeproof": main,
	})
}

// TestScript runs the command-line scripts in testdata/script: each
// asserts the stdout, stderr and exit status of forgeproof commands.
func TestScript(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"backend":  cmdBackend,
			"freeport": cmdFreeport,
			"http":     cmdHTTP,
			"https":    cmdHTTPS,
		},
	})
}

// backend starts an HTTP backend that answers "backend: METHOD PATH" and
// sets $BACKEND to its URL and $BACKEND_ADDR to its host:port.
func cmdBackend(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: backend")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "backend: %s %s\n", r.Method, r.URL.Path)
	}))
	ts.Defer(srv.Close)
	ts.Setenv("BACKEND", srv.URL)
	ts.Setenv("BACKEND_ADDR", srv.Listener.Addr().String())
}

// freeport NAME... sets each variable to a free loopback port.
func cmdFreeport(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: freeport NAME...")
	}
	for _, name := range args {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		ts.Check(err)
		ts.Setenv(name, strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
		l.Close()
	}
}

// http METHOD URL [NAME:VALUE...] sends a request, waiting up to 10s for the
// server to accept connections, and prints the status code and the body.
func cmdHTTP(ts *testscript.TestScript, neg bool, args []string) {
	request(ts, neg, args, http.DefaultClient)
}

// https is http for a server with a self-signed certificate, which it does
// not verify.
func cmdHTTPS(ts *testscript.TestScript, neg bool, args []string) {
	request(ts, neg, args, &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // a throwaway test certificate
	}})
}

func request(ts *testscript.TestScript, neg bool, args []string, client *http.Client) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: http METHOD URL [NAME:VALUE...]")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, err := http.NewRequest(args[0], args[1], nil)
		ts.Check(err)
		for _, h := range args[2:] {
			name, value, _ := strings.Cut(h, ":")
			req.Header.Set(name, value)
		}
		resp, err := client.Do(req)
		if err != nil {
			if time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			ts.Fatalf("%s %s: %v", args[0], args[1], err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Fprintf(ts.Stdout(), "%d\n%s", resp.StatusCode, body)
		return
	}
}
