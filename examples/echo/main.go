// Command echo is an Echo application protected by forgeproof through the
// adapter module github.com/forgeproof/forgeproof/adapters/echo.
//
//	cd examples/echo && go run .       # then http://127.0.0.1:8085
package main

import (
	"flag"
	"log"
	"net/http"

	"github.com/forgeproof/forgeproof"
	fpecho "github.com/forgeproof/forgeproof/adapters/echo"
	"github.com/labstack/echo/v4"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8085", "listen on `ADDR`")
	flag.Parse()
	h, err := newApp()
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("echo example on http://%s", *addr)
	log.Fatal(http.ListenAndServe(*addr, h))
}

// newApp returns the Echo server with forgeproof in front of every route.
func newApp() (http.Handler, error) {
	p, err := forgeproof.New(forgeproof.Config{
		Routes: []forgeproof.Route{{Pattern: "/api/", JSONOnly: true}},
	})
	if err != nil {
		return nil, err
	}
	e := echo.New()
	e.HideBanner = true
	e.Use(fpecho.Middleware(p))
	e.GET("/csrf", echo.WrapHandler(p.TokenHandler()))
	e.POST("/api/transfers", func(c echo.Context) error {
		var t struct {
			To     string `json:"to"`
			Amount int    `json:"amount"`
		}
		if err := c.Bind(&t); err != nil || t.To == "" {
			return c.JSON(http.StatusBadRequest, map[string]string{"error": `send {"to": "...", "amount": N}`})
		}
		return c.JSON(http.StatusCreated, map[string]any{"to": t.To, "amount": t.Amount})
	})
	return e, nil
}
