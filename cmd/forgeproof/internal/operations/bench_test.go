package operations_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/gateway"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/operations"
)

// inProcess serves requests with a handler, so that the benchmark measures
// the gateway and not the loopback network.
type inProcess struct{ h http.Handler }

func (t inProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	w := httptest.NewRecorder()
	t.h.ServeHTTP(w, r)
	if r.Body != nil {
		r.Body.Close()
	}
	resp := w.Result()
	resp.Request = r
	return resp, nil
}

// orderBody is a typical JSON body of 1 KiB: an order with eight items.
func orderBody() string {
	var items []string
	for i := range 8 {
		items = append(items, fmt.Sprintf(`{"sku":"SKU-%05d","qty":%d,"price":%d.99,"gift":%t}`, i, i+1, 10+i, i%2 == 0))
	}
	return `{"customer":{"id":"c-104729","email":"ada.lovelace@example.com","name":"Ada Lovelace"},` +
		`"items":[` + strings.Join(items, ",") + `],` +
		`"shipping":{"street":"12 Analytical Engine Road","city":"London","postcode":"NW1 2DB","country":"GB"},` +
		`"notes":"` + strings.Repeat("Leave at the door. ", 20)[:378] + `"}`
}

// BenchmarkValidation compares, in one run, the gateway proxying a 1 KiB
// JSON POST to an operation of an OpenAPI description without validation
// (the operation's route and rules only) and with it.
func BenchmarkValidation(b *testing.B) {
	d, err := operations.Load(context.Background(), "testdata/bench/openapi.yaml")
	if err != nil {
		b.Fatal(err)
	}
	body := orderBody()
	if len(body) != 1024 {
		b.Fatalf("body is %d bytes, want 1 KiB", len(body))
	}
	backend := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"id":1}`)
	})
	u, _ := url.Parse("http://backend.internal")
	for _, validate := range []bool{false, true} {
		var routes []gateway.Route
		for _, op := range d.Operations {
			r := gateway.Route{Pattern: op.Pattern, Protect: forgeproof.Route{JSONOnly: op.Rule.JSONOnly}}
			if validate {
				r.Validator = op
			}
			routes = append(routes, r)
		}
		g, err := gateway.New(gateway.Options{
			Upstreams:  []gateway.Upstream{{URL: u, Transport: inProcess{backend}}},
			Protection: forgeproof.Config{Tokens: forgeproof.TokensOff},
			Routes:     routes,
		})
		if err != nil {
			b.Fatal(err)
		}
		name := "without"
		if validate {
			name = "with"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				r := httptest.NewRequest("POST", "http://shop.example/api/orders", strings.NewReader(body))
				r.Header.Set("Content-Type", "application/json")
				r.Header.Set("Sec-Fetch-Site", "same-origin")
				r.Header.Set("Origin", "http://shop.example")
				w := httptest.NewRecorder()
				g.ServeHTTP(w, r)
				if w.Code != http.StatusCreated {
					b.Fatalf("%d %s", w.Code, w.Body)
				}
			}
		})
	}
}
