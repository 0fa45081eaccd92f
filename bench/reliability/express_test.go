package reliability

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof/internal/testenv"
)

// expressDir is the unmodified Express application of the gateway's tests
// (express-session, JSON and form transfers, no CSRF defense).
var expressDir = filepath.Join("..", "..", "cmd", "forgeproof", "internal", "gateway", "testdata", "express")

// startExpress installs the Express backend with npm ci when needed and
// starts it with node on addr.
func startExpress(t *testing.T, addr string) {
	t.Helper()
	node := testenv.Require(t, "node", "install it with: apt-get install -y nodejs")
	dir, err := filepath.Abs(expressDir)
	if err != nil {
		t.Fatal(err)
	}
	testenv.NpmCI(t, dir)
	testenv.Command(t, dir, node, "server.js", portOf(addr))
	if err := testenv.WaitTCP(addr, 20*time.Second); err != nil {
		t.Fatal(err)
	}
}

// expressLogin signs a browser in at the Express app: a token from the
// endpoint, then POST /login with it; the gateway rotates the token on the
// response that sets connect.sid, and the browser takes the rotated one
// from the response header.
func (b *browser) expressLogin() bool {
	if !b.fetchToken() {
		return false
	}
	req, _ := http.NewRequest("POST", b.g.Origin+"/login", strings.NewReader(`{"user":"alice"}`))
	req.Header.Set("Content-Type", "application/json")
	b.sameOrigin(req)
	h, tok := b.tok()
	req.Header.Set(h, tok)
	resp, _ := do(b.c, b.rec, kindLegit, "/login", req)
	if resp == nil || resp.StatusCode != 200 {
		return false
	}
	rotated := resp.Header.Get("X-FP-Rotated")
	if rotated == "" {
		return b.fetchToken()
	}
	b.mu.Lock()
	b.token = rotated
	b.mu.Unlock()
	return true
}

