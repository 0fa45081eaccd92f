package gateway_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/gateway"
)

// bodyBackend answers every request with the length of the body it read
// and its Content-Length.
var bodyBackend = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	fmt.Fprintf(w, "%d %s", len(body), r.Header.Get("Content-Length"))
})

// TestBodiesProxiedWhole checks that request bodies reach the backend
// whole with their Content-Length, below and above the size up to which
// the gateway reads them before proxying (4 KiB).
func TestBodiesProxiedWhole(t *testing.T) {
	e := start(t, gateway.Options{
		Routes: []gateway.Route{{Pattern: "POST /upload", Protect: forgeproof.Route{Tokens: forgeproof.TokensOff}}},
	}, bodyBackend)
	for _, n := range []int{1, 1024, 4<<10 - 1, 4 << 10, 4<<10 + 1, 64 << 10} {
		body := strings.Repeat("x", n)
		req, _ := http.NewRequest("POST", e.gw.URL+"/upload", io.NopCloser(strings.NewReader(body)))
		req.ContentLength = int64(n) // declared, but not a reader net/http knows
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		resp, err := e.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := fmt.Sprintf("%d %d", n, n); resp.StatusCode != http.StatusOK || string(got) != want {
			t.Errorf("%d-byte body: %d %q, want 200 %q", n, resp.StatusCode, got, want)
		}
	}
}
