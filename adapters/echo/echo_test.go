package fpecho_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/forgeproof/forgeproof"
	fpecho "github.com/forgeproof/forgeproof/adapters/echo"
	"github.com/labstack/echo/v4"
)

// TestMiddleware runs an Echo server with the middleware over real HTTP: a
// legitimate request reaches the handler with its form body whole, forged
// ones are refused with the library's problem+json.
func TestMiddleware(t *testing.T) {
	p, err := forgeproof.New(forgeproof.Config{})
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	e.HideBanner = true
	e.Use(fpecho.Middleware(p))
	reached := 0
	e.GET("/token", func(c echo.Context) error {
		tok, err := p.Token(c.Response(), c.Request())
		if err != nil {
			return err
		}
		return c.String(http.StatusOK, tok)
	})
	e.POST("/transfer", func(c echo.Context) error {
		reached++
		return c.String(http.StatusOK, "to="+c.FormValue("to"))
	})
	srv := httptest.NewServer(e)
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
}
