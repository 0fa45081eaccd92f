package reliability

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof/internal/testenv"
)

// failoverBound is how long, from the kill of the Redis primary, store-backed
// routes may answer 503 store-unavailable while Sentinel promotes the replica
// (down-after 1 s, then the failover).
const failoverBound = 15 * time.Second

// TestSentinelFailover kills the Redis primary under load, with a
// Sentinel-managed replica and no persistence, and checks that the gateway
// (store: redis+sentinel://…) follows the new primary: no token is lost
// (no token-invalid), no forged request passes, and store-backed routes
// refuse legitimate requests only within the failover window.
func TestSentinelFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("load-and-fault harness: not in -short")
	}
	phaseLen := 8 * time.Second
	if os.Getenv("FORGEPROOF_RELIABILITY") == "long" {
		phaseLen = 45 * time.Second
	}
	bin := buildGateway(t)
	noPersistence := []string{"--appendonly", "no"}
	primary := &redisProc{t: t, dir: t.TempDir(), args: noPersistence,
		path: testenv.Require(t, "redis-server", "install it with: apt-get install -y redis-server"),
		Addr: "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))}
	primary.Start()
	t.Cleanup(primary.Kill)
	replica := &redisProc{t: t, dir: t.TempDir(), path: primary.path,
		Addr: "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t)),
		args: append([]string{"--replicaof", "127.0.0.1", portOf(primary.Addr)}, noPersistence...)}
	replica.Start()
	t.Cleanup(replica.Kill)
	sen := testenv.StartSentinel(t, "mymaster", primary.Addr)
	// Sentinel learns of the replica from the primary's INFO (every 10 s).
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(resp(sen.Addr, "SENTINEL REPLICAS mymaster"), portOf(replica.Addr)) {
		if time.Now().After(deadline) {
			t.Fatal("the sentinel did not discover the replica within 30s")
		}
		time.Sleep(200 * time.Millisecond)
	}

	be := &backend{Addr: "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))}
	be.Start(t)
	t.Cleanup(be.Stop)
	cfg := gatewayConfig{
		GatewayPort: testenv.FreePort(t), AdminPort: testenv.FreePort(t),
		Store:    "redis+sentinel://" + sen.Addr + "/0?master_name=mymaster",
		Backend:  be.Addr,
		Webhook:  "http://127.0.0.1:9/alerts", // nobody listens: deliveries fail, which is fine here
		KeyFiles: []string{newKeyFile(t)},
	}
	g := startGateway(t, bin, cfg)
	rec := &recorder{}
	rec.setPhase("warmup")
	victim := newBrowser(g, rec)
	for !victim.signIn() {
		time.Sleep(100 * time.Millisecond)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 44; i++ {
		b := newBrowser(g, rec)
		wg.Add(1)
		go func() { defer wg.Done(); b.run(stop, 120*time.Millisecond, i) }()
	}
	for i := 0; i < 20; i++ {
		f := &forger{g: g, rec: rec, c: newClient(victim.jar), origin: func(j int) string {
			return fmt.Sprintf("http://site%d.evil.example", j%7)
		}}
		wg.Add(1)
		go func() { defer wg.Done(); f.run(stop, 700*time.Millisecond) }()
	}
	time.Sleep(3 * time.Second)
	rec.setPhase("baseline")
	time.Sleep(phaseLen)
	rec.setPhase("primary-killed")
	killedAt := time.Now()
	primary.Kill()
	// Wait for the promotion, then keep the traffic up.
	deadline = time.Now().Add(60 * time.Second)
	for !strings.Contains(resp(sen.Addr, "SENTINEL GET-MASTER-ADDR-BY-NAME mymaster"), portOf(replica.Addr)) {
		if time.Now().After(deadline) {
			t.Fatal("Sentinel did not promote the replica within 60s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	promotedAt := time.Now()
	time.Sleep(phaseLen)
	rec.setPhase("after-failover")
	time.Sleep(phaseLen)
	close(stop)
	wg.Wait()
	if err := g.shutdown(15 * time.Second); err != nil {
		t.Errorf("shutdown: %v", err)
	}

	var legit, refused, store503, lost, forged, forgedAllowed int
	var last503 time.Time
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
			case r.Status == 503 && r.Reason == "store-unavailable" && (r.Route == "/api/sync/" || r.Route == "/.forgeproof/token"):
				store503++
				if r.At.After(last503) {
					last503 = r.At
				}
				if r.At.Before(killedAt) || r.At.After(killedAt.Add(failoverBound)) {
					refused++
					t.Errorf("store-unavailable outside the failover window: %+v", r)
				}
			case r.Reason == "token-invalid" || r.Reason == "token-session-mismatch":
				lost++
				refused++
				if lost <= 5 {
					t.Errorf("a token was lost in the failover: %+v", r)
				}
			default:
				refused++
				t.Errorf("legitimate request refused: %+v", r)
			}
		}
	}
	if be.forgedServed.Load() != 0 {
		t.Errorf("the backend received %d forged requests", be.forgedServed.Load())
	}
	window := time.Duration(0)
	if last503.After(killedAt) {
		window = last503.Sub(killedAt)
	}
	t.Logf("Sentinel failover: promotion %v after the kill; store-unavailable window %v (bound %v); %d legitimate requests, %d refused outside the window, %d answered 503 store-unavailable, %d lost tokens; %d forged, %d let through",
		promotedAt.Sub(killedAt).Round(10*time.Millisecond), window.Round(10*time.Millisecond), failoverBound,
		legit, refused, store503, lost, forged, forgedAllowed)
}

func portOf(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// resp sends one inline command to a Redis or Sentinel at addr and returns
// what it answers within a short time, or "".
func resp(addr, cmd string) string {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return ""
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	fmt.Fprintf(c, "%s\r\n", cmd)
	buf := make([]byte, 8192)
	n, _ := c.Read(buf)
	return string(buf[:n])
}