// TestReliabilityExpress runs the Redis outage, the key rotation and the
// origin flood in front of the real Express application (Node.js), with
// its express-session sign-in: no forged transfer may reach its list, no
// legitimate request may be refused but the documented store-unavailable
// during the outage.
func TestReliabilityExpress(t *testing.T) {
	if testing.Short() {
		t.Skip("load-and-fault harness: not in -short")
	}
	phaseLen := 6 * time.Second
	if os.Getenv("FORGEPROOF_RELIABILITY") == "long" {
		phaseLen = 45 * time.Second
	}
	bin := buildGateway(t)
	redis := startRedis(t)
	backendAddr := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
	startExpress(t, backendAddr)
	key1, key2 := newKeyFile(t), newKeyFile(t)
	cfg := gatewayConfig{
		GatewayPort: testenv.FreePort(t), AdminPort: testenv.FreePort(t),
		RedisAddr: redis.Addr, Backend: backendAddr,
		Webhook:       "http://127.0.0.1:9/alerts", // nobody listens: deliveries fail, which is fine here
		KeyFiles:      []string{key1},
		SessionCookie: "connect.sid",
		Routes:        "  - pattern: POST /api/transfer\n    tokens: synchronizer\n",
	}
	g := startGateway(t, bin, cfg)
	rec := &recorder{}
	rec.setPhase("warmup")
	victim := newBrowser(g, rec)
	for !victim.expressLogin() {
		time.Sleep(100 * time.Millisecond)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 44; i++ {
		b := newBrowser(g, rec)
		wg.Add(1)
		go func() {
			defer wg.Done()
			signedIn := false
			for j := 0; ; j++ {
				select {
				case <-stop:
					return
				case <-time.After(120 * time.Millisecond):
				}
				if !signedIn {
					signedIn = b.expressLogin()
					continue
				}
				switch (i + j) % 4 {
				case 0, 1: // JSON transfer, synchronizer route
					b.post("/api/transfer")
				case 2: // form transfer, signed route
					req, _ := http.NewRequest("POST", g.Origin+"/transfer", strings.NewReader("to=bob&amount=1"))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					b.sameOrigin(req)
					h, tok := b.tok()
					req.Header.Set(h, tok)
					do(b.c, rec, kindLegit, "/transfer", req)
				case 3:
					b.fetchToken()
				}
			}
		}()
	}
	forge := func(f *forger, i int) {
		route := []string{"/api/transfer", "/transfer"}[i%2]
		req, _ := http.NewRequest("POST", g.Origin+route, strings.NewReader("to=mallory&amount=1000000"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", f.origin(i))
		if i%3 != 0 {
			req.Header.Set("Sec-Fetch-Site", "cross-site")
		}
		do(f.c, rec, kindForged, route, req)
	}
	for w := 0; w < 20; w++ {
		f := &forger{g: g, rec: rec, c: newClient(victim.jar), origin: func(j int) string {
			return fmt.Sprintf("http://site%d.evil.example", j%7)
		}}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-time.After(700 * time.Millisecond):
				}
				forge(f, i)
			}
		}()
	}
	time.Sleep(3 * time.Second)

	var down, up time.Time
	run := func(name string, fault func(stop <-chan struct{})) {
		t.Logf("phase %s", name)
		rec.setPhase(name)
		pstop := make(chan struct{})
		done := make(chan struct{})
		go func() { defer close(done); fault(pstop) }()
		time.Sleep(phaseLen)
		close(pstop)
		<-done
	}
	run("baseline", func(stop <-chan struct{}) { <-stop })
	run("redis-kill-restart", func(stop <-chan struct{}) {
		time.Sleep(phaseLen / 8)
		down = time.Now() // before the kill: requests fail before Kill returns
		redis.Kill()
		time.Sleep(phaseLen / 3)
		redis.Start()
		up = time.Now()
		<-stop
	})
	run("key-rotation", func(stop <-chan struct{}) {
		cfg.KeyFiles = []string{key2, key1}
		if err := g.reload(cfg); err != nil {
			t.Errorf("key rotation reload: %v", err)
		}
		<-stop
	})
	run("origin-flood", func(stop <-chan struct{}) {
		var fwg sync.WaitGroup
		for w := 0; w < 8; w++ {
			f := &forger{g: g, rec: rec, c: newClient(victim.jar), origin: func(i int) string {
				return fmt.Sprintf("http://o%d-%d.flood.example", w, i)
			}}
			fwg.Add(1)
			go func() {
				defer fwg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					case <-time.After(5 * time.Millisecond):
					}
					forge(f, i)
				}
			}()
		}
		fwg.Wait()
	})
	rec.setPhase("cooldown")
	time.Sleep(phaseLen)
	close(stop)
	wg.Wait()

	// The Express app's own list of transfers: none to mallory.
	resp, err := http.Get("http://" + backendAddr + "/api/transfers")
	if err != nil {
		t.Fatalf("read the Express transfers: %v", err)
	}
	var transfers []struct{ To string }
	json.NewDecoder(resp.Body).Decode(&transfers)
	resp.Body.Close()
	stolen, legitTransfers := 0, 0
	for _, tr := range transfers {
		if tr.To == "mallory" {
			stolen++
		} else {
			legitTransfers++
		}
	}
	if stolen != 0 {
		t.Errorf("the Express app recorded %d forged transfers", stolen)
	}
	if err := g.shutdown(15 * time.Second); err != nil {
		t.Errorf("shutdown: %v", err)
	}

	var legit, refused, store503, forged, forgedAllowed, shown int
	for _, r := range rec.all() {
		switch r.Kind {
		case kindForged:
			forged++
			if r.Status != 0 && r.Status < 400 {
				if forgedAllowed++; forgedAllowed <= 20 {
					t.Errorf("forged request let through: %+v", r)
				}
			}
		case kindLegit, kindToken:
			if r.Phase == "warmup" {
				continue
			}
			legit++
			switch {
			case r.Status == 0 || r.Status < 400:
			case r.Status == 503 && r.Reason == "store-unavailable" && (r.Route == "/api/transfer" || r.Route == "/.forgeproof/token" || r.Route == "/login") &&
				!down.IsZero() && !r.At.Before(down) && r.At.Before(up.Add(storeRecovery)):
				store503++
			default:
				refused++
				if shown++; shown <= 20 {
					t.Errorf("legitimate request refused: %+v", r)
				}
			}
		}
	}
	t.Logf("Express: %d legitimate requests (%d transfers recorded by the app), %d refused, %d answered 503 store-unavailable during the outage; %d forged, %d let through, %d forged transfers recorded",
		legit, legitTransfers, refused, store503, forged, forgedAllowed, stolen)
}
