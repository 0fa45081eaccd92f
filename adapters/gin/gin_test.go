package fpgin_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/forgeproof/forgeproof"
	fpgin "github.com/forgeproof/forgeproof/adapters/gin"
	"github.com/gin-gonic/gin"
)

// TestMiddleware runs a gin engine with the middleware over real HTTP: a
// legitimate request reaches the handler with its form body whole, forged
// ones are refused with the library's problem+json and abort the chain.
func TestMiddleware(t *testing.T) {
	gin.SetMode(gin.TestMode)
	var events []forgeproof.Event
	p, err := forgeproof.New(forgeproof.Config{OnDecision: func(e forgeproof.Event) { events = append(events, e) }})
	if err != nil {
		t.Fatal(err)
	}
	r := gin.New()
	r.Use(fpgin.Middleware(p))
	reached := 0
	r.GET("/token", func(c *gin.Context) {
		tok, _ := p.Token(c.Writer, c.Request)
		c.String(http.StatusOK, tok)
	})
	r.POST("/transfer", func(c *gin.Context) {
		reached++
		c.String(http.StatusOK, "to="+c.PostForm("to"))
	})
	srv := httptest.NewServer(r)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/token")
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	cookie := resp.Cookies()[0]

	post := func(origin, form string) (int, string) {
		req, _ := http.NewRequest("POST", srv.URL+"/transfer", strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", origin)
		req.AddCookie(cookie)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := post(srv.URL, "forgeproof_token="+string(tok)+"&to=bob"); code != 200 || body != "to=bob" {
		t.Errorf("legitimate POST: %d %q; want 200 to=bob", code, body)
	}
	for _, tt := range []struct{ origin, form, reason string }{
		{"https://evil.example", "forgeproof_token=" + string(tok) + "&to=mallory", "origin-mismatch"},
		{srv.URL, "to=mallory", "token-missing"},
	} {
		code, body := post(tt.origin, tt.form)
		var pb struct{ Reason string }
		json.Unmarshal([]byte(body), &pb)
		if code != 403 || pb.Reason != tt.reason {
			t.Errorf("forged POST from %s: %d %s; want 403 %s", tt.origin, code, body, tt.reason)
		}
	}
	if reached != 1 {
		t.Errorf("the handler ran %d times; want once, for the legitimate request", reached)
	}
	if len(events) != 4 {
		t.Errorf("OnDecision was called %d times; want 4, once per request", len(events))
	}
}
